"""Station orders' forms: parsed into typed values with field errors in the user's language, and the
labels of the orders' stored values."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.cases.models import OrderCategory, OrderSource, OrderStatus, ReferrerKind
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l

MAX_DESCRIPTION = 500
MAX_CONTACT = 100
MAX_REFERRER_NAME = 100
MAX_REASON = 300
MAX_NOTE = 500
MAX_NAME = 50

CATEGORY_LABELS: dict[OrderCategory, Any] = {
    OrderCategory.MINORS: _l("Children and young people"),
    OrderCategory.ELDERLY: _l("Older people"),
    OrderCategory.DISABILITY: _l("Disability"),
    OrderCategory.LIVING: _l("Living hardship (food, housing, bills)"),
    OrderCategory.HEALTH: _l("Health"),
    OrderCategory.OTHER: _l("Something else"),
}
SOURCE_LABELS: dict[OrderSource, Any] = {
    OrderSource.RESIDENT: _l("Resident (public request)"),
    OrderSource.SCOUT: _l("Hardship scout"),
    OrderSource.REFERRER: _l("Referred"),
}
REFERRER_LABELS: dict[ReferrerKind, Any] = {
    ReferrerKind.SCHOOL: _l("School"),
    ReferrerKind.HOSPITAL: _l("Hospital"),
    ReferrerKind.COMMUNITY_COMMITTEE: _l("Community committee"),
    ReferrerKind.DEPARTMENT: _l("Another department"),
    ReferrerKind.OTHER: _l("Other referrer"),
}
STATUS_LABELS: dict[OrderStatus, Any] = {
    OrderStatus.OPEN: _l("Waiting to be taken"),
    OrderStatus.TAKEN: _l("Taken"),
    OrderStatus.CLOSED: _l("Handled"),
}

ORDER_LABELS = {
    "category": CATEGORY_LABELS,
    "source": SOURCE_LABELS,
    "referrer": REFERRER_LABELS,
    "status": STATUS_LABELS,
}


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        return ""
    # NFC, no control characters (a pasted NUL or escape would only hide text).
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFC", value) if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
    )
    return cleaned.strip()


def _int(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


@dataclass
class OrderForm:
    """The fields every way of ordering shares, plus the referrer's (a worker's form)."""

    area_id: int | None = None
    category: OrderCategory | None = None
    description: str = ""
    contact: str = ""
    referrer_kind: ReferrerKind | None = None
    referrer_name: str = ""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_order_form(
    data: Mapping[str, Any], *, allowed_area_ids: set[int], with_referrer: bool = False
) -> OrderForm:
    names = ["area_id", "category", "description", "contact", "client_uuid"]
    if with_referrer:
        names += ["referrer_kind", "referrer_name"]
    raw = {name: _text(data, name) for name in names}
    form = OrderForm(raw=raw, description=raw["description"], contact=raw["contact"])
    form.area_id = _int(raw["area_id"])
    if form.area_id is None or form.area_id not in allowed_area_ids:
        form.errors["area_id"] = _("Choose the community where the household lives, from the list.")
    try:
        form.category = OrderCategory(raw["category"])
    except ValueError:
        form.errors["category"] = _("Choose what kind of help is needed.")
    if not form.description:
        form.errors["description"] = _("Describe the need in a few words.")
    elif len(form.description) > MAX_DESCRIPTION:
        form.errors["description"] = _("Please keep the description to %(count)s characters.") % {
            "count": MAX_DESCRIPTION
        }
    if len(form.contact) > MAX_CONTACT:
        form.errors["contact"] = _("Please keep this to %(count)s characters.") % {"count": MAX_CONTACT}
    client_uuid = _uuid(raw["client_uuid"])
    if client_uuid is None:
        form.errors["form"] = _("This form is out of date. Please reload the page and send it again.")
    else:
        form.client_uuid = client_uuid
    if with_referrer:
        try:
            form.referrer_kind = ReferrerKind(raw["referrer_kind"])
        except ValueError:
            form.errors["referrer_kind"] = _("Choose who referred the need.")
        form.referrer_name = raw["referrer_name"]
        if not form.referrer_name:
            form.errors["referrer_name"] = _("Enter the name of the school, hospital or office.")
        elif len(form.referrer_name) > MAX_REFERRER_NAME:
            form.errors["referrer_name"] = _("Please keep this to %(count)s characters.") % {
                "count": MAX_REFERRER_NAME
            }
    return form


@dataclass
class TakeForm:
    person_id: int | None = None
    new_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_take_form(data: Mapping[str, Any]) -> TakeForm:
    raw_person = _text(data, "person_id")
    form = TakeForm(new_name=_text(data, "new_name"))
    if raw_person and raw_person != "new":
        form.person_id = _int(raw_person)
        if form.person_id is None:
            form.errors["person_id"] = _("Choose a household from the list.")
    if form.person_id is None and not form.new_name and "person_id" not in form.errors:
        form.errors["person_id"] = _("Choose the household from the list, or enter the name of a new one.")
    if len(form.new_name) > MAX_NAME:
        form.errors["new_name"] = _("Please keep this to %(count)s characters.") % {"count": MAX_NAME}
    return form


@dataclass
class PassForm:
    to_area_id: int | None = None
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_pass_form(data: Mapping[str, Any]) -> PassForm:
    form = PassForm(to_area_id=_int(_text(data, "to_area_id")), reason=_text(data, "reason"))
    if form.to_area_id is None:
        form.errors["to_area_id"] = _("Choose another station of this programme.")
    if not form.reason:
        form.errors["reason"] = _("Say why the order is passed on.")
    elif len(form.reason) > MAX_REASON:
        form.errors["reason"] = _("Please keep this to %(count)s characters.") % {"count": MAX_REASON}
    return form


@dataclass
class CloseForm:
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_close_form(data: Mapping[str, Any]) -> CloseForm:
    form = CloseForm(note=_text(data, "note"))
    if not form.note:
        form.errors["note"] = _("Say why the order is closed without a case.")
    elif len(form.note) > MAX_NOTE:
        form.errors["note"] = _("Please keep this to %(count)s characters.") % {"count": MAX_NOTE}
    return form
