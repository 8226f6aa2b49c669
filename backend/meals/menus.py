"""Monthly menus: the dishes a neighbour plans per weekday, with per-day overrides.

The menu pre-fills each check-in and is the plan a check-in's dishes are compared with. Saving a
month's menu replaces that month's lines (the old ones are deleted): a menu is a plan, not evidence;
what a check-in was compared with is copied into the check-in itself (planned_dishes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.clock import add_months, local_today
from backend.errors import Forbidden
from backend.meals.models import Agreement, MealSlot, MenuEntry
from backend.settlement.models import month_of


@dataclass
class Menu:
    month: date
    weekdays: dict[tuple[MealSlot, int], list[str]] = field(default_factory=dict)
    days: dict[tuple[MealSlot, date], list[str]] = field(default_factory=dict)

    def for_day(self, slot: MealSlot, day: date) -> list[str]:
        return self.days.get((slot, day)) or self.weekdays.get((slot, day.weekday()), [])

    @property
    def empty(self) -> bool:
        return not self.weekdays and not self.days


async def load_menu(db: AsyncSession, agreement_id: int, month: date) -> Menu:
    menu = Menu(month=month)
    rows = await db.scalars(
        select(MenuEntry)
        .where(MenuEntry.agreement_id == agreement_id, MenuEntry.month == month)
        .order_by(MenuEntry.slot, MenuEntry.weekday, MenuEntry.day)
    )
    for entry in rows:
        if entry.weekday is not None:
            menu.weekdays[(entry.slot, entry.weekday)] = list(entry.dishes)
        elif entry.day is not None:
            menu.days[(entry.slot, entry.day)] = list(entry.dishes)
    return menu


async def planned_dishes(db: AsyncSession, agreement: Agreement, slot: MealSlot, day: date) -> list[str]:
    """The day's own line if there is one, else the weekday's line of the day's month, else nothing."""
    rows = await db.scalars(
        select(MenuEntry).where(
            MenuEntry.agreement_id == agreement.id,
            MenuEntry.slot == slot,
            or_(
                MenuEntry.day == day,
                (MenuEntry.month == month_of(day)) & (MenuEntry.weekday == day.weekday()),
            ),
        )
    )
    entries = list(rows)
    for entry in entries:
        if entry.day is not None:
            return list(entry.dishes)
    return list(entries[0].dishes) if entries else []


def editable_months(agreement: Agreement) -> list[date]:
    """This month and the next, as far as the agreement runs in them."""
    this_month = month_of(local_today(agreement.programme))
    months = [this_month, add_months(this_month, 1)]
    return [
        m
        for m in months
        if month_of(agreement.starts_on) <= m
        and (agreement.ends_on is None or m <= month_of(agreement.ends_on))
    ]


async def do_save_menu(
    db: AsyncSession,
    agreement: Agreement,
    *,
    month: date,
    weekdays: dict[tuple[MealSlot, int], tuple[str, ...]],
    days: dict[tuple[MealSlot, date], tuple[str, ...]],
    actor: Actor,
) -> None:
    if agreement.neighbour_id != actor.id:
        raise Forbidden()
    await db.execute(
        delete(MenuEntry).where(MenuEntry.agreement_id == agreement.id, MenuEntry.month == month)
    )
    for (slot, weekday), dishes in sorted(weekdays.items()):
        db.add(
            MenuEntry(
                agreement_id=agreement.id,
                month=month,
                slot=slot,
                weekday=weekday,
                dishes=list(dishes),
                created_by_id=actor.id,
            )
        )
    for (slot, day), dishes in sorted(days.items()):
        db.add(
            MenuEntry(
                agreement_id=agreement.id,
                month=month,
                slot=slot,
                day=day,
                dishes=list(dishes),
                created_by_id=actor.id,
            )
        )
    await db.flush()
    content = json.dumps(
        [[s.value, w, list(d)] for (s, w), d in sorted(weekdays.items())]
        + [[s.value, day.isoformat(), list(d)] for (s, day), d in sorted(days.items())],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    # Dishes are not personal data, but the audit trail keeps counts and a hash, like every event.
    await audit.record(
        db,
        actor=actor,
        action="meal_menu.saved",
        subject=agreement,
        change={
            "month": month.isoformat(),
            "weekday_lines": len(weekdays),
            "day_lines": len(days),
            "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    )
