"""Staff keep the station programme's service packages and assessment dimensions; retired ones stay on
the records that used them."""

from __future__ import annotations

from sqlalchemy import select

from backend.cases.models import CaseDimension, ServiceItem, ServicePackage
from backend.db import Database
from tests.conftest import ClientAs, World
from tests.functional.cases.test_cases_support import (
    MOTHER,
    SCOUT,
    STAFF,
    WORKER_HE,
    add_item,
    assess,
    assessment_fields,
    open_case,
    post,
)
from tests.functional.photos_support import audit_actions


def _station(world: World) -> int:
    return world.cast.programmes["station"].id


async def _packages(database: Database, programme_id: int) -> dict[str, ServicePackage]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(select(ServicePackage).where(ServicePackage.programme_id == programme_id))
        return {p.name: p for p in rows}


async def _items(database: Database, package_id: int) -> dict[str, ServiceItem]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(select(ServiceItem).where(ServiceItem.package_id == package_id))
        return {i.label: i for i in rows}


async def _dimensions(database: Database, programme_id: int) -> dict[str, CaseDimension]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(select(CaseDimension).where(CaseDimension.programme_id == programme_id))
        return {d.label: d for d in rows}


async def test_staff_add_rename_and_retire_packages_and_their_services(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(STAFF)
    url = f"/programmes/{_station(world)}/packages"
    page = await staff.get(url)
    assert page.status_code == 200 and "老年人关爱" in page.text and 'id="package-add"' in page.text
    assert (await post(staff, url, {"action": "add_package", "name": "家庭支持"})).status_code == 303
    package = (await _packages(database, _station(world)))["家庭支持"]
    assert (
        await post(
            staff, url, {"action": "rename_package", "package_id": str(package.id), "name": "家庭支持服务"}
        )
    ).status_code == 303
    assert (
        await post(staff, url, {"action": "add_item", "package_id": str(package.id), "name": "亲子活动"})
    ).status_code == 303
    item = (await _items(database, package.id))["亲子活动"]
    assert (
        await post(staff, url, {"action": "rename_item", "item_id": str(item.id), "name": "亲子小组活动"})
    ).status_code == 303
    assert (await post(staff, url, {"action": "retire_item", "item_id": str(item.id)})).status_code == 303
    assert (
        await post(staff, url, {"action": "retire_package", "package_id": str(package.id)})
    ).status_code == 303
    assert (
        await post(staff, url, {"action": "retire_package", "package_id": str(package.id)})
    ).status_code == 303
    packages = await _packages(database, _station(world))
    assert packages["家庭支持服务"].retired_at is not None
    assert (await _items(database, package.id))["亲子小组活动"].retired_at is not None
    for action in ("added", "renamed", "retired"):
        assert await audit_actions(database, f"cases.package_{action}"), action
        assert await audit_actions(database, f"cases.item_{action}"), action
    assert len(await audit_actions(database, "cases.package_retired")) == 1  # the re-send changed nothing


async def test_bad_or_duplicate_names_are_refused_beside_the_field(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(STAFF)
    url = f"/programmes/{_station(world)}/packages"
    before = len(await _packages(database, _station(world)))
    taken = await post(staff, url, {"action": "add_package", "name": "老年人关爱"})
    assert taken.status_code == 409 and 'id="package_name-error"' in taken.text
    short = await post(staff, url, {"action": "add_package", "name": "x"})
    assert short.status_code == 400 and 'id="package_name-error"' in short.text
    long = await post(staff, url, {"action": "add_package", "name": "长" * 500})
    assert long.status_code == 400
    assert (await post(staff, url, {"action": "what"})).status_code == 400
    assert (await post(staff, url, {"action": "retire_item", "item_id": "999999"})).status_code == 404
    assert len(await _packages(database, _station(world))) == before


async def test_staff_keep_the_dimensions_and_a_retired_one_leaves_the_next_assessment(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(STAFF)
    url = f"/programmes/{_station(world)}/dimensions"
    assert (await staff.get(url)).status_code == 200
    assert (await post(staff, url, {"action": "add", "label": "家庭关系"})).status_code == 303
    added = (await _dimensions(database, _station(world)))["家庭关系"]
    assert (
        await post(staff, url, {"action": "rename", "dimension_id": str(added.id), "label": "家庭关系与支持"})
    ).status_code == 303
    assert (await post(staff, url, {"action": "add", "label": "身体健康"})).status_code == 409
    education = (await _dimensions(database, _station(world)))["教育"]
    assert (
        await post(staff, url, {"action": "retire", "dimension_id": str(education.id)})
    ).status_code == 303
    for action in ("added", "renamed", "retired"):
        assert await audit_actions(database, f"cases.dimension_{action}"), action

    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    form = await he.get(f"/cases/{case_id}/assessments/new")
    assert "家庭关系与支持" in form.text and f'name="rating-{education.id}"' not in form.text
    fields = await assessment_fields(database, world)
    assert f"rating-{added.id}" in fields and f"rating-{education.id}" not in fields
    assert (await assess(he, case_id, fields)).status_code == 303


async def test_a_retired_service_stays_on_the_plan_that_uses_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(WORKER_HE)
    case_id = await open_case(he, world)
    assert (await add_item(he, database, world, case_id)).status_code == 303
    shown = await he.get(f"/cases/{case_id}")
    staff = await client_as(STAFF)
    packages = await _packages(database, _station(world))
    first = min(packages.values(), key=lambda p: (p.position, p.id))
    item = min((await _items(database, first.id)).values(), key=lambda i: (i.position, i.id))
    assert item.label in shown.text
    url = f"/programmes/{_station(world)}/packages"
    assert (await post(staff, url, {"action": "retire_item", "item_id": str(item.id)})).status_code == 303
    assert item.label in (await he.get(f"/cases/{case_id}")).text
    plan_page = await he.get(f"/cases/{case_id}/plan")
    assert f">{item.label}</option>" not in plan_page.text and item.label in plan_page.text


async def test_only_the_programmes_staff_keep_packages_and_dimensions(
    client_as: ClientAs, world: World, database: Database
) -> None:
    station = _station(world)
    for path in ("packages", "dimensions"):
        he = await client_as(WORKER_HE)
        assert (await he.get(f"/programmes/{station}/{path}")).status_code == 403
        assert (
            await post(
                he, f"/programmes/{station}/{path}", {"action": "add", "label": "某某", "name": "某某"}
            )
        ).status_code == 403
        scout = await client_as(SCOUT)
        assert (await scout.get(f"/programmes/{station}/{path}")).status_code == 403
        mother = await client_as(MOTHER)
        assert (await mother.get(f"/programmes/{station}/{path}")).status_code == 404
        staff = await client_as(STAFF)
        mothers = world.cast.programmes["mothers"].id
        assert (await staff.get(f"/programmes/{mothers}/{path}")).status_code == 404
        assert (await staff.get(f"/programmes/{world.outsider_programme_id}/{path}")).status_code == 404
