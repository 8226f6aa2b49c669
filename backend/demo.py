"""A small, realistic demo district so a newcomer can click through every role.

Qingxi District (fictional) has two streets; the women's federation runs a caring-mother pairing
programme, the civil-affairs bureau a neighbour meal plan and a social-work station programme (two
street stations). All names are invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.cases.demo import STATION_PERSONAS, create_station_demo
from backend.clock import add_months
from backend.meals.demo import create_meal_demo
from backend.meals.service import do_create_agreement
from backend.people.models import Area, Person, PersonKind, Programme, ProgrammeKind, Role, User
from backend.people.person_service import do_create_person
from backend.people.service import do_add_membership, do_create_area, do_create_programme, do_create_user
from backend.pillar.demo import PILLAR_PERSONAS, create_pillar_demo
from backend.storage import PhotoStore
from backend.verification.demo import create_last_month_demo
from backend.visits.demo import create_visits_demo
from backend.visits.models import Pairing
from backend.visits.service import do_pair

DEMO_MARKER_HANDLE = "demo-staff-zhou"


@dataclass
class DemoCast:
    """The demo's people by handle, and its places by short key, for tests and printed links."""

    users: dict[str, User] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    def user(self, handle: str) -> User:
        return self.users[handle]


# handle, display name, what they are (shown next to the printed link)
PERSONAS: list[tuple[str, str, str]] = [
    ("demo-staff-zhou", "周敏", "staff (women's federation and civil-affairs bureau)"),
    ("demo-sw-li", "李娜", "social worker, Wutong Street"),
    ("demo-sw-chen", "陈静", "social worker, Liu'an Street"),
    ("demo-mother-wang", "王秀英", "caring mother, Guiyuan Community"),
    ("demo-mother-liu", "刘芳", "caring mother, Songfeng Community"),
    ("demo-mother-zhang", "张丽", "caring mother, Hetang Community"),
    ("demo-neighbour-zhao", "赵桂兰", "neighbour who cooks, Guiyuan Community"),
    ("demo-neighbour-sun", "孙玉梅", "neighbour who cooks, Songfeng Community"),
    ("demo-neighbour-wu", "吴凤英", "neighbour who cooks, Hetang Community"),
    *STATION_PERSONAS,
    *PILLAR_PERSONAS,
]


async def demo_exists(db: AsyncSession) -> bool:
    return await db.scalar(select(User.id).where(User.handle == DEMO_MARKER_HANDLE)) is not None


async def load_demo_cast(db: AsyncSession) -> DemoCast:
    cast = DemoCast()
    for handle, _name, _what in PERSONAS:
        user = await db.scalar(select(User).where(User.handle == handle))
        if user is not None:
            cast.users[handle] = user
    return cast


async def create_demo(
    db: AsyncSession,
    *,
    time_zone: str = "Asia/Shanghai",
    today: date | None = None,
    store: PhotoStore | None = None,
) -> DemoCast:
    """The demo district. With a photo store, also meals already checked in (their photos need files)."""
    cast = DemoCast()
    actor = None  # the system itself
    district = await do_create_area(db, name="青溪区", parent=None, actor=actor)
    wutong = await do_create_area(db, name="梧桐街道", parent=district, actor=actor)
    liuan = await do_create_area(db, name="柳岸街道", parent=district, actor=actor)
    guiyuan = await do_create_area(db, name="桂园社区", parent=wutong, actor=actor)
    songfeng = await do_create_area(db, name="松风社区", parent=wutong, actor=actor)
    hetang = await do_create_area(db, name="荷塘社区", parent=liuan, actor=actor)
    cast.areas.update(
        district=district, wutong=wutong, liuan=liuan, guiyuan=guiyuan, songfeng=songfeng, hetang=hetang
    )

    mothers_prog = await do_create_programme(
        db,
        name="青溪区“钟妈妈”结对关爱",
        kind=ProgrammeKind.CARING_MOTHERS,
        area=district,
        actor=actor,
        time_zone=time_zone,
    )
    meals_prog = await do_create_programme(
        db,
        name="青溪区睦邻助餐计划",
        kind=ProgrammeKind.NEIGHBOUR_MEALS,
        area=district,
        actor=actor,
        time_zone=time_zone,
    )
    station_prog = await do_create_programme(
        db,
        name="青溪区社会工作服务站",
        kind=ProgrammeKind.SOCIAL_WORK_STATION,
        area=district,
        actor=actor,
        time_zone=time_zone,
    )
    pillar_prog = await do_create_programme(
        db,
        name="青溪区“顶梁柱母亲”关爱项目",
        kind=ProgrammeKind.PILLAR_MOTHERS,
        area=district,
        actor=actor,
        time_zone=time_zone,
    )
    cast.programmes.update(mothers=mothers_prog, meals=meals_prog, station=station_prog, pillar=pillar_prog)

    for handle, name, _what in PERSONAS:
        cast.users[handle] = await do_create_user(db, handle=handle, display_name=name, actor=actor)
    u = cast.users

    for programme in (mothers_prog, meals_prog):
        await do_add_membership(
            db, user=u["demo-staff-zhou"], programme=programme, area=district, role=Role.STAFF, actor=actor
        )
        await do_add_membership(
            db, user=u["demo-sw-li"], programme=programme, area=wutong, role=Role.SOCIAL_WORKER, actor=actor
        )
        await do_add_membership(
            db, user=u["demo-sw-chen"], programme=programme, area=liuan, role=Role.SOCIAL_WORKER, actor=actor
        )
    for handle, area in (
        ("demo-mother-wang", guiyuan),
        ("demo-mother-liu", songfeng),
        ("demo-mother-zhang", hetang),
    ):
        await do_add_membership(
            db, user=u[handle], programme=mothers_prog, area=area, role=Role.CARING_MOTHER, actor=actor
        )
    for handle, area in (
        ("demo-neighbour-zhao", guiyuan),
        ("demo-neighbour-sun", songfeng),
        ("demo-neighbour-wu", hetang),
    ):
        await do_add_membership(
            db, user=u[handle], programme=meals_prog, area=area, role=Role.NEIGHBOUR, actor=actor
        )

    # Children with their guardians (grandparents, often, for left-behind children).
    children = [
        ("xiaoyu", "陈小宇", 2015, "陈奶奶", guiyuan, "demo-mother-wang"),
        ("duoduo", "林朵朵", 2017, "林爷爷", songfeng, "demo-mother-liu"),
        ("lele", "黄乐乐", 2013, "黄妈妈", hetang, "demo-mother-zhang"),
        ("xiaoqi", "马小琪", 2016, "马奶奶", guiyuan, None),  # waiting for a mother
    ]
    pairings: dict[str, Pairing] = {}
    for key, name, born, guardian_name, area, mother in children:
        guardian = await do_create_person(
            db,
            programme=mothers_prog,
            area=area,
            kind=PersonKind.GUARDIAN,
            display_name=guardian_name,
            actor=actor,
        )
        child = await do_create_person(
            db,
            programme=mothers_prog,
            area=area,
            kind=PersonKind.CHILD,
            display_name=name,
            birth_year=born,
            guardian=guardian,
            actor=actor,
        )
        cast.people[key] = child
        cast.people[f"{key}_guardian"] = guardian
        if mother:
            # The demo's guardians consented (their children are under 14): recorded with the pairing.
            pairings[key] = await do_pair(
                db, programme=mothers_prog, child=child, mother=u[mother], actor=actor, guardian_consent=True
            )
    await create_visits_demo(db, programme=mothers_prog, pairings=pairings, children=cast.people, users=u)

    today = today or clock.now_in(ZoneInfo(time_zone)).date()
    # Agreements began last month, so the history has a past month and the demo meals a past.
    starts = add_months(today.replace(day=1), -1)
    agreements = []
    residents = [
        ("qian", "钱老伯", 1941, guiyuan, "demo-neighbour-zhao", "demo-sw-li"),
        ("zheng", "郑奶奶", 1938, songfeng, "demo-neighbour-sun", "demo-sw-li"),
        ("feng", "冯爷爷", 1944, hetang, "demo-neighbour-wu", "demo-sw-chen"),
    ]
    for key, name, born, area, neighbour, worker in residents:
        resident = await do_create_person(
            db,
            programme=meals_prog,
            area=area,
            kind=PersonKind.RESIDENT,
            display_name=name,
            birth_year=born,
            actor=actor,
        )
        cast.people[key] = resident
        agreement = await do_create_agreement(
            db,
            programme=meals_prog,
            resident=resident,
            neighbour=u[neighbour],
            social_worker=u[worker],
            starts_on=starts,
            actor=u[worker],
        )
        agreements.append(agreement)
    await create_meal_demo(db, agreements=agreements, users=u, today=today, store=store)
    await create_station_demo(db, programme=station_prog, areas=cast.areas, users=u, people=cast.people)
    await create_pillar_demo(db, programme=pillar_prog, areas=cast.areas, users=u)
    if store is not None:
        await create_last_month_demo(db, agreements=agreements, today=today, store=store)
    return cast
