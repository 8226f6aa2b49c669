"""The demo's last month: lunches checked in and reviewed, so the settlement has a month to close.

Per neighbour: 赵桂兰 cooked for 钱老伯 on the first 19 days, one of which her social worker rejected;
孙秀珍 for 郑奶奶 on the first 20 days; 吴凤英 for 冯爷爷 every day of the month, more than the cap pays.
So last month settles to 18 + 20 meals at 15 yuan and 冯爷爷's capped 450 yuan: 1020.00 yuan
(102000 fen), except in a month's first days, when the meal demo's pending days fall in last month.
Everything goes through do_check_in and do_review, audited like real entries.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import add_months, month_days
from backend.meals.checkin_service import CheckInDraft, do_check_in
from backend.meals.demo import PAST_DAYS, WEEKLY_MENUS, demo_photo
from backend.meals.models import Agreement, MealSlot
from backend.storage import PhotoStore
from backend.verification.models import Decision, Reason
from backend.verification.service import do_review

# neighbour handle -> (how many days of last month she cooked (None: every day), days rejected)
LAST_MONTH: dict[str, tuple[int | None, tuple[int, ...]]] = {
    # 19, not 20: on the 1st of March her free February days (20th-25th) are the six the offline tests need.
    "demo-neighbour-zhao": (19, (5,)),
    "demo-neighbour-sun": (20, ()),
    "demo-neighbour-wu": (None, ()),
}
# What the demo's last month settles to, in fen (see the module's docstring).
LAST_MONTH_TOTAL_FEN = 18 * 1500 + 20 * 1500 + 45000


async def create_last_month_demo(
    db: AsyncSession, *, agreements: list[Agreement], today: date, store: PhotoStore
) -> None:
    month = add_months(today.replace(day=1), -1)
    for agreement in agreements:
        neighbour, worker = agreement.neighbour, agreement.social_worker
        count, rejected = LAST_MONTH[neighbour.handle]
        zone = ZoneInfo(agreement.programme.time_zone)
        weekly = WEEKLY_MENUS[neighbour.handle]
        for day in month_days(month)[:count]:
            # Early in a month the meal demo's last few days fall in last month: those stay pending.
            if not agreement.covers(day) or day >= today - timedelta(days=PAST_DAYS):
                continue
            cooked = datetime.combine(day, time(11, 45), tzinfo=zone)
            photo = await demo_photo(
                db, store, neighbour, agreement.resident, seed=agreement.id * 10_000 + day.day, at=cooked
            )
            draft = CheckInDraft(
                agreement.id, MealSlot.LUNCH, day, weekly[day.weekday()], (photo.client_uuid,)
            )
            checkin = await do_check_in(
                db,
                agreement,
                draft,
                [photo],
                client_uuid=uuid.uuid4(),
                actor=neighbour,
                now=cooked + timedelta(minutes=30),
            )
            refused = day.day in rejected
            await do_review(
                db,
                checkin,
                decision=Decision.REJECT if refused else Decision.APPROVE,
                reason=Reason.NOT_DELIVERED if refused else None,
                note="当天老人住院，饭没有送到" if refused else None,
                actor=worker,
                now=cooked + timedelta(hours=6),
            )
