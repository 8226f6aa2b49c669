"""Adding people through the pages: each addition leads to her sign-in card; memberships end access."""

from __future__ import annotations

from sqlalchemy import select

from backend.db import Database
from backend.people.models import Membership, User
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World
from tests.functional.people.org_support import (
    add_user_and_card,
    admin_browser,
    area_id,
    create_programme,
    post,
    programme_id,
    sign_in_with,
    user_id,
)


async def _district(database: Database, client_as: ClientAs):  # type: ignore[no-untyped-def]
    admin = await admin_browser(database, client_as)
    base = {"area_id": "new", "new_area_name": "梧桐区", "new_area_level": "district"}
    assert (
        await create_programme(
            admin, name="助餐", kind="neighbour_meals", rate="15", monthly_cap="450", **base
        )
    ).status_code == 303
    meals = await programme_id(database, "助餐")
    district = await area_id(database, "梧桐区")
    assert (
        await create_programme(
            admin, name="爱心妈妈", kind="caring_mothers", area_id=district, visit_interval_days="14"
        )
    ).status_code == 303
    mothers = await programme_id(database, "爱心妈妈")
    for street in ("梧桐街道", "六安街道"):
        await post(admin, f"/programmes/{meals}/areas", parent_id=district, name=street)
    return admin, meals, mothers, await area_id(database, "梧桐街道"), await area_id(database, "六安街道")


async def test_a_social_worker_is_added_signs_in_and_adds_a_neighbour_and_a_mother(
    database: Database, client_as: ClientAs, new_browser: NewBrowser
) -> None:
    admin, meals, mothers, wutong, liuan = await _district(database, client_as)
    home = (await admin.get("/")).text
    assert f"/users/new?programme_id={meals}" in home  # the first social worker is still to add
    code = await add_user_and_card(
        admin, display_name="李娜", programme_id=meals, area_id=wutong, role="social_worker", reference="SW-1"
    )
    worker_id = await user_id(database, "李娜")
    # One person, two programmes: the same account gets a second role.
    added = await post(
        admin, f"/users/{worker_id}/memberships", area_pick=f"{mothers}:{wutong}", role="social_worker"
    )
    assert added.status_code == 303
    worker = new_browser()
    await sign_in_with(worker, code)
    assert "李娜" in (await worker.get("/")).text
    neighbour_code = await add_user_and_card(
        worker, display_name="赵桂兰", programme_id=meals, area_id=wutong, role="neighbour"
    )
    mother_code = await add_user_and_card(
        worker, display_name="王秀英", programme_id=mothers, area_id=wutong, role="caring_mother"
    )
    for new_code, name in ((neighbour_code, "赵桂兰"), (mother_code, "王秀英")):
        phone = new_browser()
        await sign_in_with(phone, new_code)
        assert name in (await phone.get("/")).text
    # Outside her areas, or a role she may not give: refused beside the field, nothing created.
    outside = await post(
        worker, "/users", display_name="陈", programme_id=meals, area_id=liuan, role="neighbour"
    )
    assert outside.status_code == 422 and 'id="area_id-error"' in outside.text
    staff_role = await post(
        worker, "/users", display_name="陈", programme_id=meals, area_id=wutong, role="staff"
    )
    assert staff_role.status_code == 422 and 'id="role-error"' in staff_role.text
    # The same name again asks first; confirmed, a second person is added.
    asked = await post(
        worker, "/users", display_name="赵桂兰", programme_id=meals, area_id=wutong, role="neighbour"
    )
    assert asked.status_code == 200 and 'id="same-person"' in asked.text
    async with database.transaction(read_only=True) as db:
        assert len((await db.scalars(select(User).where(User.display_name == "赵桂兰"))).all()) == 1
    confirmed = await post(
        worker,
        "/users",
        display_name="赵桂兰",
        programme_id=meals,
        area_id=wutong,
        role="neighbour",
        confirm_new="yes",
    )
    assert confirmed.status_code == 307


async def test_ending_the_last_membership_or_deactivating_ends_her_access(
    database: Database, client_as: ClientAs, new_browser: NewBrowser
) -> None:
    admin, meals, _mothers, wutong, _liuan = await _district(database, client_as)
    first = new_browser()
    await sign_in_with(
        first,
        await add_user_and_card(
            admin, display_name="孙", programme_id=meals, area_id=wutong, role="neighbour"
        ),
    )
    sun = await user_id(database, "孙")
    assert (await first.get("/")).status_code == 200
    async with database.transaction(read_only=True) as db:
        membership = await db.scalar(select(Membership.id).where(Membership.user_id == sun))
    assert (await post(admin, f"/users/{sun}/memberships/end", membership_id=membership)).status_code == 303
    assert (await first.get("/")).headers.get("location", "").endswith("/signin")
    page = await admin.get(f"/users/{sun}")
    assert page.status_code == 200 and "孙" in page.text
    second = new_browser()
    await sign_in_with(
        second,
        await add_user_and_card(
            admin, display_name="钱", programme_id=meals, area_id=wutong, role="neighbour"
        ),
    )
    qian = await user_id(database, "钱")
    assert (await post(admin, f"/users/{qian}/name", display_name="")).status_code == 422
    assert (await post(admin, f"/users/{qian}/name", display_name="钱阿姨")).status_code == 303
    assert (await post(admin, f"/users/{qian}/active", active="no")).status_code == 303
    assert (await second.get("/")).headers.get("location", "").endswith("/signin")
    assert (await post(admin, f"/users/{qian}/active", active="yes")).status_code == 303
    async with database.transaction(read_only=True) as db:
        user = await db.get_one(User, qian)
        assert user.is_active and user.display_name == "钱阿姨"


async def test_refusals_on_user_pages(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    mother = world.user_id(personas.CARING_MOTHER)
    assert (await worker.get(f"/users/{mother}")).status_code == 200
    assert (await post(worker, f"/users/{mother}/active", active="no")).status_code == 403  # staff only
    assert (await worker.get(f"/users/{world.user_id(personas.STAFF)}")).status_code == 404
    neighbour = await client_as(personas.NEIGHBOUR)
    assert (await neighbour.get("/users/new")).status_code == 403
    assert (await neighbour.get(f"/users/{mother}")).status_code == 404
    outsider = await client_as(personas.OUTSIDER)
    assert (await outsider.get(f"/users/{mother}")).status_code == 404
    assert (await post(outsider, f"/users/{mother}/name", display_name="x")).status_code == 404
    staff = await client_as(personas.STAFF)
    assert (await staff.get(f"/users/{world.user_id(personas.OUTSIDER)}")).status_code == 404
