"""The reviewer's pages: the queue (phone-first cards, bulk approval), one entry, and decisions.

Every form works without JavaScript (a decision redirects to the next entry or back to the queue);
with htmx a decision on a queue card swaps just that card for a one-line result.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.settings import Settings
from backend.verification import policy
from backend.verification.forms import DecisionForm, parse_bulk_form, parse_decision_form
from backend.verification.models import Entry, EntryKind, kind_of
from backend.verification.queue import (
    load_cards,
    load_queue,
    load_reviewable,
    neighbours_in_queue,
    queue_size,
)
from backend.verification.service import ReviewRefused, do_bulk_approve, do_review


def _kind(raw: str) -> EntryKind:
    try:
        return EntryKind(raw)
    except ValueError:
        raise NotFound() from None


def _entry_url(app: Litestar, ref: tuple[EntryKind, int] | None) -> str | None:
    return app.route_reverse("review.entry", kind=ref[0].value, entry_id=ref[1]) if ref else None


@get("/review", name="review.queue")
async def queue(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    kind: FromQuery[str | None] = None,
    offset: FromQuery[int] = 0,
    approved: FromQuery[int | None] = None,
    sampled: FromQuery[int | None] = None,
    error: FromQuery[str | None] = None,
    decided: FromQuery[str | None] = None,
) -> Template:
    policy.require_reviewer(user)
    chosen = EntryKind(kind) if kind in {k.value for k in EntryKind} else None
    page = await load_queue(db, user, kind=chosen, offset=max(0, min(offset, 1_000_000)))
    # The navigation's count, from this page's own total when it covers the whole queue (see deps).
    request.state.review_pending = page.total if chosen is None and page.cards else await queue_size(db, user)
    return Template(
        template_name="verification/queue.html",
        context={
            "principal": user,
            "page": page,
            "done": {"approved": approved, "sampled": sampled},
            "bulk_error": error == "none",
            "decided": await _decided(db, user, decided),
        },
    )


async def _decided(db: AsyncSession, user: Principal, ref: str | None) -> dict[str, Any] | None:
    """The entry just decided ("meal-12"), for the confirmation shown on the page that follows; an entry
    this reviewer may not see is not shown (nothing is said about it)."""
    kind, _sep, raw_id = (ref or "").partition("-")
    if kind not in {k.value for k in EntryKind} or not raw_id.isdigit() or len(raw_id) > 12:
        return None
    try:
        entry = await policy.get_entry_for_review(db, user, EntryKind(kind), int(raw_id))
    except NotFound:
        return None
    return {"entry": entry, "kind": EntryKind(kind)}


async def _entry_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    entry: Entry,
    *,
    form: DecisionForm | None = None,
    status_code: int = 200,
    decided: dict[str, Any] | None = None,
) -> Template:
    kind = kind_of(entry)
    cards = await load_cards(db, user, [(kind, entry.id)])
    before, after = await neighbours_in_queue(db, user, kind, entry.id)
    return Template(
        template_name="verification/entry.html",
        context={
            "principal": user,
            "card": cards[0],
            "previous_url": _entry_url(request.app, before),
            "next_url": _entry_url(request.app, after),
            "form": form or DecisionForm(),
            "decided": decided,
        },
        status_code=status_code,
    )


@get("/review/{kind:str}/{entry_id:int}", name="review.entry")
async def entry_page(
    request: Request[Any, Any, Any],
    kind: FromPath[str],
    entry_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    decided: FromQuery[str | None] = None,
) -> Template:
    entry = await policy.get_entry_for_review(db, user, _kind(kind), entry_id)
    return await _entry_page(request, db, user, entry, decided=await _decided(db, user, decided))


@post("/review/{kind:str}/{entry_id:int}", name="review.decide")
async def decide(
    request: HTMXRequest,
    kind: FromPath[str],
    entry_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    entry_kind = _kind(kind)
    entry = await policy.get_entry_for_review(db, user, entry_kind, entry_id)
    raw = await request.form()
    form = parse_decision_form(raw)
    from_queue = raw.get("from") == "queue"
    if form.decision is not None and not form.errors:
        try:
            await do_review(db, entry, decision=form.decision, reason=form.reason, note=form.note, actor=user)
        except ReviewRefused as exc:
            form.errors[exc.field] = str(exc.detail)
    if form.errors:
        return await _entry_page(request, db, user, entry, form=form, status_code=422)
    ref = f"{entry_kind.value}-{entry.id}"
    if request.htmx and from_queue:
        # The card becomes its result, and the navigation's count follows in the same answer.
        return Template(
            template_name="verification/_decided.html",
            context={
                "principal": user,
                "entry": entry,
                "kind": entry_kind,
                "pending": await queue_size(db, user),
            },
        )
    queue_url = request.app.route_reverse("review.queue")
    if from_queue:
        return Redirect(f"{queue_url}?{urlencode({'decided': ref})}#card-{ref}", status_code=303)
    # The next entry opens with a line saying what was done to this one.
    _before, after = await neighbours_in_queue(db, user, entry_kind, entry.id)
    next_url = _entry_url(request.app, after) or queue_url
    return Redirect(f"{next_url}?{urlencode({'decided': ref})}", status_code=303)


@post("/review/bulk-approve", name="review.bulk_approve")
async def bulk_approve(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> Redirect:
    policy.require_reviewer(user)
    refs, error = parse_bulk_form(await request.form())
    queue_url = request.app.route_reverse("review.queue")
    if error:
        return Redirect(f"{queue_url}?error=none", status_code=303)
    entries = await load_reviewable(db, user, refs)
    result = await do_bulk_approve(db, entries, actor=user, sample_percent=settings.review_sample_percent)
    query = urlencode({"approved": len(result.approved), "sampled": len(result.sampled)})
    return Redirect(f"{queue_url}?{query}", status_code=303)


routes = [queue, entry_page, decide, bulk_approve]
