"""Settlement form input: months, the closing confirmation and adjustments (typed in yuan, kept in fen)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from litestar.exceptions import ClientException

from backend.i18n import gettext as _
from backend.meals.forms import parse_month

# Yuan as people type them: 15, 15.5, -7.50, ¥15, 15元; at most two decimals (fen), no exponent, no
# thousands separator (a comma is a decimal point on some keyboards: refused rather than guessed).
_SIGNED_YUAN = re.compile(r"(?P<sign>[+-]?)[¥￥]?(?P<whole>[0-9]{1,7})(?:\.(?P<fraction>[0-9]{1,2}))?元?")


def month_param(raw: str | None, default: date) -> date:
    """The `month` query parameter (YYYY-MM); missing means the default, anything else bad is a 400."""
    if raw is None or not raw.strip():
        return default
    month = parse_month(raw) if len(raw.strip()) == 7 else None
    if month is None or not 2000 <= month.year <= 2100:
        raise ClientException(detail=_("Choose a month as year and month, for example 2026-10."))
    return month


def parse_signed_yuan(raw: str) -> int | None:
    """An amount typed in yuan, as exact fen (no float is ever involved); None if it is not one."""
    text = unicodedata.normalize("NFKC", raw).strip().replace("\u2212", "-").replace(" ", "")
    found = _SIGNED_YUAN.fullmatch(text)
    if found is None:
        return None
    fen = int(found["whole"]) * 100 + int((found["fraction"] or "0").ljust(2, "0"))
    return -fen if found["sign"] == "-" else fen


@dataclass
class AdjustmentForm:
    agreement_id: int | None = None
    month: date | None = None
    amount_fen: int | None = None
    reason: str = ""
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_adjustment_form(data: Mapping[str, object]) -> AdjustmentForm:
    raw = {k: str(data.get(k) or "") for k in ("agreement_id", "month", "amount_yuan", "reason")}
    form = AdjustmentForm(raw=raw, reason=raw["reason"].strip())
    form.agreement_id = int(raw["agreement_id"]) if raw["agreement_id"].isdigit() else None
    if form.agreement_id is None:
        form.errors["agreement_id"] = _("Choose the agreement the correction is for.")
    form.month = parse_month(raw["month"]) if len(raw["month"].strip()) == 7 else None
    if form.month is None:
        form.errors["month"] = _("Choose a month as year and month, for example 2026-10.")
    form.amount_fen = parse_signed_yuan(raw["amount_yuan"])
    return form
