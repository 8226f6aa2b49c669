"""Service deliveries: one service given under an active plan item of an open case, sent from the phone.

Rules (refused, nothing stored): only a social worker of the case's station logs it (cases.policy.works_on);
the plan item is still in the plan (`ended_at` unset) and its case is not closed; the day is not in the
future, not before the case opened and not in a closed month; 5 to 720 minutes; 1 to 500 people; photos
sent by the worker herself, about the case's person, at most six. A reused photo flags the delivery
for the review queue, as for visits.

Receiving (form and API alike) is idempotent by the delivery's client UUID (backend/idempotency.py).
A fix after "needs fix" is a new version (`replaces_id`); the old one keeps its content and photos and
gets `superseded_at`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import (
    MAX_PHOTOS,
    Case,
    CaseStatus,
    Delivery,
    DeliveryPhoto,
    DeliveryStatus,
    PlanItem,
    ServiceItem,
)
from backend.cases.service import advance
from backend.db import Database, utcnow
from backend.errors import Conflict, Forbidden, NotFound, Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.policy import own_photos_by_uuid
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.idempotency import Submitted, own_original, submit
from backend.people.models import Person, Programme
from backend.settlement.models import is_month_closed

if TYPE_CHECKING:  # delivery_forms imports this module's limits and DeliveryDraft
    from backend.cases.delivery_forms import DeliveryForm

MIN_MINUTES, MAX_MINUTES = 5, 720
MIN_PEOPLE, MAX_PEOPLE = 1, 500
MAX_NOTE_CHARS = 500
MAX_BY_CHARS = 100

DIFFERENT_DELIVERY = _l("This service delivery was already sent with different content.")


class DeliveryRefused(Refused):
    """A rule refused the delivery; `field` names the form field the message belongs to."""


@dataclass(frozen=True, slots=True)
class DeliveryDraft:
    """What the phone sends for one delivery (never a status, a case or an author)."""

    plan_item_id: int
    delivered_on: date
    minutes: int
    delivered_by: str
    people_count: int
    at_home: bool
    note: str
    photo_uuids: tuple[uuid.UUID, ...]

    @property
    def content_sha256(self) -> str:
        payload = [
            self.plan_item_id,
            self.delivered_on.isoformat(),
            self.minutes,
            self.delivered_by,
            self.people_count,
            self.at_home,
            self.note,
            sorted(str(u) for u in self.photo_uuids),
        ]
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()


def minutes_message() -> str:
    return _("Enter how long the service took, between %(low)s and %(high)s minutes.") % {
        "low": MIN_MINUTES,
        "high": MAX_MINUTES,
    }


def people_message() -> str:
    return _("Enter how many people it served, between %(low)s and %(high)s.") % {
        "low": MIN_PEOPLE,
        "high": MAX_PEOPLE,
    }


def photos_message() -> str:
    return _("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}


def check_draft(draft: DeliveryDraft, *, today: date, opened_on: date) -> None:
    """Raise DeliveryRefused for the first rule the draft breaks (photos are checked separately)."""
    if not MIN_MINUTES <= draft.minutes <= MAX_MINUTES:
        raise DeliveryRefused(minutes_message(), field="minutes")
    if not MIN_PEOPLE <= draft.people_count <= MAX_PEOPLE:
        raise DeliveryRefused(people_message(), field="people_count")
    if draft.delivered_on > today:
        raise DeliveryRefused(_("A service cannot be logged before it is given."), field="delivered_on")
    if draft.delivered_on < opened_on:
        raise DeliveryRefused(_("This day is before the case was opened."), field="delivered_on")
    if len(draft.note) > MAX_NOTE_CHARS:
        raise DeliveryRefused(
            _("The note may have at most %(count)s characters.") % {"count": MAX_NOTE_CHARS}, field="note"
        )
    if len(draft.delivered_by) > MAX_BY_CHARS:
        raise DeliveryRefused(
            _("The name may have at most %(count)s characters.") % {"count": MAX_BY_CHARS},
            field="delivered_by",
        )


def delivery_options() -> list[Any]:
    """A delivery with what its pages show: photos, case and person, item label, sender, reviewer."""
    return [
        selectinload(Delivery.photo_links).selectinload(DeliveryPhoto.photo),
        selectinload(Delivery.case).selectinload(Case.person),
        selectinload(Delivery.case).selectinload(Case.area),
        selectinload(Delivery.plan_item).selectinload(PlanItem.service_item),
        selectinload(Delivery.submitter),
        selectinload(Delivery.person),
    ]


async def time_zone_of(db: AsyncSession, programme_id: int) -> ZoneInfo:
    zone = await db.scalar(select(Programme.time_zone).where(Programme.id == programme_id))
    return ZoneInfo(zone or "Asia/Shanghai")


async def active_items(db: AsyncSession, case: Case) -> list[PlanItem]:
    """The case's plan items that may still be delivered, in the order they were added."""
    rows = await db.scalars(
        select(PlanItem)
        .where(PlanItem.case_id == case.id, PlanItem.ended_at.is_(None))
        .options(selectinload(PlanItem.service_item).selectinload(ServiceItem.package))
        .order_by(PlanItem.id)
    )
    return list(rows)


async def get_item_and_case_for(
    db: AsyncSession, user: Principal, plan_item_id: int
) -> tuple[PlanItem, Case]:
    """The plan item and its case when the user may see the case (404 otherwise); 403 when she sees it
    but is not one of its station's workers."""
    case_id = await db.scalar(
        select(PlanItem.case_id)
        .join(Case, Case.id == PlanItem.case_id)
        .where(PlanItem.id == plan_item_id, policy.visible_cases(user))
    )
    if case_id is None:
        raise NotFound()
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    item = await db.get_one(PlanItem, plan_item_id, options=[selectinload(PlanItem.service_item)])
    return item, case


def _check_photos(case: Case, photos: Sequence[Photo], *, actor: Actor) -> None:
    if len(photos) > MAX_PHOTOS:
        raise DeliveryRefused(photos_message(), field="photos")
    for photo in photos:
        if photo.uploaded_by_id != actor.id or photo.subject_person_id != case.person_id:
            raise DeliveryRefused(
                _("A photo was not sent for this person. Send the photo again from this case."),
                field="photos",
            )


def _summary(delivery: Delivery) -> dict[str, object]:
    # Ids, numbers and a hash only: the note and the names stay out of the audit trail.
    return {
        "case_id": delivery.case_id,
        "plan_item_id": delivery.plan_item_id,
        "delivered_on": delivery.delivered_on.isoformat(),
        "minutes": delivery.minutes,
        "people_count": delivery.people_count,
        "at_home": delivery.at_home,
        "photo_ids": [link.photo_id for link in delivery.photo_links],
        "flagged": delivery.flagged,
        "content_sha256": delivery.content_sha256,
    }


async def do_send_delivery(
    db: AsyncSession,
    case: Case,
    item: PlanItem,
    draft: DeliveryDraft,
    photos: Sequence[Photo],
    *,
    client_uuid: uuid.UUID,
    actor: Principal,
    now: datetime | None = None,
    replaces: Delivery | None = None,
) -> Delivery:
    """Store one delivery (or a fix of one) with its photos and its audit event; the first delivery of
    a case moves it to `in_service`. `case.area` must be loaded. `now` is for the demo and tests."""
    now = now or utcnow()
    if not policy.works_on(actor, case):
        raise Forbidden()
    if item.case_id != case.id:
        raise NotFound()
    if case.status is CaseStatus.CLOSED:
        raise DeliveryRefused(
            _("This case is closed; no more services can be logged in it."), field="form", status_code=409
        )
    if item.ended_at is not None:
        raise DeliveryRefused(
            _("This service item has ended in the plan; choose one that is still in it."),
            field="plan_item_id",
            status_code=409,
        )
    zone = await time_zone_of(db, case.programme_id)
    check_draft(draft, today=now.astimezone(zone).date(), opened_on=case.opened_at.astimezone(zone).date())
    if await is_month_closed(db, case.programme_id, draft.delivered_on):
        raise DeliveryRefused(
            _("This month is closed; nothing in it can change."), field="delivered_on", status_code=409
        )
    _check_photos(case, photos, actor=actor)
    delivery = Delivery(
        client_uuid=client_uuid,
        case_id=case.id,
        plan_item_id=item.id,
        programme_id=case.programme_id,
        area_id=case.area_id,
        person_id=case.person_id,
        submitted_by_id=actor.id,
        delivered_on=draft.delivered_on,
        minutes=draft.minutes,
        delivered_by=draft.delivered_by,
        people_count=draft.people_count,
        at_home=draft.at_home,
        note=draft.note,
        content_sha256=draft.content_sha256,
        submitted_at=now,
        status=DeliveryStatus.PENDING,
        version=replaces.version + 1 if replaces is not None else 1,
        replaces_id=replaces.id if replaces is not None else None,
    )
    delivery.photo_links = [DeliveryPhoto(photo=p, position=n) for n, p in enumerate(photos, start=1)]
    delivery.flagged = any(p.reuse_of_id is not None for p in photos)
    if replaces is not None:
        replaces.superseded_at = now
        await db.flush()  # the old version steps aside before the new one takes its place
    db.add(delivery)
    await db.flush()
    change = _summary(delivery)
    if replaces is not None:
        change["replaces_id"] = replaces.id
    await audit.record(
        db,
        actor=actor,
        action="delivery.fixed" if replaces is not None else "delivery.sent",
        subject=delivery,
        change=change,
    )
    await advance(db, case, CaseStatus.IN_SERVICE, actor=actor, now=now)
    return delivery


def _photos_missing() -> DeliveryRefused:
    return DeliveryRefused(
        _("A photo of this service has not arrived yet. Send the photos first."),
        field="photos",
        status_code=404,
    )


async def submit_delivery(
    database: Database,
    *,
    user: Principal,
    draft: DeliveryDraft,
    client_uuid: uuid.UUID,
    replaces_id: int | None = None,
    now: datetime | None = None,
) -> Submitted[Delivery]:
    """Receive one delivery (or, with `replaces_id`, the fix of one sent back), idempotently."""

    async def create(db: AsyncSession) -> Delivery:
        replaces = None
        if replaces_id is not None:
            replaces = await fixable_delivery(db, user, replaces_id)
        item, case = await get_item_and_case_for(db, user, draft.plan_item_id)
        if replaces is not None and replaces.case_id != case.id:
            raise DeliveryRefused(
                _("A fix cannot move a service to another case."), field="plan_item_id", status_code=422
            )
        photos = await own_photos_by_uuid(db, user, draft.photo_uuids, missing=_photos_missing())
        return await do_send_delivery(
            db, case, item, draft, photos, client_uuid=client_uuid, actor=user, now=now, replaces=replaces
        )

    return await submit(
        database,
        Delivery,
        client_uuid=client_uuid,
        sha256=draft.content_sha256,
        actor=user,
        different=DIFFERENT_DELIVERY,
        create=create,
        options=delivery_options(),
    )


async def fixable_delivery(db: AsyncSession, user: Principal, delivery_id: int) -> Delivery:
    """Her own delivery, current and sent back for a fix; 404 / 403 / 409 otherwise."""
    delivery = await policy.get_delivery_for(db, user, delivery_id)
    if delivery.submitted_by_id != user.id:
        raise Forbidden()
    if delivery.superseded_at is not None:
        raise Conflict(_("This service delivery has already been replaced by a newer version."))
    if delivery.status is not DeliveryStatus.NEEDS_FIX:
        raise Conflict(_("Only a service delivery sent back for a fix can be fixed."))
    return delivery


async def send_delivery_form(
    intake: PhotoIntake,
    *,
    user: Principal,
    person: Person,
    form: DeliveryForm,
    replaces: Delivery | None = None,
    kept: Sequence[uuid.UUID] = (),
) -> Delivery:
    """The plain form's delivery (or fix): its photos, then the delivery; a resent form answers with the
    first. Raises Refused with the form field it belongs to."""
    sent = await own_original(
        intake.database, Delivery, form.client_uuid, actor=user, options=delivery_options()
    )
    if sent is not None:
        return sent
    added = await intake.receive_all(form.raw_photos(), actor=user, person=person, field="photos")
    result = await submit_delivery(
        intake.database,
        user=user,
        draft=form.draft((*kept, *added)),
        client_uuid=form.client_uuid,
        replaces_id=replaces.id if replaces is not None else None,
    )
    return result.entry


async def case_deliveries(db: AsyncSession, case: Case, *, limit: int = 50) -> list[Delivery]:
    """The case's current deliveries, newest first (for the case page)."""
    rows = await db.scalars(
        select(Delivery)
        .where(Delivery.case_id == case.id, Delivery.superseded_at.is_(None))
        .options(selectinload(Delivery.plan_item).selectinload(PlanItem.service_item))
        .order_by(Delivery.delivered_on.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return list(rows)
