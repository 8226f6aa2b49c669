"""The registry as a table: the template's columns (a contract: their headers never change), the values
of 类型 and 来源, and a programme's registry loaded once for checking or exporting a whole file.

Headers and values are Chinese on purpose: the scheme's staff keep the registry in a spreadsheet in
Chinese whatever language they read Carelog in, and a file must mean the same to every reader.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.people.models import (
    Area,
    Membership,
    Person,
    PersonKind,
    Programme,
    ProgrammeKind,
    Role,
    User,
    UserReference,
)
from backend.people.names import normalize_name
from backend.people.policy import area_and_below
from backend.visits.models import ChildProfile, ReferralSource

COLUMNS = ("编号", "类型", "姓名", "出生年份", "区域", "监护人编号", "来源", "备注")
REQUIRED = ("编号", "类型", "姓名", "区域")
PERSON_TYPES = {"儿童": PersonKind.CHILD, "居民": PersonKind.RESIDENT, "监护人": PersonKind.GUARDIAN}
USER_TYPES = {
    "爱心妈妈": Role.CARING_MOTHER,
    "邻居": Role.NEIGHBOUR,
    "社工": Role.SOCIAL_WORKER,
    "排困员": Role.HARDSHIP_SCOUT,
}
_CHILDREN = {ProgrammeKind.CARING_MOTHERS, ProgrammeKind.PILLAR_MOTHERS, ProgrammeKind.SOCIAL_WORK_STATION}
_RESIDENTS = {ProgrammeKind.NEIGHBOUR_MEALS, ProgrammeKind.SOCIAL_WORK_STATION}
TYPE_ALLOWED: dict[str, set[ProgrammeKind]] = {
    "儿童": _CHILDREN,
    "监护人": _CHILDREN,
    "居民": _RESIDENTS,
    "爱心妈妈": {ProgrammeKind.CARING_MOTHERS},
    "邻居": {ProgrammeKind.NEIGHBOUR_MEALS},
    "社工": set(ProgrammeKind),
}
# The zh_Hans labels of ReferralSource (backend/visits/labels.py); a unit test keeps them equal.
SOURCES = {
    "信访": ReferralSource.PETITION,
    "街道办": ReferralSource.STREET_OFFICE,
    "学校": ReferralSource.SCHOOL,
    "摸底调查": ReferralSource.SURVEY,
    "本人申请": ReferralSource.SELF_REQUEST,
    "困难排查员上报": ReferralSource.SCOUT_REPORT,
}
SOURCE_LABELS = {v: k for k, v in SOURCES.items()}
TYPE_LABELS = {v: k for k, v in PERSON_TYPES.items()} | {v: k for k, v in USER_TYPES.items()}


@dataclass(slots=True)
class Registry:
    programme: Programme
    areas: dict[str, Area]  # by path below the programme's area, "梧桐街道/桂园社区"
    area_by_id: dict[int, Area]
    area_text: dict[int, str]
    people: dict[str, Person]  # by 编号
    users: dict[str, User]  # by 编号
    memberships: dict[int, list[Membership]]  # current ones of users with a 编号, by user id
    sources: dict[int, ReferralSource]  # children's referral source, by person id
    _reference_by_id: dict[int, str] = field(default_factory=dict)

    def reference_of(self, person_id: int | None) -> str:
        if person_id is None:
            return ""
        if not self._reference_by_id:
            self._reference_by_id = {p.id: ref for ref, p in self.people.items()}
        return self._reference_by_id.get(person_id, "")

    @property
    def guardians(self) -> set[str]:
        return {ref for ref, p in self.people.items() if p.kind is PersonKind.GUARDIAN}

    @staticmethod
    def normalized(name: str) -> str:
        return normalize_name(name)


async def load_registry(db: AsyncSession, programme: Programme) -> Registry:
    """Everything a check needs, in five queries whatever the file's size."""
    anchor = await db.get_one(Area, programme.area_id)
    tree = sorted(
        await db.scalars(select(Area).where(area_and_below(anchor.path))), key=lambda a: len(a.path)
    )
    text: dict[int, str] = {anchor.id: ""}
    for area in tree:
        if area.id != anchor.id and area.parent_id in text:
            parent = text[area.parent_id]
            text[area.id] = f"{parent}/{area.name}" if parent else area.name
    by_id = {a.id: a for a in tree}
    people = {
        p.reference: p
        for p in await db.scalars(
            select(Person).where(Person.programme_id == programme.id, Person.reference.is_not(None))
        )
        if p.reference is not None
    }
    sources = dict(
        (
            await db.execute(
                select(ChildProfile.person_id, ChildProfile.referral_source)
                .join(Person, Person.id == ChildProfile.person_id)
                .where(Person.programme_id == programme.id, Person.reference.is_not(None))
            )
        ).all()
    )
    users: dict[str, User] = {}
    for reference, user in await db.execute(
        select(UserReference.reference, User)
        .join(User, User.id == UserReference.user_id)
        .where(UserReference.programme_id == programme.id)
    ):
        users[reference] = user
    memberships: dict[int, list[Membership]] = defaultdict(list)
    for membership in await db.scalars(
        select(Membership)
        .join(UserReference, UserReference.user_id == Membership.user_id)
        .where(
            UserReference.programme_id == programme.id,
            Membership.programme_id == programme.id,
            Membership.ended_at.is_(None),
            Membership.role.in_(tuple(USER_TYPES.values())),
        )
        .order_by(Membership.id)
    ):
        memberships[membership.user_id].append(membership)
    return Registry(
        programme=programme,
        areas={t: by_id[i] for i, t in text.items() if t},
        area_by_id=by_id,
        area_text=text,
        people=people,
        users=users,
        memberships=dict(memberships),
        sources=sources,
    )


def export_rows(registry: Registry, remit: tuple[str, ...]) -> list[list[str]]:
    """The registry in the template's columns (guardians first, then by 编号): what an import of the same
    file leaves unchanged. Only those with a 编号 and within `remit` (area paths) are written."""

    def covers(area_id: int) -> bool:
        area = registry.area_by_id.get(area_id)
        return area is not None and any(area.path.startswith(p) for p in remit)

    rows: list[tuple[int, str, list[str]]] = []
    for ref, person in registry.people.items():
        if not covers(person.area_id) or not registry.area_text.get(person.area_id):
            continue
        source = registry.sources.get(person.id)
        rows.append(
            (
                0 if person.kind is PersonKind.GUARDIAN else 1,
                ref,
                [
                    ref,
                    TYPE_LABELS[person.kind],
                    person.display_name,
                    "" if person.birth_year is None else str(person.birth_year),
                    registry.area_text.get(person.area_id, ""),
                    registry.reference_of(person.guardian_id) if person.kind is PersonKind.CHILD else "",
                    SOURCE_LABELS[source] if source is not None else "",
                    person.note or "",
                ],
            )
        )
    for ref, user in registry.users.items():
        memberships = registry.memberships.get(user.id, [])
        # One row per user: someone with one current role in one area of the programme.
        if len(memberships) != 1 or not covers(memberships[0].area_id):
            continue
        membership = memberships[0]
        area_text = registry.area_text.get(membership.area_id, "")
        if not area_text:
            continue
        rows.append(
            (2, ref, [ref, TYPE_LABELS[membership.role], user.display_name, "", area_text, "", "", ""])
        )
    return [cells for _, _, cells in sorted(rows, key=lambda r: (r[0], r[1]))]
