"""The review queue: who reviews what, the decisions and their rules, bulk approval with its sample,
and the loop back to the sender's phone. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from backend import clock
from backend.audit import AuditEvent
from backend.db import Database
from backend.errors import Forbidden
from backend.meals.models import CheckIn, CheckInStatus, FlagCode
from backend.people.models import User
from backend.verification.models import Decision
from backend.verification.service import ReviewRefused, do_bulk_approve, do_review, sample_size
from backend.visits.models import VisitStatus
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.meals_support import (
    agreement_of,
    at,
    close_month,
    make_checkin,
    meal_jpeg,
    put_checkin,
    put_photo,
)
from tests.functional.review_support import (
    card_order,
    clean_meal,
    current_versions,
    decide,
    load_checkin,
    load_visit_row,
    past_days,
    sent_visit,
)


async def test_social_worker_approves_a_meal_with_one_tap_and_it_is_audited(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=1)
    worker = await client_as(personas.SOCIAL_WORKER)
    queue = await worker.get("/review")
    assert queue.status_code == 200 and f'id="card-meal-{meal.id}"' in queue.text
    response = await decide(worker, "meal", meal.id, "approve", **{"from": "queue"})
    assert response.status_code == 303
    stored = await load_checkin(database, meal.id)
    assert stored.status is CheckInStatus.APPROVED
    assert stored.reviewed_by_id == world.user_id(personas.SOCIAL_WORKER) and stored.reviewed_at is not None
    async with database.transaction(read_only=True) as db:
        event = await db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "meal_checkin.reviewed", AuditEvent.subject_id == str(meal.id)
            )
        )
    assert event is not None and event.change["status"] == ["pending", "approved"]
    assert f'id="card-meal-{meal.id}"' not in (await worker.get("/review")).text


async def test_htmx_decision_swaps_only_the_card(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=2)
    worker = await client_as(personas.SOCIAL_WORKER)
    response = await worker.post(
        f"/review/meal/{meal.id}",
        data={"decision": "approve", "from": "queue"},
        headers={"hx-request": "true", "x-csrftoken": await csrf_token(worker)},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<li") and "<html" not in response.text
    assert f'id="card-meal-{meal.id}"' in response.text and "已通过" in response.text


async def test_queue_puts_flagged_entries_first_then_the_oldest_across_meals_and_visits(
    client_as: ClientAs, world: World, database: Database
) -> None:
    old, newer = past_days(2, start_back=2)[::-1]
    first = await clean_meal(database, world, old, seed=3)
    second = await clean_meal(database, world, newer, seed=4)
    agreement = await agreement_of(database, world.person_id("zheng"))
    late_day = past_days(1, start_back=5)[0]
    flagged = await make_checkin(database, agreement, late_day, seed=5, captured_at=at(late_day, 6))
    assert (await load_checkin(database, flagged.id)).status is CheckInStatus.PENDING
    mother = await client_as(personas.CARING_MOTHER)
    visit_id = await sent_visit(mother, database, world)
    order = card_order((await (await client_as(personas.SOCIAL_WORKER)).get("/review")).text)
    assert (
        order.index(f"meal-{flagged.id}") < order.index(f"meal-{first.id}") < order.index(f"meal-{second.id}")
    )
    assert order.index(f"meal-{second.id}") < order.index(f"visit-{visit_id}")  # sent later than the meals


async def test_needs_fix_and_reject_need_a_reason_and_other_needs_words(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=6)
    worker = await client_as(personas.SOCIAL_WORKER)
    no_reason = await decide(worker, "meal", meal.id, "needs_fix")
    assert no_reason.status_code == 422 and "请选择原因" in no_reason.text
    other = await decide(worker, "meal", meal.id, "reject", reason="other", note="  ")
    assert other.status_code == 422 and "请简单说明" in other.text
    bad = await decide(worker, "meal", meal.id, "approved", reason="nonsense")
    assert bad.status_code == 422
    too_long = await decide(worker, "meal", meal.id, "reject", reason="other", note="字" * 501)
    assert too_long.status_code == 422
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.PENDING


async def test_a_decided_entry_cannot_be_decided_again(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=7)
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await decide(worker, "meal", meal.id, "reject", reason="not_delivered")).status_code == 303
    again = await decide(worker, "meal", meal.id, "approve")
    assert again.status_code == 409
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.REJECTED


async def test_who_may_review_matches_the_area_and_never_the_sender(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=8)
    neighbour = await client_as(personas.NEIGHBOUR)
    assert (await neighbour.get("/review")).status_code == 403
    assert (
        await decide(neighbour, "meal", meal.id, "approve")
    ).status_code == 403  # hers: seen, not reviewed
    assert (
        await decide(await client_as(personas.OTHER_NEIGHBOUR), "meal", meal.id, "approve")
    ).status_code == 404
    assert (await decide(await client_as(personas.OUTSIDER), "meal", meal.id, "approve")).status_code == 404
    assert (
        await decide(await client_as(personas.OTHER_STREET_WORKER), "meal", meal.id, "approve")
    ).status_code == 404
    assert (await decide(await client_as(personas.STAFF), "meal", meal.id, "approve")).status_code == 403
    assert (await (await client_as(personas.OUTSIDER)).get(f"/review/meal/{meal.id}")).status_code == 404
    assert (await (await client_as(personas.SOCIAL_WORKER)).get("/review/nonsense/1")).status_code == 404
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.PENDING


async def test_a_worker_cannot_approve_her_own_entry(world: World, database: Database) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=9)
    async with database.transaction() as db:
        entry = await db.get_one(CheckIn, meal.id)
        sender = await db.get_one(User, meal.neighbour_id)
        with pytest.raises(Forbidden):
            await do_review(db, entry, decision=Decision.APPROVE, reason=None, note=None, actor=sender)
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.PENDING


async def test_a_review_into_a_closed_month_is_refused_by_the_app_and_by_the_database(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=10)
    await close_month(database, meal.programme_id, meal.day)
    worker = await client_as(personas.SOCIAL_WORKER)
    response = await decide(worker, "meal", meal.id, "approve")
    assert response.status_code == 409 and "本月已结算" in response.text
    with pytest.raises(Exception, match="closed"):
        async with database.transaction() as db:
            await db.execute(
                text("UPDATE meal_checkin SET status = 'approved' WHERE id = :id"), {"id": meal.id}
            )
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.PENDING


async def test_the_navigation_shows_the_reviewers_pending_count(
    client_as: ClientAs, world: World, database: Database
) -> None:
    for n, day in enumerate(past_days(3)):
        await clean_meal(database, world, day, seed=20 + n)
    worker = await client_as(personas.SOCIAL_WORKER)
    home = (await worker.get("/")).text
    badge = re.search(r'id="nav-review"[^>]*>[^<]*<span class="badge"[^>]*>(\d+)</span>', home)
    assert badge is not None and int(badge.group(1)) >= 3
    queue_total = re.search(
        r"<h1>[^<]*<span class=\"muted\">\((\d+)\)</span>", (await worker.get("/review")).text
    )
    assert queue_total is not None and queue_total.group(1) == badge.group(1)
    assert 'id="nav-review"' not in (await (await client_as(personas.NEIGHBOUR)).get("/")).text


async def test_bulk_approval_takes_unflagged_entries_only_and_holds_back_a_sample(
    client_as: ClientAs, world: World, database: Database
) -> None:
    clean = [await clean_meal(database, world, day, seed=40 + n) for n, day in enumerate(past_days(10))]
    agreement = await agreement_of(database, world.person_id("zheng"))
    day = past_days(1)[0]
    flagged = await make_checkin(database, agreement, day, seed=60, captured_at=at(day, 6))
    worker = await client_as(personas.SOCIAL_WORKER)
    refs = [f"meal-{c.id}" for c in clean] + [f"meal-{flagged.id}", "meal-999999", "visit-x", "../etc"]
    response = await worker.post(
        "/review/bulk-approve", data={"_csrf_token": await csrf_token(worker), "entry": refs}
    )
    assert response.status_code == 303 and "approved=9" in response.headers["location"]
    assert "sampled=1" in response.headers["location"]
    statuses = [await load_checkin(database, c.id) for c in clean]
    held = [c for c in statuses if c.status is CheckInStatus.PENDING]
    assert len(held) == 1 and held[0].sampled_at is not None
    assert (await load_checkin(database, flagged.id)).status is CheckInStatus.PENDING
    # The sample cannot be bulk-approved again: it must be opened and decided on its own.
    again = await worker.post(
        "/review/bulk-approve",
        data={"_csrf_token": await csrf_token(worker), "entry": [f"meal-{held[0].id}"]},
    )
    assert "approved=0" in again.headers["location"]
    page = (await worker.get("/review")).text
    card = page[page.index(f'id="card-meal-{held[0].id}"') :]
    assert "随机抽查" in card[:4000] and f'href="/review/meal/{held[0].id}"' in card[:4000]
    assert (await worker.get(f"/review/meal/{held[0].id}")).status_code == 200
    assert (await decide(worker, "meal", held[0].id, "approve")).status_code == 303


async def test_bulk_approval_ignores_entries_outside_the_reviewers_areas(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=70)
    outsider = await client_as(personas.OUTSIDER)
    response = await outsider.post(
        "/review/bulk-approve", data={"_csrf_token": await csrf_token(outsider), "entry": [f"meal-{meal.id}"]}
    )
    assert response.status_code == 303 and "approved=0" in response.headers["location"]
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.PENDING


def test_the_sample_is_at_least_one_and_never_more_than_asked() -> None:
    assert [sample_size(n, 10) for n in (0, 1, 5, 10, 11, 100)] == [0, 1, 1, 1, 2, 10]
    assert sample_size(50, 0) == 0 and sample_size(3, 100) == 3


async def test_bulk_approval_with_sampling_off_approves_every_unflagged_entry(
    world: World, database: Database
) -> None:
    meals = [await clean_meal(database, world, day, seed=80 + n) for n, day in enumerate(past_days(4))]
    async with database.transaction() as db:
        entries = [await db.get_one(CheckIn, m.id, options=[]) for m in meals]
        for entry in entries:
            await db.refresh(entry, ["flags", "photo_links"])
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        result = await do_bulk_approve(db, entries, actor=worker, sample_percent=0, rng=random.Random(1))
    assert len(result.approved) == 4 and not result.sampled


async def test_needs_fix_reaches_the_neighbours_phone_and_her_fix_is_a_new_linked_version(
    client_as: ClientAs, world: World, database: Database
) -> None:
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=90)
    worker = await client_as(personas.SOCIAL_WORKER)
    sent_back = await decide(
        worker, "meal", meal.id, "needs_fix", reason="dishes_mismatch", note="照片里没有鱼"
    )
    assert sent_back.status_code == 303
    neighbour = await client_as(personas.NEIGHBOUR)
    home = (await neighbour.get("/")).text
    assert "退回给您补正" in home and "菜品与照片不符" in home and "照片里没有鱼" in home
    assert f'href="/meals/checkins/{meal.id}/fix"' in home
    history = (await neighbour.get(f"/meals/history?month={day:%Y-%m}")).text
    assert "菜品与照片不符" in history
    form = await neighbour.get(f"/meals/checkins/{meal.id}/fix")
    assert form.status_code == 200 and "照片里没有鱼" in form.text
    client_uuid = str(uuid.uuid4())
    fields = {
        "_csrf_token": await csrf_token(neighbour),
        "client_uuid": client_uuid,
        "slot": "lunch",
        "day": day.isoformat(),
        "dish": ["米饭", "青菜"],
        "extra_dishes": "红烧鱼",
    }
    fixed = await neighbour.post(f"/meals/checkins/{meal.id}/fix", data=fields)
    assert fixed.status_code == 303, fixed.text
    twice = await neighbour.post(f"/meals/checkins/{meal.id}/fix", data=fields)
    assert twice.status_code == 303 and twice.headers["location"] == fixed.headers["location"]
    versions = await current_versions(database, meal.agreement_id, day)
    assert len(versions) == 2
    old, new = versions
    assert old.superseded_at is not None and old.status is CheckInStatus.NEEDS_FIX
    assert new.replaces_id == old.id and new.status is CheckInStatus.PENDING and "红烧鱼" in new.dishes
    async with database.transaction(read_only=True) as db:
        loaded = await db.get_one(CheckIn, new.id)
        await db.refresh(loaded, ["flags", "photo_links"])
        previous = await db.get_one(CheckIn, old.id)
        await db.refresh(previous, ["photo_links"])
        kept = [link.photo_id for link in previous.photo_links]
        assert [link.photo_id for link in loaded.photo_links] == kept
        assert not loaded.has_flag(FlagCode.PHOTO_REUSED)  # her own photo, kept: not a reuse
        assert not loaded.has_flag(FlagCode.LATE)
    assert "退回给您补正" not in (await neighbour.get("/")).text
    queue = (await worker.get("/review")).text
    assert f"card-meal-{new.id}" in queue and f"card-meal-{old.id}" not in queue
    assert (await decide(worker, "meal", new.id, "approve")).status_code == 303
    assert (await neighbour.get(f"/meals/checkins/{meal.id}/fix")).status_code == 409


async def test_a_fix_through_the_api_names_the_version_it_replaces(
    client_as: ClientAs, world: World, database: Database
) -> None:
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=100)
    other = await clean_meal(database, world, past_days(1, start_back=2)[0], seed=101)
    worker = await client_as(personas.SOCIAL_WORKER)
    await decide(worker, "meal", meal.id, "needs_fix", reason="photo_unclear")
    neighbour = await client_as(personas.NEIGHBOUR)
    photo = await put_photo(neighbour, meal_jpeg(102), world.person_id("qian"))
    body = {
        "agreement_id": meal.agreement_id,
        "slot": "lunch",
        "day": day.isoformat(),
        "dishes": ["米饭"],
        "photo_uuids": [str(photo)],
        "replaces_id": meal.id,
    }
    client_uuid = uuid.uuid4()
    first = await put_checkin(neighbour, body, client_uuid)
    assert first.status_code == 201 and first.json()["replaces_id"] == meal.id
    assert (await put_checkin(neighbour, body, client_uuid)).status_code == 200
    assert (await put_checkin(neighbour, body)).status_code == 409  # already fixed
    not_sent_back = await put_checkin(
        neighbour, {**body, "day": other.day.isoformat(), "replaces_id": other.id}
    )
    assert not_sent_back.status_code == 409
    theirs = await put_checkin(await client_as(personas.OTHER_NEIGHBOUR), {**body, "replaces_id": meal.id})
    assert theirs.status_code in (403, 404)
    assert (await put_checkin(neighbour, {**body, "replaces_id": -3})).status_code == 400


async def test_fixes_sent_from_two_phones_at_once_make_one_new_version(
    client_as: ClientAs, world: World, database: Database
) -> None:
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=110)
    await decide(
        await client_as(personas.SOCIAL_WORKER), "meal", meal.id, "needs_fix", reason="photo_unclear"
    )
    neighbour = await client_as(personas.NEIGHBOUR)
    photo = await put_photo(neighbour, meal_jpeg(111), world.person_id("qian"))
    body = {
        "agreement_id": meal.agreement_id,
        "slot": "lunch",
        "day": day.isoformat(),
        "dishes": ["米饭"],
        "photo_uuids": [str(photo)],
        "replaces_id": meal.id,
    }
    responses = await asyncio.gather(*[put_checkin(neighbour, body) for _ in range(4)])
    assert sorted(r.status_code for r in responses).count(201) == 1, [r.text for r in responses]
    assert all(r.status_code in (201, 409) for r in responses)
    assert len(await current_versions(database, meal.agreement_id, day)) == 2


async def test_a_visit_sent_back_reaches_the_mother_and_her_correction_is_a_new_version(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    visit_id = await sent_visit(mother, database, world)
    worker = await client_as(personas.SOCIAL_WORKER)
    page = await worker.get(f"/review/visit/{visit_id}")
    assert page.status_code == 200 and "需求领域" in page.text
    response = await decide(
        worker, "visit", visit_id, "needs_fix", reason="details_missing", note="请写明做了什么"
    )
    assert response.status_code == 303
    stored = await load_visit_row(database, visit_id)
    assert stored.status is VisitStatus.NEEDS_FIX and stored.review_note == "请写明做了什么"
    home = (await mother.get("/")).text
    assert "请写明做了什么" in home and f'href="/visits/{visit_id}/correct"' in home
    other_mother = await client_as(personas.OTHER_MOTHER)
    assert "请写明做了什么" not in (await other_mother.get("/")).text
    assert (await decide(other_mother, "visit", visit_id, "approve")).status_code == 404
    assert "请写明做了什么" in (await mother.get(f"/visits/{visit_id}")).text
    fields = {
        "_csrf_token": await csrf_token(mother),
        "client_uuid": str(uuid.uuid4()),
        "visited_at": (clock.utcnow() + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "60",
        "need_area": ["daily_life"],
        "note": "一起读了绘本，整理了书包。",
    }
    corrected = await mother.post(f"/visits/{visit_id}/correct", data=fields)
    assert corrected.status_code == 303, corrected.text
    new_id = int(re.search(r"/visits/(\d+)", corrected.headers["location"]).group(1))  # type: ignore[union-attr]
    assert new_id != visit_id
    new = await load_visit_row(database, new_id)
    assert new.replaces_id == visit_id and new.status is VisitStatus.PENDING
    assert (await load_visit_row(database, visit_id)).superseded_at is not None
    queue = (await worker.get("/review")).text
    assert f"card-visit-{new_id}" in queue and f"card-visit-{visit_id}" not in queue
    assert "请写明做了什么" not in (await mother.get("/")).text


async def test_an_approved_visit_leaves_the_queue(
    client_as: ClientAs, world: World, database: Database
) -> None:
    visit_id = await sent_visit(await client_as(personas.CARING_MOTHER), database, world)
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await decide(worker, "visit", visit_id, "approve")).status_code == 303
    assert (await load_visit_row(database, visit_id)).status is VisitStatus.APPROVED
    assert f"card-visit-{visit_id}" not in (await worker.get("/review")).text


async def test_review_refusals_leave_nothing_half_written(world: World, database: Database) -> None:
    meal = await clean_meal(database, world, past_days(1)[0], seed=120)
    async with database.transaction() as db:
        events = await db.scalar(select(func.count(AuditEvent.id)))

    async def refused_rejection() -> None:
        async with database.transaction() as db:
            entry = await db.get_one(CheckIn, meal.id)
            worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
            await do_review(db, entry, decision=Decision.REJECT, reason=None, note=None, actor=worker)

    with pytest.raises(ReviewRefused):
        await refused_rejection()
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(AuditEvent.id))) == events
    assert (await load_checkin(database, meal.id)).reviewed_at is None


async def test_bulk_approval_with_nothing_ticked_says_so(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    response = await worker.post("/review/bulk-approve", data={"_csrf_token": await csrf_token(worker)})
    assert response.status_code == 303
    page = await worker.get(response.headers["location"])
    assert "请先勾选要通过的记录" in page.text


async def test_a_card_shows_the_same_residents_photos_of_the_seven_days_before(
    client_as: ClientAs, world: World, database: Database
) -> None:
    newer, older = past_days(2)
    first = await clean_meal(database, world, older, seed=130)
    second = await clean_meal(database, world, newer, seed=131)
    page = (await (await client_as(personas.SOCIAL_WORKER)).get(f"/review/meal/{second.id}")).text
    recent = page[page.index('class="review-recent"') :]
    async with database.transaction(read_only=True) as db:
        loaded = await db.get_one(CheckIn, first.id)
        await db.refresh(loaded, ["photo_links"])
        photo_id = loaded.photo_links[0].photo_id
    assert f"/photos/{photo_id}/thumb" in recent[:3000]


async def test_the_queue_pages_through_every_entry_once_in_order_and_counts_them(
    world: World, database: Database
) -> None:
    """Paging binds its offset and limit into a statement built once per reviewer: every entry appears
    on exactly one page, in queue order, each page carries the total, and past the end the total
    is still counted."""
    from backend.verification.queue import load_queue
    from tests.functional.settlement_support import principal_of

    for n, day in enumerate(past_days(5, start_back=2)):
        await clean_meal(database, world, day, seed=400 + n)
    worker = await principal_of(database, world.user_id(personas.SOCIAL_WORKER))
    async with database.transaction(read_only=True) as db:
        whole = await load_queue(db, worker, limit=100)
        seen: list[str] = []
        for offset in range(0, whole.total, 2):
            page = await load_queue(db, worker, offset=offset, limit=2)
            assert page.total == whole.total
            seen.extend(card.ref for card in page.cards)
        beyond = await load_queue(db, worker, offset=whole.total + 10, limit=2)
    assert whole.total >= 5
    assert seen == [card.ref for card in whole.cards]
    assert beyond.cards == [] and beyond.total == whole.total and beyond.next_offset is None


async def test_a_stale_total_remembered_for_the_queue_never_changes_a_page(
    world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a reviewer's total is known, her next page is read with the total counted in the same
    statement, the way to read it chosen by the total remembered from before. Whatever that total
    says (far too many, far too few, none), the page and the total are what a fresh count gives."""
    from backend.verification import queue
    from backend.verification.queue import _scope, load_queue
    from tests.functional.settlement_support import principal_of

    for n, day in enumerate(past_days(5, start_back=2)):
        await clean_meal(database, world, day, seed=440 + n)
    worker = await principal_of(database, world.user_id(personas.SOCIAL_WORKER))

    async def pages() -> list[tuple[int, list[str]]]:
        async with database.transaction(read_only=True) as db:
            return [
                (
                    (page := await load_queue(db, worker, offset=offset, limit=2)).total,
                    [c.ref for c in page.cards],
                )
                for offset in (0, 2, 4, 50)
            ]

    monkeypatch.setattr(queue, "_LAST_TOTALS", {})
    fresh = await pages()  # the first page counts on its own; the later ones count along
    assert fresh[0][0] >= 5 and fresh[-1][1] == []
    assert await pages() == fresh
    for remembered in (0, 1, 3, 10**6):
        queue._LAST_TOTALS[_scope(worker), None] = remembered
        assert await pages() == fresh, f"remembered total {remembered}"


async def test_the_queue_statements_are_shared_by_sessions_but_never_across_grants(
    world: World, database: Database
) -> None:
    """The queue's statements are cached per reviewer: every session of hers shares them, and one
    with other grants (a membership ended since) gets its own, scoped by what she holds now."""
    from dataclasses import replace

    from backend.verification.queue import _page, _scope, load_queue
    from tests.functional.settlement_support import principal_of

    await clean_meal(database, world, past_days(1, start_back=2)[0], seed=420)
    worker = await principal_of(database, world.user_id(personas.SOCIAL_WORKER))
    other_session = replace(worker, session_id=worker.session_id + 1, locale="en")
    assert _page(_scope(worker), None, False, True) is _page(_scope(other_session), None, False, True)
    stripped = replace(worker, grants=())
    assert _page(_scope(stripped), None, False, True) is not _page(_scope(worker), None, False, True)
    async with database.transaction(read_only=True) as db:
        assert (await load_queue(db, worker)).total >= 1
        emptied = await load_queue(db, stripped)
    assert emptied.total == 0 and emptied.cards == []


async def test_the_queue_reads_the_same_order_along_its_index_as_by_sorting_and_flags_agree(
    client_as: ClientAs, world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is read along the order index when the scope holds many entries, and sorted otherwise
    (migration 0014): both give the same entries in the same order on every page. The stored `flagged`
    column that orders it agrees with the rule for every pending entry: a meal's flags, a visit's
    reused photo, a bulk approval's sample."""
    from backend.verification import queue
    from backend.verification.models import EntryKind
    from backend.verification.queue import load_queue, load_reviewable
    from backend.verification.service import is_flagged
    from tests.functional.settlement_support import principal_of

    clean = [await clean_meal(database, world, day, seed=500 + n) for n, day in enumerate(past_days(6))]
    agreement = await agreement_of(database, world.person_id("zheng"))
    late = past_days(2, start_back=8)
    flagged = [
        await make_checkin(database, agreement, day, seed=520 + n, captured_at=at(day, 6))
        for n, day in enumerate(late)
    ]
    visit_id = await sent_visit(await client_as(personas.CARING_MOTHER), database, world)
    worker = await principal_of(database, world.user_id(personas.SOCIAL_WORKER))
    async with database.transaction() as db:
        entries = await load_reviewable(db, worker, [(EntryKind.MEAL, c.id) for c in clean[:3]])
        await do_bulk_approve(db, entries, actor=worker, sample_percent=50, rng=random.Random(3))

    async def read(walk_from: int, limit: int) -> list[str]:
        monkeypatch.setattr(queue, "WALK_FROM", walk_from)
        refs: list[str] = []
        async with database.transaction(read_only=True) as db:
            offset = 0
            while True:
                page = await load_queue(db, worker, offset=offset, limit=limit)
                refs.extend(card.ref for card in page.cards)
                if page.next_offset is None:
                    return refs
                offset = page.next_offset

    sorted_order = await read(10**6, 100)
    assert f"visit-{visit_id}" in sorted_order and len(sorted_order) >= len(clean) + len(flagged) + 1
    for limit in (1, 2, 3, 100):
        assert await read(0, limit) == sorted_order, f"walked in pages of {limit}"
        assert await read(10**6, limit) == sorted_order, f"sorted in pages of {limit}"
    async with database.transaction(read_only=True) as db:
        refs = [(EntryKind(ref.split("-")[0]), int(ref.split("-")[1])) for ref in sorted_order]
        pending = await load_reviewable(db, worker, refs)
        assert {entry.flagged for entry in pending} == {True, False}
        assert all(entry.flagged == is_flagged(entry) for entry in pending)
        first = [e for e in pending if e.flagged]
    assert {f"meal-{c.id}" for c in flagged} <= {f"meal-{e.id}" for e in first}
    assert set(sorted_order[: len(first)]) == {f"meal-{e.id}" for e in first}  # flagged ones lead


async def test_a_fix_with_a_new_photo_is_a_new_version_with_that_photo_and_the_old_one_kept(
    client_as: ClientAs, world: World, database: Database
) -> None:
    # The most common fix ("照片不清楚": take it again) answered 500 once; the tests only kept the photo.
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=130)
    worker = await client_as(personas.SOCIAL_WORKER)
    sent_back = await decide(worker, "meal", meal.id, "needs_fix", reason="photo_unclear", note="照片不清楚")
    assert sent_back.status_code == 303
    neighbour = await client_as(personas.NEIGHBOUR)
    fields = {
        "_csrf_token": await csrf_token(neighbour),
        "client_uuid": str(uuid.uuid4()),
        "photo_uuid": str(uuid.uuid4()),
        "dish": ["米饭", "青菜"],
    }
    photo = meal_jpeg(131, captured=at(day, 11, 50))
    fixed = await neighbour.post(
        f"/meals/checkins/{meal.id}/fix", data=fields, files={"photo": ("new.jpg", photo, "image/jpeg")}
    )
    assert fixed.status_code == 303, fixed.text
    again = await neighbour.post(
        f"/meals/checkins/{meal.id}/fix", data=fields, files={"photo": ("new.jpg", photo, "image/jpeg")}
    )
    assert again.status_code == 303 and again.headers["location"] == fixed.headers["location"]
    old, new = await current_versions(database, meal.agreement_id, day)
    assert new.replaces_id == old.id and new.status is CheckInStatus.PENDING
    async with database.transaction(read_only=True) as db:
        loaded = await db.get_one(CheckIn, new.id)
        previous = await db.get_one(CheckIn, old.id)
        await db.refresh(loaded, ["photo_links"])
        await db.refresh(previous, ["photo_links"])
        new_photos = [link.photo_id for link in loaded.photo_links]
        old_photos = [link.photo_id for link in previous.photo_links]
    assert len(new_photos) == 1 and new_photos != old_photos and len(old_photos) == 1
    queue = (await worker.get("/review")).text
    assert f"card-meal-{new.id}" in queue


async def test_a_fix_with_a_photo_that_is_not_an_image_is_refused_in_her_language_and_nothing_changes(
    client_as: ClientAs, world: World, database: Database
) -> None:
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=140)
    worker = await client_as(personas.SOCIAL_WORKER)
    await decide(worker, "meal", meal.id, "needs_fix", reason="photo_unclear", note="照片不清楚")
    neighbour = await client_as(personas.NEIGHBOUR)
    fields = {"_csrf_token": await csrf_token(neighbour), "client_uuid": str(uuid.uuid4()), "dish": ["米饭"]}
    refused = await neighbour.post(
        f"/meals/checkins/{meal.id}/fix",
        data=fields,
        files={"photo": ("new.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")},
    )
    assert refused.status_code in (400, 415, 422), refused.status_code
    assert 'role="alert"' in refused.text or "field-error" in refused.text
    assert len(await current_versions(database, meal.agreement_id, day)) == 1
    assert (await load_checkin(database, meal.id)).status is CheckInStatus.NEEDS_FIX


async def test_after_a_send_back_the_next_page_says_what_was_done_and_only_to_a_reviewer_who_may_see_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    first, second = past_days(2)
    meal = await clean_meal(database, world, first, seed=150)
    await clean_meal(database, world, second, seed=151)
    worker = await client_as(personas.SOCIAL_WORKER)
    sent_back = await decide(worker, "meal", meal.id, "needs_fix", reason="photo_unclear", note="太暗")
    assert sent_back.status_code == 303
    location = sent_back.headers["location"]
    assert location.endswith(f"?decided=meal-{meal.id}")
    page = (await worker.get(location)).text
    notice = page.split('id="decided-notice"')[1].split("</p>")[0]
    assert "钱老伯" in notice and "照片不清楚" in notice and f'href="/review/meal/{meal.id}"' in notice
    # Another street's worker given the same link learns nothing about the entry.
    other = await client_as(personas.OTHER_STREET_WORKER)
    assert 'id="decided-notice"' not in (await other.get(f"/review?decided=meal-{meal.id}")).text
    for junk in ("meal-x", "visit-", "-1", "meal-99999999999999999999", "payout-1"):
        assert (await worker.get(f"/review?decided={junk}")).status_code == 200


async def test_approving_on_a_queue_card_updates_the_review_badge_in_the_same_answer(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meals = [await clean_meal(database, world, day, seed=160 + n) for n, day in enumerate(past_days(3))]
    worker = await client_as(personas.SOCIAL_WORKER)
    before = int((await worker.get("/review")).text.split('id="review-badge"')[1].split(">")[1].split("<")[0])
    answer = await worker.post(
        f"/review/meal/{meals[0].id}",
        data={"_csrf_token": await csrf_token(worker), "decision": "approve", "from": "queue"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200 and f'id="card-meal-{meals[0].id}"' in answer.text
    badge = answer.text.split('id="review-badge"')[1]
    assert 'hx-swap-oob="true"' in badge.split(">")[0] and badge.split(">")[1].startswith(str(before - 1))


async def test_a_fixed_meal_is_one_line_in_her_history_with_the_earlier_version_folded_under_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    day = past_days(1)[0]
    meal = await clean_meal(database, world, day, seed=170)
    worker = await client_as(personas.SOCIAL_WORKER)
    await decide(worker, "meal", meal.id, "needs_fix", reason="photo_unclear", note="太暗")
    neighbour = await client_as(personas.NEIGHBOUR)
    fields = {"_csrf_token": await csrf_token(neighbour), "client_uuid": str(uuid.uuid4()), "dish": ["米饭"]}
    fixed = await neighbour.post(f"/meals/checkins/{meal.id}/fix", data=fields)
    assert fixed.status_code == 303
    old, new = await current_versions(database, meal.agreement_id, day)
    page = (await neighbour.get(f"/meals/history?month={day:%Y-%m}")).text
    meals = page.split("<h2>")[-1]
    line = meals.split(f'id="checkin-{new.id}"')[1]
    assert meals.count('class="checkin-card"') == 2  # the latest, and the earlier one inside its fold
    folded = line.split('class="earlier-versions"')[1].split("</details>")[0]
    assert f'id="checkin-{old.id}"' in folded and "之前的版本：1 个" in folded
    assert "补正后重新提交" not in folded  # the old version offers no second fix
