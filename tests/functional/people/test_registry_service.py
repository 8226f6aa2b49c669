"""The registry's write path (people/service.py, people/person_service.py), on both databases: areas of
any depth that close, programme rules, memberships whose end ends access, people served with references
and an end. The pages on top of it are tested in their own files."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import AuditEvent
from backend.auth.models import Session, SignInCode
from backend.auth.service import SignInError, do_issue_code, do_redeem_code, load_principal
from backend.clock import utcnow
from backend.db import Database
from backend.errors import Refused
from backend.meals.service import agreement_terms
from backend.people.models import (
    Area,
    AreaLevel,
    EndReason,
    Membership,
    PersonKind,
    ProgrammeKind,
    Role,
    User,
)
from backend.people.names import name_initials
from backend.people.person_service import (
    PersonFields,
    do_create_person,
    do_end_person,
    do_move_person,
    do_update_person,
    possible_duplicates,
)
from backend.people.service import (
    ProgrammeRules,
    area_in_use,
    do_add_membership,
    do_close_area,
    do_create_area,
    do_create_programme,
    do_end_membership,
    do_rename_area,
    do_reopen_area,
    do_set_active,
    do_set_programme_rules,
    do_set_user_reference,
)
from tests import factories
from tests.conftest import SECRET

pytestmark = pytest.mark.usefixtures("database")


async def _actions(database: Database) -> list[str]:
    async with database.transaction(read_only=True) as db:
        return list(await db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


async def test_an_area_tree_of_five_levels_scopes_at_every_depth(database: Database) -> None:
    async with database.transaction() as db:
        province = await do_create_area(db, name="江南省", parent=None, level=AreaLevel.PROVINCE, actor=None)
        city = await do_create_area(db, name="云水市", parent=province, actor=None)
        district = await do_create_area(db, name="青石县", parent=city, actor=None)
        township = await do_create_area(db, name="白沙镇", parent=district, actor=None)
        village = await do_create_area(db, name="东村", parent=township, actor=None)
        assert [a.level for a in (province, city, district, township, village)] == list(AreaLevel)
        under_city = await db.scalars(
            select(Area.name).where(Area.path.startswith(city.path)).order_by(Area.id)
        )
        assert list(under_city) == ["云水市", "青石县", "白沙镇", "东村"]
        with pytest.raises(Refused) as below_village:
            await do_create_area(db, name="一组", parent=village, actor=None)
        assert below_village.value.field == "level"
        with pytest.raises(Refused):
            await do_create_area(db, name="又一市", parent=district, level=AreaLevel.CITY, actor=None)
        # A municipality's districts sit right under the province-level area.
        direct = await do_create_area(db, name="新区", parent=province, level=AreaLevel.DISTRICT, actor=None)
        assert direct.path == f"{province.path}{direct.id}/"


async def test_an_area_keeps_sibling_names_unique_and_renames_without_writing_names_to_the_trail(
    database: Database,
) -> None:
    async with database.transaction() as db:
        district, street, _community = await factories.make_district(db)
        with pytest.raises(Refused) as same:
            await do_create_area(db, name=f" {street.name} ", parent=district, actor=None)
        assert same.value.status_code == 409
        await do_rename_area(db, street, name="  新名  街道 ", actor=None)
        assert street.name == "新名 街道"
    async with database.transaction(read_only=True) as db:
        renamed = await db.scalar(select(AuditEvent).where(AuditEvent.action == "area.renamed"))
    assert renamed is not None and "新名" not in str(renamed.change)


async def test_an_area_in_use_cannot_close_and_a_closed_area_takes_nobody_new(database: Database) -> None:
    async with database.transaction() as db:
        district, _street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, district)
        person = await factories.make_person(db, programme, community)
        assert await area_in_use(db, community) is not None
        with pytest.raises(Refused):
            await do_close_area(db, community, actor=None)
        await do_end_person(db, person, EndReason.MOVED_AWAY, actor=None)
        assert await area_in_use(db, community) is None
        await do_close_area(db, community, actor=None)
        with pytest.raises(Refused) as closed:
            await factories.make_person(db, programme, community)
        assert closed.value.status_code == 409
        with pytest.raises(Refused):
            await do_create_area(db, name="楼栋", parent=community, actor=None)
        with pytest.raises(Refused):  # its street is open, and a programme is anchored there
            await do_close_area(db, district, actor=None)


async def test_a_meal_programme_carries_its_rate_and_cap_and_agreements_cannot_exceed_them(
    database: Database,
) -> None:
    async with database.transaction() as db:
        district, *_ = await factories.make_district(db)
        programme = await do_create_programme(
            db,
            name="睦邻午餐",
            kind=ProgrammeKind.NEIGHBOUR_MEALS,
            area=district,
            time_zone="Asia/Shanghai",
            rules=ProgrammeRules(rate_fen=1200, monthly_cap_fen=36000),
            actor=None,
        )
        assert agreement_terms(programme, None, None) == (1200, 36000)
        assert agreement_terms(programme, 1000, 30000) == (1000, 30000)
        for rate, cap in ((1300, None), (None, 36100), (1200, 1100)):
            with pytest.raises(Refused):
                agreement_terms(programme, rate, cap)
        with pytest.raises(Refused) as bad_rules:
            await do_set_programme_rules(
                db, programme, ProgrammeRules(rate_fen=1500, monthly_cap_fen=1000), actor=None
            )
        assert bad_rules.value.field == "monthly_cap"
        caring = await do_create_programme(
            db,
            name="爱心妈妈",
            kind=ProgrammeKind.CARING_MOTHERS,
            area=district,
            time_zone="Asia/Shanghai",
            actor=None,
        )
        assert caring.visit_interval_days == 30 and caring.rate_fen is None
        with pytest.raises(Refused) as zone:
            await do_create_programme(
                db,
                name="某项目",
                kind=ProgrammeKind.CARING_MOTHERS,
                area=district,
                time_zone="Mars/Base",
                actor=None,
            )
        assert zone.value.field == "time_zone"


async def test_the_last_membership_ending_ends_her_sessions_and_voids_her_unused_cards(
    database: Database,
) -> None:
    async with database.transaction() as db:
        district, _street, community = await factories.make_district(db)
        meals = await factories.make_programme(db, district)
        caring = await factories.make_programme(db, district, ProgrammeKind.CARING_MOTHERS)
        user = await factories.make_user(db, role=Role.NEIGHBOUR, programme=meals, area=community)
        second = await do_add_membership(
            db, user=user, programme=caring, area=community, role=Role.CARING_MOTHER, actor=None
        )
        first_code = await do_issue_code(db, user, actor=None, secret_key=SECRET, valid_for=_hours(72))
        started = await do_redeem_code(db, first_code.code, secret_key=SECRET, session_lifetime=_hours(24))
        unused = await do_issue_code(db, user, actor=None, secret_key=SECRET, valid_for=_hours(72))
    async with database.transaction() as db:
        first = await _membership(db, user.id, meals.id)
        await do_end_membership(db, first, actor=None)
    async with database.transaction(read_only=True) as db:
        still = await load_principal(db, started.token, secret_key=SECRET)
    assert still is not None and [g.role for g in still.grants] == [Role.CARING_MOTHER]
    async with database.transaction() as db:
        await do_end_membership(db, await db.get_one(Membership, second.id), actor=None)
    async with database.transaction(read_only=True) as db:
        assert await load_principal(db, started.token, secret_key=SECRET) is None
        revoked = await db.scalar(select(Session.revoked_at).where(Session.user_id == user.id))
        assert revoked is not None
    async with database.transaction() as db:
        with pytest.raises(SignInError):
            await do_redeem_code(db, unused.code, secret_key=SECRET, session_lifetime=_hours(24))
    actions = await _actions(database)
    assert actions.count("user.access_ended") == 1 and actions.count("membership.ended") == 2


async def test_deactivating_an_account_ends_access_at_once_and_reactivating_lets_a_new_card_work(
    database: Database,
) -> None:
    async with database.transaction() as db:
        district, _street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, district)
        staff = await factories.make_user(db, role=Role.STAFF, programme=programme, area=district)
        user = await factories.make_user(db, role=Role.NEIGHBOUR, programme=programme, area=community)
        code = await do_issue_code(db, user, actor=None, secret_key=SECRET, valid_for=_hours(72))
        started = await do_redeem_code(db, code.code, secret_key=SECRET, session_lifetime=_hours(24))
        spare = await do_issue_code(db, user, actor=None, secret_key=SECRET, valid_for=_hours(72))
    async with database.transaction() as db:
        target = await db.get_one(User, user.id)
        await do_set_active(db, target, active=False, actor=staff)
        with pytest.raises(Refused):
            await do_set_active(db, await db.get_one(User, staff.id), active=False, actor=staff)
    async with database.transaction(read_only=True) as db:
        assert await load_principal(db, started.token, secret_key=SECRET) is None
        voided = await db.scalar(
            select(func.count(SignInCode.id)).where(
                SignInCode.user_id == user.id, SignInCode.used_at.is_(None), SignInCode.expires_at > _now()
            )
        )
        assert voided == 0
    async with database.transaction() as db:
        with pytest.raises(SignInError):
            await do_redeem_code(db, spare.code, secret_key=SECRET, session_lifetime=_hours(24))
    async with database.transaction() as db:
        await do_set_active(db, await db.get_one(User, user.id), active=True, actor=staff)
        fresh = await do_issue_code(
            db, await db.get_one(User, user.id), actor=staff, secret_key=SECRET, valid_for=_hours(72)
        )
    async with database.transaction() as db:
        assert (
            await do_redeem_code(db, fresh.code, secret_key=SECRET, session_lifetime=_hours(24))
        ).user.id == user.id


async def test_a_person_has_a_reference_unique_in_her_programme_and_a_duplicate_is_found_first(
    database: Database,
) -> None:
    async with database.transaction() as db:
        district, _street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, district, ProgrammeKind.CARING_MOTHERS)
        other = await factories.make_programme(db, district, ProgrammeKind.CARING_MOTHERS)
        guardian = await do_create_person(
            db,
            programme=programme,
            area=community,
            kind=PersonKind.GUARDIAN,
            display_name="王 丽",
            actor=None,
        )
        child = await do_create_person(
            db,
            programme=programme,
            area=community,
            kind=PersonKind.CHILD,
            display_name="王小雨",
            birth_year=2016,
            guardian=guardian,
            reference="C-001",
            actor=None,
        )
        assert guardian.display_name == "王 丽"
        assert "wl" in guardian.name_initials.split() and "wxy" in child.name_initials.split()
        with pytest.raises(Refused) as taken:
            await do_create_person(
                db,
                programme=programme,
                area=community,
                kind=PersonKind.GUARDIAN,
                display_name="某人",
                reference="C-001",
                actor=None,
            )
        assert (taken.value.field, taken.value.status_code) == ("reference", 409)
        # Another programme may use the same number for someone else.
        await do_create_person(
            db,
            programme=other,
            area=community,
            kind=PersonKind.GUARDIAN,
            display_name="某人",
            reference="C-001",
            actor=None,
        )
        with pytest.raises(Refused) as orphan:
            await do_create_person(
                db,
                programme=programme,
                area=community,
                kind=PersonKind.CHILD,
                display_name="无监护",
                actor=None,
            )
        assert orphan.value.field == "guardian"
        found = await possible_duplicates(db, programme.id, " 王小雨 ", 2016, community.id)
        assert [p.id for p in found] == [child.id]
        assert await possible_duplicates(db, programme.id, "王小雨", 2015, community.id) == []


async def test_editing_moving_and_ending_a_person_are_audited_by_field_name_only(database: Database) -> None:
    async with database.transaction() as db:
        district, street, community = await factories.make_district(db)
        second = await do_create_area(db, name="第二社区", parent=street, actor=None)
        programme = await factories.make_programme(db, district)
        person = await factories.make_person(db, programme, community, name="钱奶奶", born=1940)
        changed = await do_update_person(
            db, person, PersonFields("钱桂英", 1941, None, "R-9", "耳背，敲门要用力"), actor=None
        )
        assert sorted(changed) == ["birth_year", "display_name", "note", "reference"]
        assert person.name_initials == "qgy"
        assert (
            await do_update_person(
                db, person, PersonFields("钱桂英", 1941, None, "R-9", "耳背，敲门要用力"), actor=None
            )
            == []
        )
        await do_move_person(db, person, second, actor=None)
        await do_end_person(db, person, EndReason.DIED, actor=None)
        with pytest.raises(Refused):
            await do_end_person(db, person, EndReason.DIED, actor=None)
    async with database.transaction(read_only=True) as db:
        events = list(
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.subject_id == str(person.id), AuditEvent.subject_type == "person"
                )
            )
        )
    assert [e.action for e in events] == ["person.created", "person.updated", "person.moved", "person.ended"]
    assert "钱" not in str([e.change for e in events]) and "耳背" not in str([e.change for e in events])


async def test_a_users_reference_is_unique_in_the_programme(database: Database) -> None:
    async with database.transaction() as db:
        district, _street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, district)
        first = await factories.make_user(db, role=Role.NEIGHBOUR, programme=programme, area=community)
        second = await factories.make_user(db, role=Role.NEIGHBOUR, programme=programme, area=community)
        await do_set_user_reference(db, first, programme, "N-1", actor=None)
        await do_set_user_reference(db, first, programme, "N-1", actor=None)  # unchanged: no event
        with pytest.raises(Refused):
            await do_set_user_reference(db, second, programme, "N-1", actor=None)
        await do_set_user_reference(db, first, programme, "N-2", actor=None)
        await do_set_user_reference(db, second, programme, "N-1", actor=None)
    assert (await _actions(database)).count("user.reference_set") == 3


def test_pinyin_initials_keep_every_reading_of_a_surname() -> None:
    assert name_initials("赵桂兰") == "zgl"
    assert set(name_initials("曾琴").split()) == {"cq", "zq"}
    assert name_initials("Wang Fang") == "wf"


async def _membership(db: AsyncSession, user_id: int, programme_id: int) -> Membership:
    return await db.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.programme_id == programme_id)
    )


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


def _now() -> datetime:
    return utcnow()


async def test_every_refusal_of_the_organisation_writes_names_its_field(database: Database) -> None:
    """Bad input to each organisation write is a Refused naming the form field, and changes nothing."""
    async with database.transaction() as db:
        district, street, community = await factories.make_district(db)
        other_district, *_ = await factories.make_district(db)
        programme = await factories.make_programme(db, district)
        programme_user = await factories.make_user(
            db, role=Role.NEIGHBOUR, programme=programme, area=community
        )
        refusals = {}
        for label, call in {
            "empty area": lambda: do_create_area(db, name="  ", parent=street, actor=None),
            "empty programme": lambda: do_create_programme(
                db,
                name=" ",
                kind=ProgrammeKind.NEIGHBOUR_MEALS,
                area=district,
                time_zone="Asia/Shanghai",
                actor=None,
            ),
            "programme name taken": lambda: do_create_programme(
                db,
                name=programme.name,
                kind=ProgrammeKind.NEIGHBOUR_MEALS,
                area=district,
                time_zone="Asia/Shanghai",
                actor=None,
            ),
            "no rate": lambda: do_create_programme(
                db,
                name="无标准",
                kind=ProgrammeKind.NEIGHBOUR_MEALS,
                area=district,
                time_zone="Asia/Shanghai",
                rules=ProgrammeRules(rate_fen=None, monthly_cap_fen=None),
                actor=None,
            ),
            "interval": lambda: do_create_programme(
                db,
                name="间隔错",
                kind=ProgrammeKind.CARING_MOTHERS,
                area=district,
                time_zone="Asia/Shanghai",
                rules=ProgrammeRules(visit_interval_days=400),
                actor=None,
            ),
            "area of another programme": lambda: do_add_membership(
                db,
                user=programme_user,  # noqa: B023 (called at once, in this iteration)
                programme=programme,
                area=other_district,
                role=Role.NEIGHBOUR,
                actor=None,
            ),
            "same role twice": lambda: do_add_membership(
                db,
                user=programme_user,  # noqa: B023
                programme=programme,
                area=community,
                role=Role.NEIGHBOUR,
                actor=None,
            ),
        }.items():
            if label == "area of another programme":
                programme_user = await factories.make_user(
                    db, role=Role.NEIGHBOUR, programme=programme, area=community
                )
            try:
                await call()
            except Refused as exc:
                refusals[label] = exc.field
        assert refusals == {
            "empty area": "name",
            "empty programme": "name",
            "programme name taken": "name",
            "no rate": "rate",
            "interval": "visit_interval_days",
            "area of another programme": "area_id",
            "same role twice": "role",
        }
        assert ProgrammeRules.defaults(ProgrammeKind.SOCIAL_WORK_STATION) == ProgrammeRules()
        # The same name again changes nothing; closing twice, or reopening under a closed parent: refused.
        assert await do_rename_area(db, community, name=community.name, actor=None) is community
        lone = await do_create_area(db, name="空街道", parent=district, actor=None)
        leaf = await do_create_area(db, name="空社区", parent=lone, actor=None)
        await do_close_area(db, leaf, actor=None)
        with pytest.raises(Refused):
            await do_close_area(db, leaf, actor=None)
        await do_close_area(db, lone, actor=None)
        with pytest.raises(Refused) as closed_parent:
            await do_create_area(db, name="新社区", parent=lone, actor=None)
        assert closed_parent.value.field == "parent"
        with pytest.raises(Refused):
            await do_reopen_area(db, leaf, actor=None)
        await do_reopen_area(db, lone, actor=None)
        await do_reopen_area(db, leaf, actor=None)
        assert leaf.closed_at is None and await do_reopen_area(db, leaf, actor=None) is leaf
        # A membership ended, then given again, reuses its row; ending it twice is refused.
        again_user = await factories.make_user(db, role=Role.NEIGHBOUR, programme=programme, area=community)
        first = await _membership(db, again_user.id, programme.id)
        await do_end_membership(db, first, actor=None)
        with pytest.raises(Refused):
            await do_end_membership(db, first, actor=None)
        reused = await do_add_membership(
            db, user=again_user, programme=programme, area=community, role=Role.NEIGHBOUR, actor=None
        )
        assert reused.id == first.id and reused.ended_at is None
        await do_set_user_reference(db, again_user, programme, "N-9", actor=None)
        await do_set_user_reference(db, again_user, programme, None, actor=None)  # removed
