"""Matching a child with a caring mother, the child's needs and consent, and the social worker's lists."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db import Database
from backend.people.models import Person, PersonKind, User
from backend.visits.matching_service import Nearness, do_confirm_pairing, suggest_mothers
from backend.visits.models import (
    ChildProfile,
    ConsentMethod,
    NeedArea,
    Pairing,
    PairingStatus,
    ReferralSource,
)
from backend.visits.profile_service import ChildIntake, do_record_child_profile, do_set_mother_profile
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
        f"/pairings/match/{child_id}",
        data={"_csrf_token": token, "mother_id": str(liu), "guardian_consent": "yes"},
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
        f"/pairings/match/{child_id}",
        data={"_csrf_token": token, "mother_id": str(liu), "guardian_consent": "yes"},
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
        "latitude",  # optional and coarse, for matching by distance
        "longitude",
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
    # Each opens on its review page, where she can decide it (not on the read-only visit page).
    assert re.findall(r'href="(/[a-z]+)/visit/\d+"', pending) == ["/review"] * pending.count("<li")
    # Work first: entries to review, then overdue visits and what waits for review, then her people.
    order = [
        page.index(marker) for marker in ('id="worker-todo"', 'id="visits-worker"', 'id="people-heading"')
    ]
    assert order == sorted(order)
    other = (await (await client_as(personas.OTHER_STREET_WORKER)).get("/")).text
    assert 'id="pending-visits"' not in other


# lele lives in Hetang (Liu'an Street). 刘芳 is about 1.2 km away, 王秀英 about 3 km (due north).
LELE_AT, LIU_AT, WANG_AT = (31.2, 121.4), (31.211, 121.4), (31.227, 121.4)


async def _place(database: Database, world: World, *, child_at: object, mothers: dict[str, object]) -> None:
    programme = world.cast.programmes["mothers"]
    offers = {
        personas.CARING_MOTHER: (NeedArea.MIND_CHARACTER, NeedArea.FAMILY_EDUCATION),
        personas.OTHER_MOTHER: (NeedArea.FAMILY_EDUCATION,),
    }
    async with database.transaction() as db:
        for handle, where in mothers.items():
            mother = await db.get_one(User, world.user_id(handle))
            await do_set_mother_profile(
                db, mother, programme, offers=offers[handle], capacity=2, coordinates=where, actor=None
            )  # type: ignore[arg-type]
        profile = await db.get_one(ChildProfile, world.person_id("lele"))
        profile.latitude, profile.longitude = child_at or (None, None)  # type: ignore[misc]


async def _ranked(database: Database, world: World) -> list[tuple[str, Nearness, float | None]]:
    async with database.transaction(read_only=True) as db:
        suggestions = await suggest_mothers(db, await _child(db, world, "lele"))
    return [
        (s.mother.display_name, s.nearness, None if s.distance_km is None else round(s.distance_km, 1))
        for s in suggestions
    ]


async def test_with_coordinates_the_nearer_mother_of_the_same_tier_comes_first(
    world: World, database: Database
) -> None:
    # Without distances 王秀英 (covers both needs) comes before 刘芳 (one): see the test above.
    await _place(
        database,
        world,
        child_at=LELE_AT,
        mothers={personas.CARING_MOTHER: WANG_AT, personas.OTHER_MOTHER: LIU_AT},
    )
    assert await _ranked(database, world) == [
        ("张丽", Nearness.COMMUNITY, None),  # her own community still comes first, coordinates or not
        ("刘芳", Nearness.DISTRICT, 1.2),
        ("王秀英", Nearness.DISTRICT, 3.0),
    ]


async def test_a_mother_without_coordinates_comes_after_those_with_in_her_tier(
    world: World, database: Database
) -> None:
    await _place(
        database,
        world,
        child_at=LELE_AT,
        mothers={personas.CARING_MOTHER: None, personas.OTHER_MOTHER: LIU_AT},
    )
    assert [name for name, _, _ in await _ranked(database, world)] == ["张丽", "刘芳", "王秀英"]


async def test_without_the_childs_coordinates_the_order_by_needs_stands(
    world: World, database: Database
) -> None:
    await _place(
        database,
        world,
        child_at=None,
        mothers={personas.CARING_MOTHER: WANG_AT, personas.OTHER_MOTHER: LIU_AT},
    )
    assert await _ranked(database, world) == [
        ("张丽", Nearness.COMMUNITY, None),
        ("王秀英", Nearness.DISTRICT, None),
        ("刘芳", Nearness.DISTRICT, None),
    ]


async def test_equally_far_mothers_are_still_ordered_by_the_needs_they_cover(
    world: World, database: Database
) -> None:
    # Both about 1.2 km away (to the nearest 100 m): needs covered decide, as without coordinates.
    await _place(
        database,
        world,
        child_at=LELE_AT,
        mothers={personas.CARING_MOTHER: (31.2, 121.4128), personas.OTHER_MOTHER: LIU_AT},
    )
    assert [name for name, _, _ in await _ranked(database, world)] == ["张丽", "王秀英", "刘芳"]


async def test_the_social_worker_sets_coordinates_and_sees_the_distance_as_a_reason(
    client_as: ClientAs, world: World, database: Database
) -> None:
    await _place(database, world, child_at=None, mothers={personas.OTHER_MOTHER: LIU_AT})
    worker = await client_as(personas.OTHER_STREET_WORKER)  # lele's social worker
    lele = world.person_id("lele")
    token = await csrf_token(worker)
    fields = {
        "_csrf_token": token,
        "referral_source": "petition",
        "need": ["mind_character", "family_education"],
        "consent_on": (factories.today() - timedelta(days=3)).isoformat(),
        "consent_method": "signed_form",
    }
    for latitude, longitude in (
        ("31.2", ""),
        ("91", "121.4"),
        ("nan", "121.4"),
        ("31.2", "1e999"),
        ("北", "东"),
    ):
        answer = await worker.post(
            f"/children/{lele}/profile", data={**fields, "latitude": latitude, "longitude": longitude}
        )
        assert answer.status_code == 400 and 'id="coordinates-error"' in answer.text, (latitude, longitude)
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(ChildProfile, lele)).latitude is None
    saved = await worker.post(
        f"/children/{lele}/profile", data={**fields, "latitude": " 31.20004 ", "longitude": "121.4"}
    )
    assert saved.status_code == 303
    async with database.transaction(read_only=True) as db:
        profile = await db.get_one(ChildProfile, lele)
    assert (profile.latitude, profile.longitude) == (31.2, 121.4)  # rounded: coarse on purpose
    # lele is paired with 张丽: end nothing, just look at what would be suggested (staff may watch).
    async with database.transaction() as db:
        pairing = await db.scalar(select(Pairing).where(Pairing.child_id == lele))
        assert pairing is not None
        pairing.status = PairingStatus.ENDED
    page = await worker.get(f"/pairings/match/{lele}")
    assert "约 1.2 公里" in page.text
    changes = [e.change for e in await audit_actions(database, "child_profile.recorded")]
    changes += [e.change for e in await audit_actions(database, "child_profile.changed")]
    assert changes and all("31.2" not in str(c) and "121.4" not in str(c) for c in changes)


async def test_coordinates_are_never_shown_to_a_caring_mother(
    client_as: ClientAs, world: World, database: Database
) -> None:
    async with database.transaction() as db:
        profile = await db.get_one(ChildProfile, world.person_id("xiaoyu"))
        profile.latitude, profile.longitude = 31.123, 121.987
        wang = await db.get_one(User, world.user_id(personas.CARING_MOTHER))
        await do_set_mother_profile(
            db, wang, world.cast.programmes["mothers"], offers=(), coordinates=(31.456, 121.654), actor=None
        )
    mother = await client_as(personas.CARING_MOTHER)
    pages = ["/", "/visits/new", f"/people/{world.person_id('xiaoyu')}"]
    for url in pages:
        page = await mother.get(url)
        assert page.status_code == 200, url
        assert "31.123" not in page.text and "121.987" not in page.text and "31.456" not in page.text, url
    assert (await mother.get(f"/children/{world.person_id('xiaoyu')}/profile")).status_code == 403
    assert (await mother.get(f"/mothers/{world.user_id(personas.CARING_MOTHER)}/profile")).status_code == 403


async def test_a_worker_reaches_visit_frequency_and_ending_a_pairing_from_the_childs_page(
    client_as: ClientAs, world: World
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    page = (await worker.get(f"/people/{world.person_id('xiaoyu')}")).text
    section = page.split('id="pairing-work"')[1].split("</section>")[0]
    frequency = re.search(r'id="frequency-link" href="(/pairings/\d+/frequency)"', section)
    exit_link = re.search(r'id="exit-link" href="(/pairings/\d+/exit)"', section)
    assert frequency and exit_link
    assert (await worker.get(frequency.group(1))).status_code == 200
    assert (await worker.get(exit_link.group(1))).status_code == 200
    waiting = (await worker.get(f"/people/{world.person_id('xiaoqi')}")).text  # no mother yet
    assert f'href="/pairings/match/{world.person_id("xiaoqi")}"' in waiting
    mother = await client_as(personas.CARING_MOTHER)  # her own child's page: no pairing work
    assert 'id="pairing-work"' not in (await mother.get(f"/people/{world.person_id('xiaoyu')}")).text
