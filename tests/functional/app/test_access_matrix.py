"""Every route × every persona × own/foreign object, against the access matrix in docs/access-matrix.md.

That table is the single statement of who may do what. This test reads it, fails when the app
has a route the table does not list (or the table lists one the app does not have), and then tries
each route as each persona, comparing status codes.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from backend.auth.models import Passkey
from backend.db import Database
from backend.evidence.models import Photo
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional import meals_support, visits_support
from tests.functional.photos_support import form_upload

MATRIX = Path(__file__).resolve().parents[3] / "docs" / "access-matrix.md"
ANON = "signed-out"
COLUMNS = [
    ANON,
    personas.CARING_MOTHER,
    personas.NEIGHBOUR,
    personas.SOCIAL_WORKER,
    personas.STAFF,
    personas.OUTSIDER,
]
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

# For object routes: (own, foreign) per persona; a person key, a user handle, or None (no such object).
PERSON_OBJECTS = {
    ANON: (None, "qian"),
    personas.CARING_MOTHER: ("xiaoyu", "duoduo"),
    personas.NEIGHBOUR: ("qian", "zheng"),
    personas.SOCIAL_WORKER: ("qian", "lele"),
    personas.STAFF: ("feng", "outsider_resident"),
    personas.OUTSIDER: ("outsider_resident", "qian"),
}
USER_OBJECTS = {
    ANON: (None, personas.CARING_MOTHER),
    personas.CARING_MOTHER: (personas.NEIGHBOUR, "demo-mother-zhang"),
    personas.NEIGHBOUR: (personas.CARING_MOTHER, "demo-mother-zhang"),
    personas.SOCIAL_WORKER: (personas.CARING_MOTHER, "demo-mother-zhang"),
    personas.STAFF: (personas.SOCIAL_WORKER, personas.OUTSIDER),
    personas.OUTSIDER: (None, personas.NEIGHBOUR),
}
# Photos: (uploader, subject person) for the persona's own and for a foreign photo.
PHOTO_OBJECTS = {
    ANON: (None, (personas.NEIGHBOUR, "qian")),
    personas.CARING_MOTHER: ((personas.CARING_MOTHER, "xiaoyu"), (personas.OTHER_MOTHER, "duoduo")),
    personas.NEIGHBOUR: ((personas.NEIGHBOUR, "qian"), (personas.OTHER_NEIGHBOUR, "zheng")),
    personas.SOCIAL_WORKER: ((personas.NEIGHBOUR, "qian"), (personas.OTHER_STREET_WORKER, "feng")),
    personas.STAFF: ((personas.OTHER_STREET_WORKER, "feng"), (personas.OUTSIDER, "outsider_resident")),
    personas.OUTSIDER: ((personas.OUTSIDER, "outsider_resident"), (personas.NEIGHBOUR, "qian")),
}
# Meal agreements and their check-ins: (own, foreign) per persona, by the resident's key.
AGREEMENT_OBJECTS = {
    ANON: (None, "qian"),
    personas.CARING_MOTHER: (None, "qian"),
    personas.NEIGHBOUR: ("qian", "zheng"),
    personas.SOCIAL_WORKER: ("qian", "feng"),
    personas.STAFF: ("feng", "outsider_resident"),
    personas.OUTSIDER: ("outsider_resident", "qian"),
}
CHECKIN_OBJECTS = AGREEMENT_OBJECTS
# Caring mothers' visits: (own, foreign) per persona, by the child's key. The world has no visit in
# another district's programme, so the staff member's foreign visit is not tried.
VISIT_OBJECTS = {
    ANON: (None, "xiaoyu"),
    personas.CARING_MOTHER: ("xiaoyu", "duoduo"),
    personas.NEIGHBOUR: (None, "xiaoyu"),
    personas.SOCIAL_WORKER: ("xiaoyu", "lele"),
    personas.STAFF: ("lele", None),
    personas.OUTSIDER: (None, "xiaoyu"),
}
# Pairings (for their exit process), by the child's key: the same children as their visits, since
# the world has no pairing of another district either.
PAIRING_OBJECTS = VISIT_OBJECTS
# Children for matching and their profiles: (own, foreign) per persona, by the child's key.
CHILD_OBJECTS = {
    ANON: (None, "xiaoqi"),
    personas.CARING_MOTHER: ("xiaoyu", "xiaoqi"),
    personas.NEIGHBOUR: (None, "xiaoqi"),
    personas.SOCIAL_WORKER: ("xiaoqi", "lele"),
    personas.STAFF: ("xiaoqi", None),
    personas.OUTSIDER: (None, "xiaoqi"),
}
# Caring-mother programmes (their checklist) and checklist items, by "mothers" (the demo's) or
# "outsider" (another district's programme, given one item of its own for the test).
PROGRAMME_OBJECTS = {
    ANON: (None, "mothers"),
    personas.CARING_MOTHER: ("mothers", "outsider"),
    personas.NEIGHBOUR: (None, "mothers"),
    personas.SOCIAL_WORKER: ("mothers", "outsider"),
    personas.STAFF: ("mothers", "outsider"),
    personas.OUTSIDER: (None, "mothers"),
}
# Caring mothers (their profiles), by handle; staff see every demo mother and there is no other.
MOTHER_OBJECTS = {
    ANON: (None, personas.CARING_MOTHER),
    personas.CARING_MOTHER: (personas.CARING_MOTHER, "demo-mother-zhang"),
    personas.NEIGHBOUR: (None, personas.CARING_MOTHER),
    personas.SOCIAL_WORKER: (personas.CARING_MOTHER, "demo-mother-zhang"),
    personas.STAFF: ("demo-mother-zhang", None),
    personas.OUTSIDER: (None, personas.CARING_MOTHER),
}
# Meal programmes (settlement): (own, foreign) per persona, by key: the demo's two programmes, or the
# other district's meal programme.
MEAL_PROGRAMME_OBJECTS = {
    ANON: (None, "meals"),
    personas.CARING_MOTHER: ("mothers", "outsider"),
    personas.NEIGHBOUR: ("meals", "outsider"),
    personas.SOCIAL_WORKER: ("meals", "outsider"),
    personas.STAFF: ("meals", "outsider"),
    personas.OUTSIDER: ("outsider", "meals"),
}
# Areas (their meetings) and meetings, by key (see visits_support.load_meeting_objects). The mother's
# own meeting is the one she came to; nobody has an area of meetings but social workers and staff.
AREA_OBJECTS = {
    ANON: (None, "wutong"),
    personas.CARING_MOTHER: (None, "wutong"),
    personas.NEIGHBOUR: (None, "wutong"),
    personas.SOCIAL_WORKER: ("wutong", "liuan"),
    personas.STAFF: ("district", "outsider"),
    personas.OUTSIDER: (None, "wutong"),
}
MEETING_OBJECTS = {
    ANON: (None, "wutong"),
    personas.CARING_MOTHER: ("wutong", "liuan"),
    personas.NEIGHBOUR: (None, "wutong"),
    personas.SOCIAL_WORKER: ("wutong", "liuan"),
    personas.STAFF: ("liuan", "outsider"),
    personas.OUTSIDER: (None, "wutong"),
}
# Service deliveries, by "wutong" (the demo's first delivery at Wutong's station): among these personas
# only the programme's staff may read it (the station's own workers are not columns of the matrix).
DELIVERY_OBJECTS = {
    ANON: (None, "wutong"),
    personas.CARING_MOTHER: (None, "wutong"),
    personas.NEIGHBOUR: (None, "wutong"),
    personas.SOCIAL_WORKER: (None, "wutong"),
    personas.STAFF: ("wutong", None),
    personas.OUTSIDER: (None, "wutong"),
}
delivery_ids: dict[str, int] = {}
# Station orders, by "wutong" (the demo scout's open report in Wutong's queue): among these personas
# only the programme's staff may read it (the station's own workers are not columns of the matrix).
ORDER_OBJECTS = {
    ANON: (None, "wutong"),
    personas.CARING_MOTHER: (None, "wutong"),
    personas.NEIGHBOUR: (None, "wutong"),
    personas.SOCIAL_WORKER: (None, "wutong"),
    personas.STAFF: ("wutong", None),
    personas.OUTSIDER: (None, "wutong"),
}
order_ids: dict[str, int] = {}
# Cases, by "station" (the demo's first case of the station programme): among these personas only the
# programme's staff may read it, and staff never change a case (the station's workers are not columns).
CASE_OBJECTS = {
    ANON: (None, "station"),
    personas.CARING_MOTHER: (None, "station"),
    personas.NEIGHBOUR: (None, "station"),
    personas.SOCIAL_WORKER: (None, "station"),
    personas.STAFF: ("station", None),
    personas.OUTSIDER: (None, "station"),
}
case_ids: dict[str, int] = {}
# The pillar-mother programme's objects (backend/pillar/demo.py), by parameter: the first row of each
# kind in the demo programme. Among these personas only the programme's staff (周敏) reaches them; its
# agency workers, cadre, volunteers and mothers are tried in tests/functional/pillar/.
PILLAR_OBJECTS = {
    ANON: (None, "demo"),
    personas.CARING_MOTHER: (None, "demo"),
    personas.NEIGHBOUR: (None, "demo"),
    personas.SOCIAL_WORKER: (None, "demo"),
    personas.STAFF: ("demo", "outsider"),
    personas.OUTSIDER: (None, "demo"),
}
PILLAR_PARAMS = (
    "pillar_id",
    "file_id",
    "agency_id",
    "worker_id",
    "contract_id",
    "stage_id",
    "member_id",
    "criterion_id",
    "evaluation_id",
)
pillar_ids: dict[str, int] = {}
FIXED_PARAMS = {
    "code": "ABCDEFGHJKMN",
    "path": "nope",
    "file_path": "app.css",
    "client_uuid": "0b6f3f0e-8d4c-4c39-9a61-3c1f5f3f7a10",
    # Review routes are tried on meal check-ins (entry_id is then a check-in, see CHECKIN_OBJECTS).
    "kind": "meal",
}


def read_matrix() -> dict[tuple[str, str], list[str]]:
    rows: dict[tuple[str, str], list[str]] = {}
    for line in MATRIX.read_text().splitlines():
        match = re.match(r"^\| `([A-Z]+) (/[^`]*)` \|(.*)\|\s*$", line)
        if match:
            cells = [c.strip() for c in match.group(3).split("|")]
            assert len(cells) == len(COLUMNS), line
            rows[(match.group(1), match.group(2))] = cells
    return rows


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in SKIPPED_METHODS
    }


def test_every_route_is_in_the_access_matrix_and_nothing_else_is(app: Litestar) -> None:
    documented = set(read_matrix())
    actual = app_routes(app)
    assert sorted(actual - documented) == [], "routes missing from the access matrix"
    assert sorted(documented - actual) == [], "the access matrix lists routes the app does not have"


def _expected(cell: str) -> tuple[int | None, int | None]:
    own, _, foreign = cell.partition("/")
    own_status = None if own.strip() == "—" else int(own)
    return own_status, int(foreign) if foreign else own_status


async def _own_passkeys(database: Database, world: World) -> dict[str, int]:
    ids = {}
    async with database.transaction() as db:
        for handle in [*COLUMNS[1:], personas.OTHER_MOTHER]:
            key = Passkey(
                user_id=world.user_id(handle),
                credential_id=secrets.token_urlsafe(32),
                public_key=b"test-key",
                sign_count=0,
                name="k",
                backed_up=False,
            )
            db.add(key)
            await db.flush()
            ids[handle] = key.id
    return ids


def _person(world: World, key: str) -> int:
    return world.outsider_resident_id if key == "outsider_resident" else world.person_id(key)


async def _photos(client_as: ClientAs, world: World, database: Database) -> dict[tuple[str, str], int]:
    """One photo per (uploader, subject) the matrix needs, sent through the real upload form."""
    wanted = {pair for own_foreign in PHOTO_OBJECTS.values() for pair in own_foreign if pair is not None}
    ids = {}
    for n, (uploader, subject) in enumerate(sorted(wanted)):
        browser = await client_as(uploader)
        response = await form_upload(browser, _person(world, subject), phone_photo((320, 240), seed=n))
        assert response.status_code in (200, 303), response.text
        async with database.transaction(read_only=True) as db:
            ids[(uploader, subject)] = int(await db.scalar(select(func.max(Photo.id))) or 0)
    return ids


async def _meal_objects(database: Database, world: World) -> dict[str, int]:
    """Each resident's agreement ("agreement:<key>") and one check-in of yesterday ("checkin:<key>")."""
    outsider = await meals_support.outsider_agreement(database, world)
    ids = {}
    yesterday = meals_support.shanghai_today() - timedelta(days=1)
    for n, key in enumerate(("qian", "zheng", "feng", "outsider_resident")):
        agreement = (
            outsider
            if key == "outsider_resident"
            else await meals_support.agreement_of(database, _person(world, key))
        )
        checkin = await meals_support.make_checkin(database, agreement, yesterday, seed=700 + n)
        ids[f"agreement:{key}"], ids[f"checkin:{key}"] = agreement.id, checkin.id
    return ids


async def _visit_objects(database: Database, world: World) -> dict[str, int]:
    """One visit per child key: the demo's for xiaoyu and duoduo, a new one for lele."""
    return {
        key: await visits_support.a_visit_of(database, world, key) for key in ("xiaoyu", "duoduo", "lele")
    }


def _object_id(
    world: World,
    passkeys: dict[str, int],
    photos: dict[tuple[str, str], int],
    persona: str,
    param: str,
    which: int,
    meals: dict[str, int] | None = None,
    visits: dict[str, int] | None = None,
) -> int | None:
    if param == "pairing_id":
        child = PAIRING_OBJECTS[persona][which]
        return None if child is None else visits_support.pairing_ids[child]
    if param in ("programme_id", "item_id"):
        key = PROGRAMME_OBJECTS[persona][which]
        if key is None:
            return None
        return visits_support.programme_objects[f"{param}:{key}"]
    if param in ("area_id", "meeting_id"):
        key = (AREA_OBJECTS if param == "area_id" else MEETING_OBJECTS)[persona][which]
        return None if key is None else visits_support.meeting_objects[f"{param}:{key}"]
    if param == "mother_id":
        handle = MOTHER_OBJECTS[persona][which]
        return None if handle is None else world.user_id(handle)
    if param == "child_id":
        child = CHILD_OBJECTS[persona][which]
        return None if child is None else world.person_id(child)
    if param == "visit_id" and visits is not None:
        child = VISIT_OBJECTS[persona][which]
        return None if child is None else visits[child]
    if param in ("agreement_id", "checkin_id", "entry_id") and meals is not None:
        key = (AGREEMENT_OBJECTS if param == "agreement_id" else CHECKIN_OBJECTS)[persona][which]
        kind = "agreement" if param == "agreement_id" else "checkin"
        return None if key is None else meals[f"{kind}:{key}"]
    if param == "meal_programme_id":
        key = MEAL_PROGRAMME_OBJECTS[persona][which]
        if key is None:
            return None
        return world.outsider_programme_id if key == "outsider" else world.cast.programmes[key].id
    if param == "person_id":
        key = PERSON_OBJECTS[persona][which]
        return None if key is None else _person(world, key)
    if param == "photo_id":
        pair = PHOTO_OBJECTS[persona][which]
        return None if pair is None else photos[pair]
    if param == "user_id":
        handle = USER_OBJECTS[persona][which]
        return None if handle is None else world.user_id(handle)
    if param == "passkey_id":
        if persona == ANON:
            return None if which == 0 else passkeys[personas.OTHER_MOTHER]
        return passkeys[persona] if which == 0 else passkeys[personas.OTHER_MOTHER]
    if param == "delivery_id":
        key = DELIVERY_OBJECTS[persona][which]
        return None if key is None else delivery_ids[key]
    if param == "order_id":
        key = ORDER_OBJECTS[persona][which]
        return None if key is None else order_ids[key]
    if param == "case_id":
        key = CASE_OBJECTS[persona][which]
        return None if key is None else case_ids[key]
    if param in PILLAR_PARAMS:
        key = PILLAR_OBJECTS[persona][which]
        if key is None:
            return None
        if key == "outsider":
            # Another district's programme: a pillar_id there is not hers; other objects have no foreign.
            return world.outsider_programme_id if param == "pillar_id" else None
        return pillar_ids[param]
    raise AssertionError(f"no object kind for parameter {param}")


@pytest.mark.parametrize(("method", "path"), sorted(read_matrix()))
async def test_route_answers_every_persona_as_the_matrix_says(
    method: str,
    path: str,
    client_as: ClientAs,
    new_browser: NewBrowser,
    world: World,
    database: Database,
) -> None:
    cells = read_matrix()[(method, path)]
    passkeys = await _own_passkeys(database, world)
    params = re.findall(r"\{(\w+):\w+\}", path)
    photos = await _photos(client_as, world, database) if "photo_id" in params else {}
    meal_params = {"agreement_id", "checkin_id", "entry_id"} & set(params)
    meals = await _meal_objects(database, world) if meal_params else None
    visits = await _visit_objects(database, world) if "visit_id" in params else None
    if "pairing_id" in params:
        await visits_support.load_pairing_ids(database, world)
    if {"programme_id", "item_id"} & set(params):
        await visits_support.load_programme_objects(database, world)
    if {"area_id", "meeting_id"} & set(params):
        await visits_support.load_meeting_objects(database, world)
    if "delivery_id" in params:
        await _load_delivery_ids(database, world)
    if "order_id" in params:
        await _load_order_ids(database, world)
    if "case_id" in params:
        await _load_case_ids(database, world)
    if set(PILLAR_PARAMS) & set(params):
        await _load_pillar_ids(database, world)
    object_params = [p for p in params if p not in FIXED_PARAMS]
    failures = []
    for persona, cell in zip(COLUMNS, cells, strict=True):
        for which, expected in enumerate(_expected(cell)):
            if expected is None or (which == 1 and not object_params):
                continue
            url = path
            for param in params:
                value = FIXED_PARAMS.get(param) or _object_id(
                    world, passkeys, photos, persona, param, which, meals=meals, visits=visits
                )
                if value is None:
                    break
                url = re.sub(r"\{" + param + r":\w+\}", str(value), url)
            else:
                browser = new_browser() if persona == ANON else await client_as(persona)
                status = (await _send(browser, method, url)).status_code
                if status != expected:
                    failures.append(f"{persona} {'own' if which == 0 else 'foreign'}: {status} != {expected}")
    assert failures == []


async def _load_delivery_ids(database: Database, world: World) -> None:
    from backend.cases.models import Delivery

    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Delivery.id)
            .where(Delivery.area_id == world.cast.areas["wutong"].id)
            .order_by(Delivery.id)
            .limit(1)
        )
    assert found is not None, "the demo has a service delivery at Wutong"
    delivery_ids["wutong"] = int(found)


async def _load_order_ids(database: Database, world: World) -> None:
    from backend.cases.models import CaseOrder, OrderSource

    async with database.transaction(read_only=True) as db:
        order_ids["wutong"] = int(
            await db.scalar(
                select(CaseOrder.id).where(
                    CaseOrder.source == OrderSource.SCOUT,
                    CaseOrder.reported_by_id == world.user_id("demo-scout-ma"),
                )
            )
            or 0
        )


async def _load_case_ids(database: Database, world: World) -> None:
    from backend.cases.models import Case

    async with database.transaction(read_only=True) as db:
        case_ids["station"] = int(
            await db.scalar(
                select(Case.id)
                .where(Case.programme_id == world.cast.programmes["station"].id)
                .order_by(Case.id)
                .limit(1)
            )
            or 0
        )


async def _load_pillar_ids(database: Database, world: World) -> None:
    """The first of each pillar object in the demo programme (the only pillar programme the demo has)."""
    from backend.pillar import models as pm

    programme_id = world.cast.programmes["pillar"].id
    queries: dict[str, Any] = {
        "file_id": select(pm.PillarFile.id).where(pm.PillarFile.programme_id == programme_id),
        "agency_id": select(pm.Agency.id).where(pm.Agency.programme_id == programme_id),
        "worker_id": select(pm.AgencyWorker.id)
        .join(pm.Agency, pm.Agency.id == pm.AgencyWorker.agency_id)
        .where(pm.Agency.programme_id == programme_id),
        "contract_id": select(pm.Contract.id).where(pm.Contract.programme_id == programme_id),
        "stage_id": select(pm.ContractStage.id).where(pm.ContractStage.programme_id == programme_id),
        "member_id": select(pm.GroupMember.id)
        .join(pm.PillarFile, pm.PillarFile.id == pm.GroupMember.file_id)
        .where(pm.PillarFile.programme_id == programme_id),
        "criterion_id": select(pm.Criterion.id).where(pm.Criterion.programme_id == programme_id),
        "evaluation_id": select(pm.Evaluation.id).where(pm.Evaluation.programme_id == programme_id),
    }
    pillar_ids["pillar_id"] = programme_id
    async with database.transaction(read_only=True) as db:
        for param, query in queries.items():
            found = await db.scalar(query.order_by(query.selected_columns[0]).limit(1))
            # An object the demo lacks (an evaluation) gets an id nobody has: 404 for every persona.
            pillar_ids[param] = int(found) if found is not None else 2_000_000_000


async def _send(browser: httpx.AsyncClient, method: str, url: str) -> httpx.Response:
    if method == "GET":
        return await browser.get(url)
    fields = {"_csrf_token": await csrf_token(browser)}
    if url.endswith("/recover"):  # what the confirmation page's button adds: without it, only asked
        fields["confirm"] = "yes"
    return await browser.request(method, url, data=fields)
