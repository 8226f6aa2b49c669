"""Settlement form input: months, the closing confirmation and adjustments (whole fen, signed)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from litestar.exceptions import ClientException

from backend.i18n import gettext as _
from backend.meals.forms import parse_month

_SIGNED_WHOLE = re.compile(r"[+-]?[0-9]{1,9}")


def month_param(raw: str | None, default: date) -> date:
    """The `month` query parameter (YYYY-MM); missing means the default, anything else bad is a 400."""
    if raw is None or not raw.strip():
        return default
    month = parse_month(raw) if len(raw.strip()) == 7 else None
    if month is None or not 2000 <= month.year <= 2100:
        raise ClientException(detail=_("Choose a month as year and month, for example 2026-10."))
    return month


def parse_signed_fen(raw: str) -> int | None:
    text = unicodedata.normalize("NFKC", raw).strip().replace("\u2212", "-")
    return int(text) if _SIGNED_WHOLE.fullmatch(text) else None


@dataclass
class AdjustmentForm:
    agreement_id: int | None = None
    month: date | None = None
    amount_fen: int | None = None
    reason: str = ""
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_adjustment_form(data: Mapping[str, object]) -> AdjustmentForm:
    raw = {k: str(data.get(k) or "") for k in ("agreement_id", "month", "amount_fen", "reason")}
    form = AdjustmentForm(raw=raw, reason=raw["reason"].strip())
    form.agreement_id = int(raw["agreement_id"]) if raw["agreement_id"].isdigit() else None
    if form.agreement_id is None:
        form.errors["agreement_id"] = _("Choose the agreement the correction is for.")
    form.month = parse_month(raw["month"]) if len(raw["month"].strip()) == 7 else None
    if form.month is None:
        form.errors["month"] = _("Choose a month as year and month, for example 2026-10.")
    form.amount_fen = parse_signed_fen(raw["amount_fen"])
    return form
