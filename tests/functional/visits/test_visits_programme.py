"""The programme side of visits: staff keep the checklist, social workers and staff keep mothers'
profiles, the area's social worker sets a pairing's visit frequency. Every write audited."""

from __future__ import annotations

from sqlalchemy import select

from backend.db import Database
from backend.people.models import Membership, Role
from backend.visits.models import ChecklistItem, MotherProfile, NeedArea, Pairing, Visit
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.photos_support import audit_actions
from tests.functional.visits_support import pairing_id_of


async def _items(database: Database, programme_id: int) -> list[ChecklistItem]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(ChecklistItem).where(ChecklistItem.programme_id == programme_id).order_by(ChecklistItem.id)
        )
        return list(rows)


async def test_staff_add_reword_and_retire_checklist_items_and_sent_visits_keep_their_words(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme = world.cast.programmes["mothers"].id
    staff = await client_as(personas.STAFF)
    page = await staff.get(f"/programmes/{programme}/checklist")
    assert page.status_code == 200 and page.text.count('id="reword-') == 20
    token = await csrf_token(staff)
    first = (await _items(database, programme))[0]
    async with database.transaction(read_only=True) as db:
        sent_with = await db.scalar(
            select(Visit).where(Visit.checklist.is_not(None)).order_by(Visit.id).limit(1)
        )
    assert sent_with is not None and first.label in sent_with.checklist

    added = await staff.post(
        f"/programmes/{programme}/checklist",
        data={"_csrf_token": token, "need_area": "social_integration", "label": "  一起去 关爱空间 画画 "},
    )
    assert added.status_code == 303
    reworded = await staff.post(
        f"/checklist/{first.id}", data={"_csrf_token": token, "label": "检查衣食住行是否安全"}
    )
    assert reworded.status_code == 303
    retired = await staff.post(f"/checklist/{first.id}/retire", data={"_csrf_token": token})
    assert retired.status_code == 303

    items = await _items(database, programme)
    assert items[-1].label == "一起去 关爱空间 画画" and items[-1].need_area is NeedArea.SOCIAL_INTEGRATION
    assert items[0].label == "检查衣食住行是否安全" and items[0].retired_at is not None
    async with database.transaction(read_only=True) as db:
        again = await db.get_one(Visit, sent_with.id)
    assert again.checklist == sent_with.checklist  # the visit keeps the words it was sent with
    for action in ("item_added", "item_reworded", "item_retired"):
        assert len(await audit_actions(database, f"visit_checklist.{action}")) == 1
    # The mother's form now offers the new words and not the retired item.
    mother = await client_as(personas.CARING_MOTHER)
    form = (await mother.get("/visits/new")).text
    assert "一起去 关爱空间 画画" in form and "检查衣食住行是否安全" not in form


async def test_a_bad_or_duplicate_checklist_item_is_refused_and_nothing_changes(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme = world.cast.programmes["mothers"].id
    staff = await client_as(personas.STAFF)
    token = await csrf_token(staff)
    before = [(i.label, i.retired_at) for i in await _items(database, programme)]
    url = f"/programmes/{programme}/checklist"
    empty = await staff.post(url, data={"_csrf_token": token, "need_area": "daily_life", "label": " "})
    assert empty.status_code == 400 and 'id="label-error"' in empty.text
    no_area = await staff.post(url, data={"_csrf_token": token, "need_area": "money", "label": "领取补贴"})
    assert no_area.status_code == 400 and 'id="need_area-error"' in no_area.text
    duplicate = await staff.post(
        url, data={"_csrf_token": token, "need_area": "daily_life", "label": before[1][0]}
    )
    assert duplicate.status_code == 409
    first, second = (await _items(database, programme))[:2]
    clash = await staff.post(f"/checklist/{first.id}", data={"_csrf_token": token, "label": second.label})
    assert clash.status_code == 409 and 'id="item-' in clash.text
    assert [(i.label, i.retired_at) for i in await _items(database, programme)] == before
    assert await audit_actions(database, "visit_checklist.item_added") == []


async def test_only_staff_keep_the_checklist(client_as: ClientAs, world: World, database: Database) -> None:
    programme = world.cast.programmes["mothers"].id
    item = (await _items(database, programme))[0]
    for handle, status in (
        (personas.SOCIAL_WORKER, 403),
        (personas.CARING_MOTHER, 403),
        (personas.NEIGHBOUR, 404),
        (personas.OUTSIDER, 404),
    ):
        browser = await client_as(handle)
        token = await csrf_token(browser)
        assert (await browser.get(f"/programmes/{programme}/checklist")).status_code == status, handle
        answer = await browser.post(f"/checklist/{item.id}/retire", data={"_csrf_token": token})
        assert answer.status_code == status, handle
    assert (await _items(database, programme))[0].retired_at is None


async def _profile(database: Database, world: World, handle: str) -> tuple[MotherProfile, Membership]:
    async with database.transaction(read_only=True) as db:
        profile = await db.scalar(select(MotherProfile).where(MotherProfile.user_id == world.user_id(handle)))
        membership = await db.scalar(
            select(Membership).where(
                Membership.user_id == world.user_id(handle), Membership.role == Role.CARING_MOTHER
            )
        )
    assert profile is not None and membership is not None
    return profile, membership


async def test_the_areas_social_worker_edits_a_mothers_profile_within_her_areas(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    mother_id = world.user_id(personas.CARING_MOTHER)
    page = await worker.get(f"/mothers/{mother_id}/profile")
    assert page.status_code == 200 and "绘本阅读" in page.text
    assert "荷塘社区" not in page.text  # another street's community is not hers to choose
    token = await csrf_token(worker)
    fields = {
        "_csrf_token": token,
        "area_id": str(world.cast.areas["songfeng"].id),
        "offer": ["daily_life", "social_integration"],
        "skills": "围棋社  心理咨询",
        "capacity": "2",
        "latitude": "31.23456",
        "longitude": "121.47",
        "status": "approved",
    }
    answer = await worker.post(f"/mothers/{mother_id}/profile", data=fields)
    assert answer.status_code == 303, answer.text
    profile, membership = await _profile(database, world, personas.CARING_MOTHER)
    assert (profile.offers, profile.skills, profile.capacity) == (
        ["daily_life", "social_integration"],
        "围棋社 心理咨询",
        2,
    )
    assert membership.area_id == world.cast.areas["songfeng"].id
    assert (profile.latitude, profile.longitude) == (31.235, 121.47)  # coarse: about 100 m
    events = await audit_actions(database, "mother_profile.set")
    assert events[-1].change["coordinates"] is True and "31.23" not in str(events[-1].change)
    assert len(await audit_actions(database, "mother_profile.area_changed")) == 1
    assert [e.actor_id for e in await audit_actions(database, "mother_profile.set")][-1] == world.user_id(
        personas.SOCIAL_WORKER
    )


async def test_a_refused_profile_edit_changes_nothing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    mother_id = world.user_id(personas.CARING_MOTHER)
    token = await csrf_token(worker)
    before = await _profile(database, world, personas.CARING_MOTHER)
    base = {"_csrf_token": token, "area_id": str(before[1].area_id), "offer": ["daily_life"], "skills": ""}
    for changes, field in (
        ({"capacity": "0"}, "capacity"),  # below one
        ({"capacity": "11"}, "capacity"),
        ({"capacity": "two"}, "capacity"),
        ({"capacity": "1", "area_id": str(world.cast.areas["hetang"].id)}, "area_id"),  # not her area
        ({"capacity": "1", "skills": "棋" * 201}, "skills"),
    ):
        answer = await worker.post(f"/mothers/{mother_id}/profile", data={**base, **changes})
        assert answer.status_code == 400 and f'id="{field}-error"' in answer.text, changes
    after = await _profile(database, world, personas.CARING_MOTHER)
    assert (after[0].offers, after[0].capacity, after[1].area_id) == (
        before[0].offers,
        before[0].capacity,
        before[1].area_id,
    )


async def test_capacity_cannot_go_below_the_children_she_has(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(personas.STAFF)
    zhang = world.user_id("demo-mother-zhang")  # two places, one taken (lele)
    _, membership = await _profile(database, world, "demo-mother-zhang")
    fields = {"_csrf_token": await csrf_token(staff), "area_id": str(membership.area_id), "capacity": "1"}
    assert (await staff.post(f"/mothers/{zhang}/profile", data=fields)).status_code == 303
    # Staff may; and one is her load, so one is allowed, but nothing lower.
    fields["capacity"] = "0"
    assert (await staff.post(f"/mothers/{zhang}/profile", data=fields)).status_code == 400
    assert (await _profile(database, world, "demo-mother-zhang"))[0].capacity == 1


async def test_who_may_open_a_mothers_profile(client_as: ClientAs, world: World) -> None:
    wang, zhang = world.user_id(personas.CARING_MOTHER), world.user_id("demo-mother-zhang")
    cases = [
        (personas.CARING_MOTHER, wang, 403),  # herself: she exists, but her workers keep the profile
        (personas.CARING_MOTHER, zhang, 404),
        (personas.SOCIAL_WORKER, zhang, 404),  # another street's mother
        (personas.OTHER_STREET_WORKER, zhang, 200),
        (personas.STAFF, zhang, 200),
        (personas.NEIGHBOUR, wang, 404),
        (personas.OUTSIDER, wang, 404),
    ]
    for handle, mother_id, status in cases:
        browser = await client_as(handle)
        assert (await browser.get(f"/mothers/{mother_id}/profile")).status_code == status, handle


async def test_the_areas_social_worker_sets_a_pairings_visit_frequency(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pairing_id = await pairing_id_of(database, world, "xiaoyu")
    worker = await client_as(personas.SOCIAL_WORKER)
    page = await worker.get(f"/pairings/{pairing_id}/frequency")
    assert page.status_code == 200 and 'value="30" checked' in page.text
    token = await csrf_token(worker)
    for bad in ("3", "365", "", "abc"):
        answer = await worker.post(
            f"/pairings/{pairing_id}/frequency", data={"_csrf_token": token, "days": bad}
        )
        assert answer.status_code == 400 and 'id="frequency-error"' in answer.text
    answer = await worker.post(f"/pairings/{pairing_id}/frequency", data={"_csrf_token": token, "days": "14"})
    assert answer.status_code == 303
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(Pairing, pairing_id)).visit_interval_days == 14
    events = await audit_actions(database, "pairing.frequency_set")
    assert [e.change for e in events] == [{"days": [30, 14]}]
    for handle, status in (
        (personas.STAFF, 403),
        (personas.CARING_MOTHER, 403),
        (personas.OTHER_STREET_WORKER, 404),
    ):
        browser = await client_as(handle)
        answer = await browser.post(
            f"/pairings/{pairing_id}/frequency", data={"_csrf_token": await csrf_token(browser), "days": "7"}
        )
        assert answer.status_code == status, handle
    match = await worker.get(f"/pairings/match/{world.person_id('xiaoyu')}")
    assert 'id="visit-frequency"' in match.text


async def test_staff_and_social_workers_reach_the_caring_mother_work_from_home(
    client_as: ClientAs, world: World
) -> None:
    staff = await client_as(personas.STAFF)
    assert 'id="caring-mothers-link"' in (await staff.get("/")).text
    hub = await staff.get("/caring-mothers")
    assert hub.status_code == 200 and "/checklist" in hub.text and "王秀英" in hub.text and "张丽" in hub.text
    worker = await client_as(personas.SOCIAL_WORKER)
    hub = await worker.get("/caring-mothers")
    assert "/checklist" not in hub.text and "王秀英" in hub.text and "张丽" not in hub.text
    for handle in (personas.CARING_MOTHER, personas.NEIGHBOUR):
        browser = await client_as(handle)
        assert 'id="caring-mothers-link"' not in (await browser.get("/")).text
        assert (await browser.get("/caring-mothers")).status_code == 403
