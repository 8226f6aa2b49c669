"""Report periods of the provinces' station reports: a month, a quarter (the quarterly dispatch), a
half-year (the half-year report) and a year (the annual assessment), chosen by a preset and any day in
it, reckoned in the programme's time zone. A period is half-open: `start` is its first day and `end`
the first day after it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime

from litestar.exceptions import ClientException

from backend.clock import Zoned, add_months, zone_of
from backend.i18n import gettext as _


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # the first day after the period

    @property
    def months(self) -> int:
        return MONTHS[self.kind]

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    @property
    def number(self) -> int:
        """Its number within the year: the month, the quarter (1–4), the half (1–2), or 1."""
        return (self.start.month - 1) // self.months + 1

    def previous(self) -> Period:
        return period_of(self.kind, add_months(self.start, -self.months))

    def following(self) -> Period:
        return period_of(self.kind, self.end)

    def bounds(self, holder: Zoned) -> tuple[datetime, datetime]:
        return local_bounds(holder, self.start, self.end)

    @property
    def code(self) -> str:
        """A short name for file names: 2026-10, 2026-Q4, 2026-H2, 2026."""
        year = self.start.year
        return {
            PeriodKind.MONTH: f"{year}-{self.start.month:02d}",
            PeriodKind.QUARTER: f"{year}-Q{self.number}",
            PeriodKind.HALF: f"{year}-H{self.number}",
            PeriodKind.YEAR: f"{year}",
        }[self.kind]

    @property
    def label(self) -> str:
        year = self.start.year
        if self.kind is PeriodKind.MONTH:
            return _("%(year)s, month %(n)s") % {"year": year, "n": self.number}
        if self.kind is PeriodKind.QUARTER:
            return _("%(year)s, quarter %(n)s") % {"year": year, "n": self.number}
        if self.kind is PeriodKind.HALF:
            return (_("%(year)s, first half") if self.number == 1 else _("%(year)s, second half")) % {
                "year": year
            }
        return _("Year %(year)s") % {"year": year}


def local_bounds(holder: Zoned, start: date, end: date) -> tuple[datetime, datetime]:
    """Local midnight of `start` and of `end`, as UTC times."""
    zone = zone_of(holder)
    first, after = (datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in (start, end))
    return first.astimezone(UTC), after.astimezone(UTC)


def period_of(kind: PeriodKind, on: date) -> Period:
    """The period of this kind that holds the day `on`."""
    months = MONTHS[kind]
    start = date(on.year, (on.month - 1) // months * months + 1, 1)
    return Period(kind, start, add_months(start, months))


def kind_label(kind: PeriodKind) -> str:
    return {
        PeriodKind.MONTH: _("Month"),
        PeriodKind.QUARTER: _("Quarter"),
        PeriodKind.HALF: _("Half-year"),
        PeriodKind.YEAR: _("Year"),
    }[kind]


def parse_period(kind: str | None, on: str | None, today: date) -> Period:
    """`?period=quarter&on=2026-10-01`: missing parts default to the current quarter (by `today`, the
    programme's local date from the injected clock); anything else that is not a period is a 400."""
    raw_kind = (kind or "").strip() or PeriodKind.QUARTER.value
    if raw_kind not in PeriodKind.__members__.values():
        raise ClientException(detail=_("Choose a period: month, quarter, half-year or year."))
    raw_on = (on or "").strip()
    day = today if not raw_on else _day(raw_on)
    if day is None or not 2000 <= day.year <= 2100:
        raise ClientException(detail=_("Choose a day as year, month and day, for example 2026-10-01."))
    return period_of(PeriodKind(raw_kind), day)


def _day(raw: str) -> date | None:
    if len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None
