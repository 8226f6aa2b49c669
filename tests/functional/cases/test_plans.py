"""A case's plan (goals and services from the packages) and its closing with an outcome per goal."""

from __future__ import annotations

from backend.cases.models import CaseStatus, CloseReason, DelivererKind, GoalOutcome
from backend.db import Database
from tests.conftest import ClientAs, World
from tests.functional.cases.test_cases_support import (
    STAFF,
    WORKER_CHEN,
    WORKER_GAO,
    WORKER_HE,
    add_goal,
    add_item,
    assess,
    assessment_fields,
    demo_case_id,
    dimensions,
    goals_of,
    history,
    items_of,
    load_case,
    open_case,
    plan,
    post,
)
from tests.functional.photos_support import audit_actions


async def _assessed_case(browser, world: World, database: Database) -> int:  # type: ignore[no-untyped-def]
    case_id = await open_case(browser, world)
    assert (await assess(browser, case_id, await assessment_fields(database, world))).status_code == 303
    return case_id


async def test_worker_plans_a_case_and_closes_it_with_an_outcome_per_goal(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await _assessed_case(he, world, database)
    page = await he.get(f"/cases/{case_id}/plan")
    assert page.status_code == 200 and 'id="goal-add"' in page.text and "<optgroup" in page.text
    goal_id = await add_goal(he, database, world, case_id)
    assert (await load_case(database, case_id)).status is CaseStatus.ASSESSED  # a goal alone is no plan
    response = await add_item(he, database, world, case_id, goal_id=str(goal_id))
    assert response.status_code == 303, response.text[:2000]
    assert (await load_case(database, case_id)).status is CaseStatus.PLANNED
    volunteer = await add_item(
        he, database, world, case_id, deliverer_kind="volunteer", deliverer_name="志愿者小陈"
    )
    partner = await add_item(
        he, database, world, case_id, deliverer_kind="partner", deliverer_name="暖心社工服务社"
    )
    assert volunteer.status_code == 303 and partner.status_code == 303
    items = await items_of(database, case_id)
    assert [i.deliverer_kind for i in items] == [
        DelivererKind.WORKER,
        DelivererKind.VOLUNTEER,
        DelivererKind.PARTNER,
    ]
    assert items[0].goal_id == goal_id and items[0].deliverer_user_id == world.user_id(WORKER_HE)
    assert (await plan(he, case_id, "end_item", item_id=str(items[2].id))).status_code == 303
    assert (await items_of(database, case_id))[2].ended_at is not None
    second_goal = await add_goal(he, database, world, case_id)
    assert (await plan(he, case_id, "retire_goal", goal_id=str(second_goal))).status_code == 303
    shown = await he.get(f"/cases/{case_id}")
    assert f'id="goal-{goal_id}"' in shown.text and f'id="goal-{second_goal}"' not in shown.text

    close_page = await he.get(f"/cases/{case_id}/close")
    assert close_page.status_code == 200 and f'name="outcome-{goal_id}"' in close_page.text
    assert f'name="outcome-{second_goal}"' not in close_page.text  # a dropped goal needs no outcome
    closed = await post(
        he, f"/cases/{case_id}/close", {f"outcome-{goal_id}": "partly", "reason": "goals_met"}
    )
    assert closed.status_code == 303, closed.text[:2000]
    case = await load_case(database, case_id)
    assert case.status is CaseStatus.CLOSED and case.close_reason is CloseReason.GOALS_MET
    goals = await goals_of(database, case_id)
    assert goals[0].outcome is GoalOutcome.PARTLY and goals[1].outcome is None
    assert await history(database, case_id) == [
        (None, "accepted"),
        ("accepted", "assessed"),
        ("assessed", "planned"),
        ("planned", "closed"),
    ]
    actions = {e.action for e in await audit_actions(database, "case.closed")} | {
        e.action for e in await audit_actions(database, "case.goal_added")
    }
    assert actions == {"case.closed", "case.goal_added"}
    for action in ("case.item_added", "case.item_ended", "case.goal_retired"):
        assert any(e.subject_id == str(case_id) for e in await audit_actions(database, action)), action


async def test_closing_without_an_outcome_for_a_goal_is_refused_beside_that_goal(
    client_as: ClientAs, world: World, database: Database
) -> None:
    gao = await client_as(WORKER_GAO)
    case_id = await _assessed_case(gao, world, database)
    first = await add_goal(gao, database, world, case_id)
    second = await add_goal(gao, database, world, case_id)
    response = await post(gao, f"/cases/{case_id}/close", {f"outcome-{first}": "met", "reason": "goals_met"})
    assert response.status_code == 400
    assert (
        f'id="outcome-{second}-error"' in response.text and f'id="outcome-{first}-error"' not in response.text
    )
    assert "请说明这个目标是否达成。" in response.text
    other = await post(
        gao,
        f"/cases/{case_id}/close",
        {f"outcome-{first}": "met", f"outcome-{second}": "not_met", "reason": "other"},
    )
    assert other.status_code == 400 and 'id="note-error"' in other.text  # "other" needs a note
    bad = await post(
        gao,
        f"/cases/{case_id}/close",
        {f"outcome-{first}": "maybe", f"outcome-{second}": "met", "reason": "x"},
    )
    assert bad.status_code == 400 and 'id="reason-error"' in bad.text
    case = await load_case(database, case_id)
    assert case.status is CaseStatus.ASSESSED and all(
        g.outcome is None for g in await goals_of(database, case_id)
    )


async def test_a_closed_case_refuses_every_write_with_409(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    assert (await post(he, f"/cases/{case_id}/close", {"reason": "declined"})).status_code == 303
    assert (await load_case(database, case_id)).status is CaseStatus.CLOSED
    dimension = (await dimensions(database, world))[0]
    writes = [
        (f"/cases/{case_id}/accept", {}),
        (f"/cases/{case_id}/lead", {"lead_worker_id": str(world.user_id(WORKER_GAO))}),
        (f"/cases/{case_id}/assessments/new", await assessment_fields(database, world)),
        (
            f"/cases/{case_id}/plan",
            {"action": "add_goal", "dimension_id": str(dimension.id), "goal_text": "再试一次"},
        ),
        (f"/cases/{case_id}/plan", {"action": "end_item", "item_id": "1"}),
        (f"/cases/{case_id}/close", {"reason": "goals_met"}),
    ]
    for url, fields in writes:
        assert (await post(he, url, fields)).status_code == 409, url
    for url in (f"/cases/{case_id}/assessments/new", f"/cases/{case_id}/close"):
        assert (await he.get(url)).status_code == 409, url
    assert (await he.get(f"/cases/{case_id}")).status_code == 200
    assert await goals_of(database, case_id) == [] and await history(database, case_id) == [
        (None, "accepted"),
        ("accepted", "closed"),
    ]
    # Nobody can open a second case while... the first is closed: a new one may be opened now.
    again = await post(he, "/cases/new", {"person_id": str((await load_case(database, case_id)).person_id)})
    assert again.status_code == 303


async def test_plan_changes_are_the_stations_workers_and_bad_input_is_a_clear_400(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case_id = await demo_case_id(database, world)  # Liu'an
    staff = await client_as(STAFF)
    assert (await staff.get(f"/cases/{case_id}/plan")).status_code == 200
    assert (await plan(staff, case_id, "add_goal", dimension_id="1", goal_text="目标")).status_code == 403
    he = await client_as(WORKER_HE)
    assert (await plan(he, case_id, "add_goal", dimension_id="1", goal_text="目标")).status_code == 404
    assert (await he.get(f"/cases/{case_id}/plan")).status_code == 404
    chen = await client_as(WORKER_CHEN)
    before = len(await items_of(database, case_id))
    cases = [
        {"action": "add_goal", "dimension_id": "", "goal_text": "目标"},
        {"action": "add_goal", "dimension_id": "999999", "goal_text": "目标文字"},
        {
            "action": "add_goal",
            "dimension_id": str((await dimensions(database, world))[0].id),
            "goal_text": "x",
        },
        {"action": "add_item", "service_item_id": "abc", "deliverer_kind": "worker", "frequency": "weekly"},
        {"action": "nothing"},
    ]
    for fields in cases:
        assert (await plan(chen, case_id, **fields)).status_code == 400, fields
    # A worker of another station as deliverer; a volunteer without a name; an unknown frequency.
    assert (
        await add_item(chen, database, world, case_id, deliverer_user_id=str(world.user_id(WORKER_HE)))
    ).status_code == 400
    assert (
        await add_item(chen, database, world, case_id, deliverer_kind="volunteer", deliverer_name="")
    ).status_code == 400
    assert (
        await add_item(
            chen,
            database,
            world,
            case_id,
            deliverer_user_id=str(world.user_id(WORKER_CHEN)),
            frequency="daily",
        )
    ).status_code == 400
    assert (await plan(chen, case_id, "end_item", item_id="999999")).status_code == 404
    assert len(await items_of(database, case_id)) == before
    ok = await add_item(
        chen, database, world, case_id, deliverer_user_id=str(world.user_id(WORKER_CHEN)), status="closed"
    )
    assert ok.status_code == 303 and len(await items_of(database, case_id)) == before + 1
    assert (await load_case(database, case_id)).status is not CaseStatus.CLOSED


async def test_a_goal_of_another_case_is_not_found_and_a_resent_drop_changes_nothing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    mine = await _assessed_case(he, world, database)
    other = await _assessed_case(he, world, database)
    foreign_goal = await add_goal(he, database, world, other)
    response = await add_item(he, database, world, mine, goal_id=str(foreign_goal))
    assert response.status_code == 404 and await items_of(database, mine) == []
    retire = await plan(he, mine, "retire_goal", goal_id=str(foreign_goal))
    assert retire.status_code == 404 and (await goals_of(database, other))[0].retired_at is None
    own_goal = await add_goal(he, database, world, mine)
    before = len(await audit_actions(database, "case.goal_retired"))
    for _ in range(2):
        assert (await plan(he, mine, "retire_goal", goal_id=str(own_goal))).status_code == 303
    assert len(await audit_actions(database, "case.goal_retired")) == before + 1
