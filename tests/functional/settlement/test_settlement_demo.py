"""The demo's last month closes to its documented total, on both databases: the ledger, the capped
agreement's lines and the XLSX (one row per approved meal) all agree."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from backend.clock import month_days
from backend.db import Database
from backend.demo import create_demo
from backend.settlement.models import LedgerLine
from backend.storage import PhotoStore
from backend.verification.demo import LAST_MONTH_TOTAL_FEN
from tests import personas
from tests.conftest import ClientAs
from tests.functional import meals_support
from tests.functional.settlement_support import close, last_month


async def test_the_demo_month_closes_to_its_documented_total(client_as: ClientAs, database: Database) -> None:
    # The 15th: the meal demo's own pending days then fall in this month, never in last month.
    today = meals_support.shanghai_today().replace(day=15)
    async with database.transaction() as db:
        cast = await create_demo(db, store=PhotoStore.from_url("memory://"), today=today)
        programme_id = cast.programmes["meals"].id
    closing = await close(database, programme_id, last_month(), cast.users[personas.STAFF].id)
    days = len(month_days(last_month()))
    assert closing.total_fen == LAST_MONTH_TOTAL_FEN == 102000
    assert closing.meals == 18 + 20 + days
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.sum(LedgerLine.amount_fen))) == 102000
    staff = await client_as(personas.STAFF)
    xlsx = await staff.get(
        f"/settlement/{programme_id}/statement.xlsx", params={"month": f"{last_month():%Y-%m}"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 18 + 20 + days
    assert sum(int(r[9]) for r in rows) == 102000
    # 冯爷爷 cooked every day: thirty meals reach the cap, the rest are listed at 0.
    capped = [int(r[9]) for r in rows if r[2] == cast.people["feng"].display_name]
    assert capped == [1500] * 30 + [0] * (days - 30)
    page = await staff.get(f"/settlement/{programme_id}/statement", params={"month": f"{last_month():%Y-%m}"})
    assert "1020.00" in page.text and page.text.count("15.00") >= 68
