"""Matching a child with a caring mother, the child's needs and consent, and the social worker's lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db import Database
from backend.people.models import Person, PersonKind, User
from backend.visits.matching import Nearness, do_confirm_pairing, suggest_mothers
from backend.visits.models import (
    ChildProfile,
    ConsentMethod,
    NeedArea,
    Pairing,
    PairingStatus,
    ReferralSource,
)
from backend.visits.profiles import ChildIntake, do_record_child_profile, do_set_mother_profile
from backend.visits.service import VisitRefused
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.photos_support import audit_actions


async def _child(db: object, world: World, key: str) -> Person:
    from sqlalchemy.orm import selectinload

    found = await db.scalar(  # type: ignore[attr-defined]
        select(Person)
        .where(Person.id == world.person_id(key))
        .options(selectinload(Person.area), selectinload(Person.programme))
    )
    assert found is not None
    return found


async def test_suggestions_rank_nearness_before_needs_and_leave_out_full_mothers(
    world: World, database: Database
) -> None:
    async with database.transaction() as db:
        liu = await db.get_one(User, world.user_id(personas.OTHER_MOTHER))
        offers = (NeedArea.SOCIAL_INTEGRATION,)
        await do_set_mother_profile(
            db, liu, world.cast.programmes["mothers"], offers=offers, capacity=2, actor=None
        )
        suggestions = await suggest_mothers(db, await _child(db, world, "xiaoqi"))
    # 王秀英 lives in xiaoqi's community but already has her one child; 刘芳 is on the same street and
    # covers none of xiaoqi's needs, 张丽 is in the same district and covers one: nearness decides.
    names = [(s.mother.display_name, s.nearness, len(s.covered), s.load) for s in suggestions]
    assert names == [("刘芳", Nearness.STREET, 0, 1), ("张丽", Nearness.DISTRICT, 1, 1)]


async def test_among_equally_near_mothers_the_one_covering_more_needs_comes_first(
    world: World, database: Database
) -> None:
    programme = world.cast.programmes["mothers"]
    async with database.transaction() as db:
        wang = await db.get_one(User, world.user_id(personas.CARING_MOTHER))
        liu = await db.get_one(User, world.user_id(personas.OTHER_MOTHER))
        both = (NeedArea.MIND_CHARACTER, NeedArea.FAMILY_EDUCATION)
        await do_set_mother_profile(db, wang, programme, offers=both, capacity=2, actor=None)
        await do_set_mother_profile(
            db, liu, programme, offers=(NeedArea.FAMILY_EDUCATION,), capacity=2, actor=None
        )
        # lele (Hetang, Liu'an Street) needs mind and character and family education.
        suggestions = await suggest_mothers(db, await _child(db, world, "lele"))
    ranked = [(s.mother.display_name, s.nearness, [a.value for a in s.covered]) for s in suggestions]
    assert ranked == [
        ("张丽", Nearness.COMMUNITY, ["mind_character", "family_education"]),
        ("王秀英", Nearness.DISTRICT, ["mind_character", "family_education"]),
        ("刘芳", Nearness.DISTRICT, ["family_education"]),
    ]


async def test_social_worker_sees_reasons_and_confirms_a_pairing_which_is_audited(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child_id = world.person_id("xiaoqi")
    page = await worker.get(f"/pairings/match/{child_id}")
    assert page.status_code == 200
    assert 'id="suggestions"' in page.text and "张丽" in page.text and "王秀英" not in page.text
    liu = world.user_id("demo-mother-zhang")  # the only one with room: two places, one taken
    token = await csrf_token(worker)
    answer = await worker.post(
        f"/pairings/match/{child_id}", data={"_csrf_token": token, "mother_id": str(liu)}
    )
    assert answer.status_code == 303
    async with database.transaction(read_only=True) as db:
        pairing = await db.scalar(
            select(Pairing).where(Pairing.child_id == child_id, Pairing.status == PairingStatus.ACTIVE)
        )
    assert pairing is not None and pairing.mother_id == liu
    assert [e.subject_id for e in await audit_actions(database, "pairing.matched")] == [str(pairing.id)]
    # A second confirmation (another tab) does not make a second pairing.
    again = await worker.post(
        f"/pairings/match/{child_id}", data={"_csrf_token": token, "mother_id": str(liu)}
    )
    assert again.status_code == 409


async def test_a_mother_not_suggested_cannot_be_confirmed(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child_id = world.person_id("xiaoqi")
    full = world.user_id(personas.CARING_MOTHER)  # her one place is taken
    answer = await worker.post(
        f"/pairings/match/{child_id}", data={"_csrf_token": await csrf_token(worker), "mother_id": str(full)}
    )
    assert answer.status_code == 400 and 'id="match-error"' in answer.text
    neighbour = world.user_id(personas.NEIGHBOUR)
    async with database.transaction() as db:
        with pytest.raises(VisitRefused):
            await do_confirm_pairing(db, await _child(db, world, "xiaoqi"), neighbour, actor=None)  # type: ignore[arg-type]


async def test_staff_watch_matching_but_only_the_areas_social_worker_confirms(
    client_as: ClientAs, world: World
) -> None:
    child_id = world.person_id("xiaoqi")
    staff = await client_as(personas.STAFF)
    page = await staff.get(f"/pairings/match/{child_id}")
    assert page.status_code == 200 and 'id="confirm-' not in page.text
    other_street = await client_as(personas.OTHER_STREET_WORKER)
    assert (await other_street.get(f"/pairings/match/{child_id}")).status_code == 404


async def test_a_child_under_14_cannot_be_recorded_without_the_guardians_consent(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child_id = world.person_id("xiaoqi")  # born 2016
    fields = {"_csrf_token": await csrf_token(worker), "referral_source": "school", "need": ["daily_life"]}
    refused = await worker.post(f"/children/{child_id}/profile", data=fields)
    assert refused.status_code == 400 and 'id="consent-error"' in refused.text
    fields.update(consent_on=(factories.today() - timedelta(days=1)).isoformat(), consent_method="in_person")
    saved = await worker.post(f"/children/{child_id}/profile", data=fields)
    assert saved.status_code == 303
    async with database.transaction(read_only=True) as db:
        profile = await db.get_one(ChildProfile, child_id)
    assert profile.referral_source is ReferralSource.SCHOOL and profile.needs == ["daily_life"]
    assert profile.consent_by_id == world.person_id("xiaoqi_guardian")
    assert profile.consent_method is ConsentMethod.IN_PERSON
    assert profile.recorded_by_id == world.user_id(personas.SOCIAL_WORKER)


async def test_a_child_profile_takes_no_field_the_work_does_not_need(
    world: World, database: Database
) -> None:
    columns = set(ChildProfile.__table__.columns.keys())
    assert columns == {
        "person_id",
        "referral_source",
        "needs",
        "consent_by_id",
        "consent_on",
        "consent_method",
        "recorded_by_id",
        "created_at",
    }
    async with database.transaction() as db:
        guardian = await _child(db, world, "xiaoqi_guardian")
        assert guardian.kind is PersonKind.GUARDIAN
        with pytest.raises(VisitRefused):
            await do_record_child_profile(
                db,
                guardian,
                ChildIntake(ReferralSource.SURVEY, (NeedArea.DAILY_LIFE,), None, None),
                actor=await db.get_one(User, world.user_id(personas.SOCIAL_WORKER)),
                today=factories.today(),
            )


async def test_social_worker_home_lists_children_waiting_and_visits_overdue_in_her_areas_only(
    client_as: ClientAs, world: World
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    page = (await worker.get("/")).text
    assert 'id="waiting-children"' in page and f'href="/pairings/match/{world.person_id("xiaoqi")}"' in page
    # 林朵朵's last demo visit was 38 days ago, more than a month: overdue. 陈小宇 was visited 12 days ago.
    assert 'id="overdue-visits"' in page
    overdue = page.split('id="overdue-visits"')[1].split("</ul>")[0]
    assert "林朵朵" in overdue and "陈小宇" not in overdue and "黄乐乐" not in overdue
    other = (await (await client_as(personas.OTHER_STREET_WORKER)).get("/")).text
    assert "林朵朵" not in other and "马小琪" not in other
    assert "黄乐乐" in other.split('id="overdue-visits"')[1]  # paired 60 days ago, never visited


async def test_social_worker_home_lists_visits_waiting_for_review_in_her_areas_only(
    client_as: ClientAs, world: World
) -> None:
    page = (await (await client_as(personas.SOCIAL_WORKER)).get("/")).text
    pending = page.split('id="pending-visits"')[1].split("</ul>")[0]
    assert "陈小宇" in pending and "林朵朵" in pending  # the demo's visits, not yet reviewed
    other = (await (await client_as(personas.OTHER_STREET_WORKER)).get("/")).text
    assert 'id="pending-visits"' not in other
