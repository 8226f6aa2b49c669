"""The demo's social-work station programme: two street stations of Qingxi District, their workers, a
hardship scout, three households and orders in each state (open, open past its due time, taken into a
case, closed), so every role has something to click through."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.cases.models import CaseOrder, OrderCategory, OrderSource, OrderStatus, ReferrerKind
from backend.cases.service import do_open_case
from backend.db import utcnow
from backend.people.models import Area, Person, PersonKind, Programme, Role, User
from backend.people.person_service import do_create_person
from backend.people.service import do_add_membership

# (handle, name, what) printed with the other demo sign-in links.
STATION_PERSONAS: list[tuple[str, str, str]] = [
    ("demo-sw-he", "何芸", "social worker, Wutong Street social-work station"),
    ("demo-sw-gao", "高磊", "social worker, Wutong Street social-work station"),
    ("demo-scout-ma", "马建国", "hardship scout (排困员), Guiyuan Community"),
]

# (key, name, birth year, area key)
HOUSEHOLDS = [
    ("tang", "唐阿姨", 1952, "guiyuan"),
    ("luo", "罗大爷", 1946, "songfeng"),
    ("xu", "徐小军", 2012, "hetang"),
]


async def create_station_demo(
    db: AsyncSession,
    *,
    programme: Programme,
    areas: dict[str, Area],
    users: dict[str, User],
    people: dict[str, Person],
    now: datetime | None = None,
) -> None:
    """Memberships, households and orders of the station programme (created by backend/demo.py)."""
    now = now or utcnow()
    actor = None
    wutong, liuan, district = areas["wutong"], areas["liuan"], areas["district"]
    await do_add_membership(
        db, user=users["demo-staff-zhou"], programme=programme, area=district, role=Role.STAFF, actor=actor
    )
    for handle, area in (("demo-sw-he", wutong), ("demo-sw-gao", wutong), ("demo-sw-chen", liuan)):
        await do_add_membership(
            db, user=users[handle], programme=programme, area=area, role=Role.SOCIAL_WORKER, actor=actor
        )
    await do_add_membership(
        db,
        user=users["demo-scout-ma"],
        programme=programme,
        area=areas["guiyuan"],
        role=Role.HARDSHIP_SCOUT,
        actor=actor,
    )
    for key, name, born, area_key in HOUSEHOLDS:
        people[key] = await do_create_person(
            db,
            programme=programme,
            area=areas[area_key],
            kind=PersonKind.RESIDENT,
            display_name=name,
            birth_year=born,
            actor=actor,
        )

    def order(**fields: object) -> CaseOrder:
        return CaseOrder(programme_id=programme.id, client_uuid=uuid.uuid4(), **fields)

    orders = [
        # A scout's report from this morning, waiting in Wutong's queue.
        order(
            station_area_id=wutong.id,
            household_area_id=areas["guiyuan"].id,
            source=OrderSource.SCOUT,
            category=OrderCategory.ELDERLY,
            description="独居老人唐阿姨近来腿脚不便，买菜困难，家里暖气也坏了。",
            contact="社区居委会转告",
            reported_by_id=users["demo-scout-ma"].id,
            created_at=now - timedelta(hours=3),
        ),
        # A resident's request from the poster three days ago: past the 48 hours, overdue.
        order(
            station_area_id=wutong.id,
            household_area_id=areas["songfeng"].id,
            source=OrderSource.RESIDENT,
            category=OrderCategory.LIVING,
            description="老伴住院，家里没人做饭，想问问有没有帮助。",
            contact="电话 139 0000 1234",
            created_at=now - timedelta(days=3),
        ),
        # Closed: the same household had already been reported.
        order(
            station_area_id=wutong.id,
            household_area_id=areas["guiyuan"].id,
            source=OrderSource.RESIDENT,
            category=OrderCategory.ELDERLY,
            description="楼下唐阿姨一个人住，好像需要人帮忙。",
            contact="",
            status=OrderStatus.CLOSED,
            closed_at=now - timedelta(days=1),
            closed_by_id=users["demo-sw-he"].id,
            close_note="与排困员的报告是同一户。",
            created_at=now - timedelta(days=2),
        ),
    ]
    # Referred by the school ten days ago and taken by Liu'an's worker: now a case.
    taken = order(
        station_area_id=liuan.id,
        household_area_id=areas["hetang"].id,
        source=OrderSource.REFERRER,
        referrer_kind=ReferrerKind.SCHOOL,
        referrer_name="荷塘小学",
        category=OrderCategory.MINORS,
        description="徐小军父母外出务工，近期成绩下滑、情绪低落。",
        contact="班主任 刘老师",
        reported_by_id=users["demo-sw-chen"].id,
        status=OrderStatus.TAKEN,
        taken_by_id=users["demo-sw-chen"].id,
        taken_at=now - timedelta(days=9),
        created_at=now - timedelta(days=10),
    )
    orders.append(taken)
    db.add_all(orders)
    await db.flush()
    for item in orders:
        await audit.record(
            db,
            actor=actor,
            action="order.created",
            subject=item,
            change={"source": item.source.value, "category": item.category.value},
        )
    await do_open_case(
        db,
        programme=programme,
        area=liuan,
        person=people["xu"],
        lead_worker_id=users["demo-sw-chen"].id,
        actor=users["demo-sw-chen"],
        order=taken,
        now=now - timedelta(days=9),
    )
