"""The people served, kept by their social worker: adding (a guardian, a child with consent, with and
without the paper's photo, a resident), the duplicate question, editing, moving, ending and resuming;
who may not; bad input refused beside the field with nothing stored."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from backend.db import Database
from backend.evidence.models import Photo
from backend.people.models import EndReason, Person, PersonKind
from backend.visits.models import ChildProfile
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.meals_support import meal_jpeg, shanghai_today


def _place(world: World, programme: str, area: str) -> str:
    return f"{world.cast.programmes[programme].id}:{world.cast.areas[area].id}"


async def _post(
    browser: httpx.AsyncClient, url: str, data: dict[str, str], photo: bytes | None = None
) -> httpx.Response:
    files = (
        {"consent_photo": ("paper.jpg", photo, "image/jpeg")} if photo else {"consent_photo": ("", b"", "")}
    )
    return await browser.post(url, data={**data, "_csrf_token": await csrf_token(browser)}, files=files)


def _child(world: World, **changes: str) -> dict[str, str]:
    fields = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "child",
        "place": _place(world, "mothers", "guiyuan"),
        "display_name": "周小雨",
        "birth_year": "2016",
        "guardian_name": "周建国",
        "referral_source": "school",
        "needs": "daily_life",
        "consent_on": shanghai_today().isoformat(),
        "consent_method": "signed_form",
    }
    fields.update(changes)
    return fields


async def _count(database: Database, model: type, *where: object) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _person_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/people/(\d+)", response.headers["location"])
    assert match is not None
    return int(match.group(1))


async def test_social_worker_adds_a_guardian_then_a_child_with_consent(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    page = await worker.get("/people/new")
    assert page.status_code == 200 and 'id="person-form"' in page.text and 'name="_csrf_token"' in page.text
    guardian_id = _person_id(
        await _post(
            worker,
            "/people",
            {"kind": "guardian", "place": _place(world, "mothers", "guiyuan"), "display_name": "赵桂兰"},
        )
    )
    # The guardian is found by her initials on the same form, the typed name kept.
    found = await worker.get(
        "/people/new", params={"kind": "child", "display_name": "孙小明", "guardian_q": "zgl"}
    )
    assert f'name="guardian_id" value="{guardian_id}"' in found.text and 'value="孙小明"' in found.text
    child_id = _person_id(
        await _post(
            worker,
            "/people",
            _child(world, display_name="孙小明", guardian_name="", guardian_id=str(guardian_id)),
        )
    )
    async with database.transaction(read_only=True) as db:
        child = await db.get_one(Person, child_id)
        profile = await db.get_one(ChildProfile, child_id)
    assert child.kind is PersonKind.CHILD and child.guardian_id == guardian_id
    assert profile.consent_by_id == guardian_id and profile.consent_method is not None
    detail = await worker.get(f"/people/{child_id}")
    assert 'id="edit-link"' in detail.text and 'id="end-link"' in detail.text


async def test_a_child_with_a_new_guardian_and_the_signed_paper_photo(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    photos_before = await _count(database, Photo)
    child_id = _person_id(await _post(worker, "/people", _child(world), photo=meal_jpeg(7)))
    async with database.transaction(read_only=True) as db:
        child = await db.get_one(Person, child_id)
        guardian = await db.get_one(Person, child.guardian_id or 0)
        paper = await db.scalar(select(Photo).where(Photo.subject_person_id == child_id))
    assert guardian.display_name == "周建国" and guardian.kind is PersonKind.GUARDIAN
    assert paper is not None and paper.area_id == child.area_id
    assert await _count(database, Photo) == photos_before + 1


async def test_a_refused_child_leaves_no_photo_behind(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    photos, people = await _count(database, Photo), await _count(database, Person)
    # Under 14 without consent: the service refuses, after the form looked fine.
    response = await _post(
        worker, "/people", _child(world, consent_on="", consent_method=""), photo=meal_jpeg(8)
    )
    assert response.status_code == 422 and 'id="consent-error"' in response.text
    assert await _count(database, Photo) == photos and await _count(database, Person) == people


async def test_a_resident_and_the_duplicate_question(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    fields = {
        "kind": "resident",
        "place": _place(world, "meals", "songfeng"),
        "display_name": "吴老伯",
        "birth_year": "1940",
    }
    first = _person_id(await _post(worker, "/people", fields))
    again = await _post(worker, "/people", fields)
    assert again.status_code == 409 and 'id="add-anyway-form"' in again.text
    assert f'href="/people/{first}"' in again.text
    assert await _count(database, Person, Person.display_name == "吴老伯") == 1
    second = _person_id(await _post(worker, "/people", {**fields, "confirmed": "1"}))
    assert second != first and await _count(database, Person, Person.display_name == "吴老伯") == 2
    # A child cannot be put in the meal programme.
    wrong = await _post(worker, "/people", _child(world, place=_place(world, "meals", "songfeng")))
    assert wrong.status_code == 400 and 'id="place-error"' in wrong.text


async def test_edit_move_end_and_resume(client_as: ClientAs, world: World, database: Database) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    qian = world.person_id("qian")
    edit = await worker.get(f"/people/{qian}/edit")
    assert edit.status_code == 200 and 'id="move"' in edit.text
    token = await csrf_token(worker)
    saved = await worker.post(
        f"/people/{qian}/edit",
        data={
            "display_name": "钱老伯伯",
            "birth_year": "1941",
            "reference": "QX-001",
            "note": "",
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 303
    area_before = world.cast.people["qian"].area_id
    target = world.cast.areas["guiyuan" if area_before != world.cast.areas["guiyuan"].id else "songfeng"].id
    outside = await worker.post(
        f"/people/{qian}/move", data={"area_id": str(world.cast.areas["hetang"].id), "_csrf_token": token}
    )
    assert outside.status_code == 403
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(Person, qian)).area_id == area_before
    moved = await worker.post(f"/people/{qian}/move", data={"area_id": str(target), "_csrf_token": token})
    assert moved.status_code == 303
    ended = await worker.post(f"/people/{qian}/end", data={"reason": "moved_away", "_csrf_token": token})
    assert ended.status_code == 303
    async with database.transaction(read_only=True) as db:
        person = await db.get_one(Person, qian)
    assert (person.display_name, person.birth_year, person.reference, person.area_id) == (
        "钱老伯伯",
        1941,
        "QX-001",
        target,
    )
    assert person.end_reason is EndReason.MOVED_AWAY
    # Ended: still on the person page and in the "ended" list, gone from the current one.
    assert (await worker.get(f"/people/{qian}")).status_code == 200
    assert f'id="person-{qian}"' not in (await worker.get("/people", params={"q": "钱"})).text
    assert f'id="person-{qian}"' in (await worker.get("/people", params={"q": "钱", "status": "ended"})).text
    twice = await worker.post(f"/people/{qian}/end", data={"reason": "died", "_csrf_token": token})
    assert twice.status_code in (400, 409)
    resumed = await worker.post(f"/people/{qian}/resume", data={"_csrf_token": token})
    assert resumed.status_code == 303
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(Person, qian)).ended_at is None


async def test_an_ended_resident_is_not_offered_for_a_new_agreement(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    resident = _person_id(
        await _post(
            worker,
            "/people",
            {
                "kind": "resident",
                "place": _place(world, "meals", "guiyuan"),
                "display_name": "冯老太",
                "birth_year": "1938",
            },
        )
    )
    # The picker is a search that keeps what was typed in the rest of the form.
    offered = await worker.get(
        "/meals/agreements/new", params={"resident_q": "冯老太", "rate_fen": "1600", "ends_on": "2027-01-31"}
    )
    assert f'name="resident_id" value="{resident}"' in offered.text
    assert 'value="1600"' in offered.text and 'value="2027-01-31"' in offered.text
    assert f'value="{world.person_id("qian")}"' not in offered.text
    await worker.post(
        f"/people/{resident}/end", data={"reason": "died", "_csrf_token": await csrf_token(worker)}
    )
    offered = await worker.get("/meals/agreements/new", params={"resident_q": "冯老太"})
    assert f'value="{resident}"' not in offered.text


@pytest.mark.parametrize("persona", [personas.CARING_MOTHER, personas.NEIGHBOUR])
async def test_mothers_and_neighbours_may_not_keep_people(
    client_as: ClientAs, world: World, database: Database, persona: str
) -> None:
    browser = await client_as(persona)
    own = world.person_id("xiaoyu" if persona == personas.CARING_MOTHER else "qian")
    for url in ("/people", "/people/users", "/people/new", f"/people/{own}/edit"):
        assert (await browser.get(url)).status_code in (403, 404), url
    token = await csrf_token(browser)
    people = await _count(database, Person)
    assert (
        await browser.post("/people", data={"kind": "guardian", "display_name": "x", "_csrf_token": token})
    ).status_code == 403
    for action in ("end", "resume", "move", "edit"):
        response = await browser.post(
            f"/people/{own}/{action}", data={"reason": "died", "_csrf_token": token}
        )
        assert response.status_code in (403, 404), action
    assert await _count(database, Person) == people
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(Person, own)).ended_at is None


async def test_another_areas_worker_finds_nothing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    other = await client_as(personas.OTHER_STREET_WORKER)
    qian = world.person_id("qian")
    assert (await other.get(f"/people/{qian}/edit")).status_code == 404
    token = await csrf_token(other)
    assert (
        await other.post(f"/people/{qian}/end", data={"reason": "died", "_csrf_token": token})
    ).status_code == 404
    assert f'id="person-{qian}"' not in (await other.get("/people", params={"status": "all"})).text
    # She cannot add someone into Wutong either.
    response = await _post(
        other,
        "/people",
        {"kind": "resident", "place": _place(world, "meals", "songfeng"), "display_name": "某人"},
    )
    assert response.status_code == 400 and 'id="place-error"' in response.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "名" * 5000}, "display_name"),
        ({"birth_year": "1800"}, "birth_year"),
        ({"birth_year": str(shanghai_today().year + 1)}, "birth_year"),
        ({"guardian_name": "", "guardian_id": ""}, "guardian"),
    ],
)
async def test_bad_input_is_refused_beside_the_field(
    client_as: ClientAs, world: World, database: Database, changes: dict[str, str], field: str
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    people = await _count(database, Person)
    response = await _post(worker, "/people", _child(world, **changes))
    assert response.status_code in (400, 422) and f'id="{field}-error"' in response.text
    assert await _count(database, Person) == people
    qian = world.person_id("qian")
    if field in ("display_name", "birth_year"):
        edit = await worker.post(
            f"/people/{qian}/edit",
            data={"display_name": "钱老伯", **changes, "_csrf_token": await csrf_token(worker)},
        )
        assert edit.status_code in (400, 422) and f'id="{field}-error"' in edit.text


async def test_users_list_is_scoped(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    page = await worker.get("/people/users", params={"status": "all"})
    assert page.status_code == 200
    assert f'id="user-{world.user_id(personas.CARING_MOTHER)}"' in page.text
    assert f'id="user-{world.user_id(personas.OUTSIDER)}"' not in page.text
    # Each row opens the user's page (people.user).
    assert f'href="/users/{world.user_id(personas.CARING_MOTHER)}"' in page.text
    assert (await worker.get("/people/users", params={"q": "wxy", "status": "all"})).text.count(
        'id="user-'
    ) >= 1
    staff = await client_as(personas.STAFF)
    assert f'id="user-{world.user_id(personas.SOCIAL_WORKER)}"' in (await staff.get("/people/users")).text
