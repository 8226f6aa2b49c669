"""Parse meal-plan forms into typed values with field errors in the user's language.

Forms read only the fields they know: anything else a page sends (a `status`, an `amount_fen`) is
never looked at. Check-ins carry no money at all; amounts appear only on the agreement form.

Money is entered in fen, as whole numbers (the form is pre-filled with 1500 and 45000 and shows the
yuan beside them). Accepting yuan with decimals would invite "15.5" versus "15.50" versus "15.05"
mistakes; a whole number of fen has exactly one reading. So "15.5", "-15", "1e9", "1,500" and text
are all refused with a message that gives an example, and nothing passes through a float.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from litestar.datastructures import FormMultiDict, UploadFile

from backend.evidence.forms import parse_uuid
from backend.i18n import gettext as _
from backend.meals.models import MealSlot, Signatory

MAX_DISHES = 12
MAX_DISH_CHARS = 40
MAX_PHOTOS = 3
MIN_RATE_FEN, MAX_RATE_FEN = 1, 100_000  # up to 1,000 yuan a meal
MAX_CAP_FEN = 10_000_000  # 100,000 yuan a month: far above any scheme, far below overflow
OVERRIDE_ROWS = 3  # blank rows the menu form offers for new per-day dishes

# Dishes typed into one box are separated by the marks a Chinese or English keyboard offers.
_DISH_SPLIT = re.compile(r"[,，、;；/\n\r]+")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def _text(form: FormMultiDict, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return unicodedata.normalize("NFKC", value)[:limit].strip() if isinstance(value, str) else ""


def normalize_dishes(raw: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, full-width folded, blanks dropped, each dish once (first spelling kept, order kept)."""
    seen: set[str] = set()
    dishes: list[str] = []
    for item in raw:
        dish = " ".join(unicodedata.normalize("NFKC", item).split())
        key = dish.casefold()
        if dish and key not in seen:
            seen.add(key)
            dishes.append(dish)
    return tuple(dishes)


def split_dishes(text: str) -> list[str]:
    return _DISH_SPLIT.split(text)


def dishes_error(dishes: tuple[str, ...], *, required: bool) -> str | None:
    if required and not dishes:
        return _("List at least one dish.")
    if len(dishes) > MAX_DISHES:
        return _("At most %(count)s dishes, please.") % {"count": MAX_DISHES}
    if any(len(d) > MAX_DISH_CHARS for d in dishes):
        return _("A dish name may have at most %(count)s characters.") % {"count": MAX_DISH_CHARS}
    return None


def parse_fen(raw: str, *, minimum: int, maximum: int) -> tuple[int | None, str | None]:
    """A whole number of fen within bounds, or an error message."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        return None, _("Enter a whole number of fen, for example 1500 for 15 yuan.")
    value = int(text)
    if not minimum <= value <= maximum:
        return None, _("Enter an amount between %(low)s and %(high)s fen.") % {
            "low": minimum,
            "high": maximum,
        }
    return value, None


def parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def parse_month(raw: str | None) -> date | None:
    """ "2026-12" (or a full date) names the month starting on its first day."""
    text = (raw or "").strip()[:10]
    try:
        if len(text) == 7:
            return date.fromisoformat(f"{text}-01")
        return date.fromisoformat(text).replace(day=1) if len(text) == 10 else None
    except ValueError:
        return None


def parse_slot(raw: str) -> MealSlot | None:
    try:
        return MealSlot(raw)
    except ValueError:
        return None


async def read_upload(form: FormMultiDict, name: str) -> bytes:
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return b""
    data = await upload.read()
    await upload.close()
    return data


@dataclass
class CheckInForm:
    slot: MealSlot | None = None
    day: date | None = None
    dishes: tuple[str, ...] = ()
    photo: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def photo_uuid(self) -> uuid.UUID:
        """The photo's UUID follows from the form's, so a form sent twice sends the same photo."""
        return uuid.uuid5(self.client_uuid, "photo-1")


async def parse_checkin_form(form: FormMultiDict, *, photo_required: bool = True) -> CheckInForm:
    result = CheckInForm(client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    result.slot = parse_slot(_text(form, "slot", 16))
    if result.slot is None:
        result.errors["slot"] = _("Choose lunch or dinner.")
    result.day = parse_day(_text(form, "day", 10))
    if result.day is None:
        result.errors["day"] = _("Choose the day of the meal.")
    chosen = [v for v in form.getall("dish", []) if isinstance(v, str)][: MAX_DISHES * 2]
    result.dishes = normalize_dishes([*chosen, *split_dishes(_text(form, "extra_dishes", 600))])
    error = dishes_error(result.dishes, required=True)
    if error:
        result.errors["dishes"] = error
    result.photo = await read_upload(form, "photo")
    if not result.photo and photo_required:
        result.errors["photo"] = _("Take a photo of the meal.")
    return result


@dataclass
class AgreementForm:
    resident_id: int | None = None
    neighbour_id: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    serves_lunch: bool = True
    serves_dinner: bool = False
    # None: the programme's (meals/service.do_create_agreement).
    rate_fen: int | None = None
    monthly_cap_fen: int | None = None
    signatory: Signatory | None = None
    photo: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _int_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


async def parse_agreement_form(form: FormMultiDict) -> AgreementForm:
    names = (
        "resident_id",
        "neighbour_id",
        "starts_on",
        "ends_on",
        "rate_fen",
        "monthly_cap_fen",
        "signatory",
    )
    result = AgreementForm(raw={n: _text(form, n, 40) for n in names})
    result.client_uuid = parse_uuid(form.get("client_uuid")) or uuid.uuid4()
    raw = result.raw
    result.resident_id = _int_id(raw["resident_id"])
    if result.resident_id is None:
        result.errors["resident_id"] = _("Choose the resident.")
    result.neighbour_id = _int_id(raw["neighbour_id"])
    if result.neighbour_id is None:
        result.errors["neighbour_id"] = _("Choose the neighbour who cooks.")
    result.starts_on = parse_day(raw["starts_on"])
    if result.starts_on is None:
        result.errors["starts_on"] = _("Enter the first day of the agreement.")
    if raw["ends_on"]:
        result.ends_on = parse_day(raw["ends_on"])
        if result.ends_on is None or (result.starts_on and result.ends_on < result.starts_on):
            result.errors["ends_on"] = _("The last day must be a date on or after the first day.")
    result.serves_lunch = form.get("serves_lunch") == "on"
    result.serves_dinner = form.get("serves_dinner") == "on"
    if not (result.serves_lunch or result.serves_dinner):
        result.errors["slots"] = _("Choose lunch, dinner or both.")
    # Left empty: the programme's rate and cap (meals/service.agreement_terms).
    rate, error = (None, None)
    if raw["rate_fen"].strip():
        rate, error = parse_fen(raw["rate_fen"], minimum=MIN_RATE_FEN, maximum=MAX_RATE_FEN)
    if error:
        result.errors["rate_fen"] = error
    else:
        result.rate_fen = rate
    cap, error = (None, None)
    if raw["monthly_cap_fen"].strip():
        cap, error = parse_fen(raw["monthly_cap_fen"], minimum=MIN_RATE_FEN, maximum=MAX_CAP_FEN)
    if error:
        result.errors["monthly_cap_fen"] = error
    else:
        result.monthly_cap_fen = cap
        if rate is not None and cap is not None and cap < rate:
            result.errors["monthly_cap_fen"] = _("The monthly cap cannot be less than one meal.")
    if raw["signatory"]:
        result.signatory = parse_signatory(raw["signatory"])
        if result.signatory is None:
            result.errors["signatory"] = _("Choose who signed.")
    result.photo = await read_upload(form, "paper_photo")
    return result


def parse_signatory(raw: str) -> Signatory | None:
    try:
        return Signatory(raw)
    except ValueError:
        return None


@dataclass
class ConfirmationForm:
    signatory: Signatory | None = None
    photo: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    errors: dict[str, str] = field(default_factory=dict)


async def parse_confirmation_form(form: FormMultiDict) -> ConfirmationForm:
    result = ConfirmationForm(client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    result.signatory = parse_signatory(_text(form, "signatory", 16))
    if result.signatory is None:
        result.errors["signatory"] = _("Choose who signed.")
    result.photo = await read_upload(form, "paper_photo")
    return result


def parse_end_form(form: FormMultiDict) -> tuple[date | None, dict[str, str]]:
    day = parse_day(_text(form, "ends_on", 10))
    return day, ({} if day else {"ends_on": _("Enter the last day of the agreement.")})


@dataclass
class MenuForm:
    month: date | None = None
    weekdays: dict[tuple[MealSlot, int], tuple[str, ...]] = field(default_factory=dict)
    days: dict[tuple[MealSlot, date], tuple[str, ...]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_menu_form(form: FormMultiDict, slots: list[MealSlot]) -> MenuForm:
    """Fields `<slot>-w<0..6>` (dishes per weekday), `<slot>-d<n>-day` and `<slot>-d<n>-dishes` (a date)."""
    result = MenuForm(month=parse_month(_text(form, "month", 10)))
    if result.month is None:
        result.errors["month"] = _("Choose a month.")
    for slot in slots:
        for weekday in range(7):
            name = f"{slot.value}-w{weekday}"
            dishes = normalize_dishes(split_dishes(_text(form, name, 600)))
            error = dishes_error(dishes, required=False)
            if error:
                result.errors[name] = error
            elif dishes:
                result.weekdays[(slot, weekday)] = dishes
        for row in range(40):
            raw_day = _text(form, f"{slot.value}-d{row}-day", 10)
            name = f"{slot.value}-d{row}-dishes"
            dishes = normalize_dishes(split_dishes(_text(form, name, 600)))
            if not raw_day and not dishes:
                continue
            day = parse_day(raw_day)
            if day is None or (result.month and day.replace(day=1) != result.month):
                result.errors[f"{slot.value}-d{row}-day"] = _("Choose a day of this month.")
                continue
            error = dishes_error(dishes, required=False)
            if error:
                result.errors[name] = error
            elif dishes:
                result.days[(slot, day)] = dishes
    return result
