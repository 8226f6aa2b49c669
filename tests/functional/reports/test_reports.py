"""Monthly reports on both databases: the numbers, their scope, the page and the CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy import update

from backend.db import Database
from backend.meals.models import CheckInStatus
from backend.people.models import Programme, User
from backend.reports.queries import month_report
from backend.visits.models import NeedArea, Pairing, Visit, VisitStatus
from backend.visits.service import VisitDraft, do_log_visit
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional import meals_support, visits_support
from tests.functional.settlement_support import last_month, meals, principal_of

A, R, N, P = CheckInStatus.APPROVED, CheckInStatus.REJECTED, CheckInStatus.NEEDS_FIX, CheckInStatus.PENDING


async def _report(database: Database, world: World, handle: str, key: str):  # type: ignore[no-untyped-def]
    user = await principal_of(database, world.user_id(handle))
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, world.cast.programmes[key].id)
        return await month_report(db, user, programme, last_month())


async def _visit(
    database: Database, world: World, day: int, areas: tuple[NeedArea, ...], status: VisitStatus
) -> int:
    pairing_id = await visits_support.pairing_id_of(database, world, "xiaoyu")
    when = meals_support.at(last_month() + timedelta(days=day), 15)
    async with database.transaction() as db:
        pairing = await db.get_one(Pairing, pairing_id)
        mother = await db.get_one(User, pairing.mother_id)
        draft = VisitDraft(pairing.id, when, 45, areas, (), "", ())
        visit = await do_log_visit(
            db, pairing, draft, [], client_uuid=uuid.uuid4(), actor=mother, now=when + timedelta(hours=1)
        )
        await db.execute(update(Visit).where(Visit.id == visit.id).values(status=status))
        return visit.id


async def test_the_report_counts_meals_money_visits_by_need_area_and_person_times(
    client_as: ClientAs, world: World, database: Database
) -> None:
    meals_before = await _report(database, world, personas.STAFF, "meals")
    visits_before = await _report(database, world, personas.STAFF, "mothers")
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(
        database, agreement, last_month(), [A, A, R, N, P], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    await _visit(database, world, 3, (NeedArea.DAILY_LIFE, NeedArea.FAMILY_EDUCATION), VisitStatus.APPROVED)
    await _visit(database, world, 9, (NeedArea.DAILY_LIFE,), VisitStatus.REJECTED)

    report = await _report(database, world, personas.STAFF, "meals")
    assert report.meals_checked_in - meals_before.meals_checked_in == 5
    assert (report.meals[A], report.meals[R], report.meals[N], report.meals[P]) == (2, 1, 1, 1)
    assert report.meal_people == 1 and report.amount_fen == 3000 and not report.closed
    assert report.person_times == 2

    visits = await _report(database, world, personas.STAFF, "mothers")
    assert visits.visits_logged - visits_before.visits_logged == 2
    daily, family = visits.need_areas[NeedArea.DAILY_LIFE], visits.need_areas[NeedArea.FAMILY_EDUCATION]
    before_daily = visits_before.need_areas[NeedArea.DAILY_LIFE]
    assert daily[VisitStatus.APPROVED] - before_daily[VisitStatus.APPROVED] == 1
    assert daily[VisitStatus.REJECTED] - before_daily[VisitStatus.REJECTED] == 1
    assert (
        family[VisitStatus.APPROVED]
        - visits_before.need_areas[NeedArea.FAMILY_EDUCATION][VisitStatus.APPROVED]
        == 1
    )
    assert visits.person_times - visits_before.person_times == 1

    staff = await client_as(personas.STAFF)
    month = last_month().strftime("%Y-%m")
    page = await staff.get(f"/reports/{world.cast.programmes['meals'].id}", params={"month": month})
    assert page.status_code == 200 and "服务人次" in page.text and "30.00" in page.text
    await staff.post(
        "/language", data={"_csrf_token": await csrf_token(staff), "language": "en", "next": "/"}
    )
    response = await staff.get(
        f"/reports/{world.cast.programmes['meals'].id}/report.csv", params={"month": month}
    )
    assert response.status_code == 200
    pid = world.cast.programmes["meals"].id
    assert response.headers["content-disposition"] == f'attachment; filename="report-{pid}-{month}.csv"'
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows[("Meals", "Checked in")] == str(report.meals_checked_in)
    assert rows[("Meals", "Amount so far, not closed (yuan)")] == "30.00"
    assert rows[("Total", "Person-times served")] == str(report.person_times)


async def test_a_social_worker_sees_the_figures_of_her_areas_only(world: World, database: Database) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))  # Guiyuan, Wutong Street
    await meals(database, agreement, last_month(), [A, A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    mine = await _report(database, world, personas.SOCIAL_WORKER, "meals")
    other_street = await _report(database, world, personas.OTHER_STREET_WORKER, "meals")
    assert mine.meals[A] == 2 and mine.amount_fen == 3000
    assert other_street.meals[A] == 0 and other_street.amount_fen == 0


async def test_reports_answer_only_to_those_who_work_in_the_programme(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    assert (await neighbour.get("/reports")).status_code == 403
    assert (await neighbour.get(f"/reports/{world.cast.programmes['meals'].id}")).status_code == 403
    outsider = await client_as(personas.OUTSIDER)
    assert (await outsider.get(f"/reports/{world.cast.programmes['meals'].id}")).status_code == 404
    staff = await client_as(personas.STAFF)
    index = await staff.get("/reports")
    assert index.status_code == 200 and f"/reports/{world.cast.programmes['meals'].id}" in index.text
    bad = await staff.get(f"/reports/{world.cast.programmes['meals'].id}", params={"month": "2026-1"})
    assert bad.status_code == 400
