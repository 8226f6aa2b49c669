"""The demo's social-work station programme: two street stations of Qingxi District, their workers, a
hardship scout, three households and orders in each state (open, open past its due time, taken into a
case, closed), so every role has something to click through.

Luo's case at Wutong shows every stage of case work, written through the services as a worker would:
referred by the community committee and taken by 何芸, assessed at home on the six dimensions, a plan
of two goals and two services from the elderly-care package (one she delivers, one by a partner
organisation), and two deliveries she logged: one approved by 高磊, one waiting for review. Tang's open
scout order stays untaken (the browser test takes it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.auth.principal import Grant, Principal
from backend.cases import policy
from backend.cases.assessment_service import AssessmentDraft, do_assess
from backend.cases.case_forms import GoalForm, ItemForm
from backend.cases.delivery_service import DeliveryDraft, do_send_delivery
from backend.cases.models import (
    Case,
    CaseDimension,
    CaseOrder,
    DelivererKind,
    Frequency,
    OrderCategory,
    OrderSource,
    OrderStatus,
    PlanItem,
    ReferrerKind,
    ServiceItem,
    ServicePackage,
)
from backend.cases.order_service import OrderDraft, do_create_order, do_take_order
from backend.cases.plan_service import do_add_goal, do_add_item
from backend.cases.service import do_open_case
from backend.db import utcnow
from backend.people.models import Area, Membership, Person, PersonKind, Programme, Role, User
from backend.people.person_service import do_create_person
from backend.people.service import do_add_membership
from backend.verification.models import Decision
from backend.verification.service import do_review

# (handle, name, what) printed with the other demo sign-in links.
STATION_PERSONAS: list[tuple[str, str, str]] = [
    ("demo-sw-he", "何芸", "social worker, Wutong Street social-work station"),
    ("demo-sw-gao", "高磊", "social worker, Wutong Street social-work station"),
    ("demo-scout-ma", "马建国", "hardship scout (排困员), Guiyuan Community"),
]

# The partner organisation that delivers one of Luo's services (a name, as the plan keeps it).
PARTNER = "阳光助老服务社"
# Luo's ratings, 1 (serious need) to 5 (no need), per dimension code, with the worker's note.
LUO_RATINGS = {
    "physical_health": (2, "高血压，膝关节退化，上下楼吃力。"),
    "psychological": (3, "老伴住院后情绪低落，睡眠差。"),
    "social_relations": (2, "子女在外地，邻里来往少。"),
    "living_conditions": (2, "独自做饭困难，卫生间没有扶手。"),
    "employment_income": (4, "有退休金，基本够用。"),
    "education": (5, "无此方面需要。"),
}
# (dimension code, goal) of Luo's plan, and the service item (elderly-care package) serving each.
LUO_GOALS = (
    ("social_relations", "每周至少一次有人上门陪伴聊天。", "探访陪伴"),
    ("living_conditions", "一日三餐有着落，居家安全隐患排除。", "生活照料协助"),
)

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
    await create_luo_case(db, programme=programme, areas=areas, users=users, people=people, now=now)


async def principal_of(db: AsyncSession, user: User) -> Principal:
    """The user as the services see a signed-in worker: her active memberships as grants."""
    memberships = await db.scalars(
        select(Membership)
        .where(Membership.user_id == user.id, Membership.ended_at.is_(None))
        .options(selectinload(Membership.programme), selectinload(Membership.area))
        .order_by(Membership.id)
    )
    grants = tuple(
        Grant(m.programme_id, m.programme.name, m.programme.kind, m.role, m.area_id, m.area.path, m.area.name)
        for m in memberships
    )
    return Principal(user.id, 0, user.display_name, user.locale, user.is_admin, grants)


async def create_luo_case(
    db: AsyncSession,
    *,
    programme: Programme,
    areas: dict[str, Area],
    users: dict[str, User],
    people: dict[str, Person],
    now: datetime,
) -> Case:
    """Luo's case through every stage, by the services a worker's pages call (see the module's doc)."""
    he = await principal_of(db, users["demo-sw-he"])
    gao = await principal_of(db, users["demo-sw-gao"])
    zone = ZoneInfo(programme.time_zone)
    order, _created = await do_create_order(
        db,
        OrderDraft(
            programme_id=programme.id,
            station=areas["wutong"],
            household_area=areas["songfeng"],
            source=OrderSource.REFERRER,
            referrer_kind=ReferrerKind.COMMUNITY_COMMITTEE,
            referrer_name="松风社区居委会",
            category=OrderCategory.ELDERLY,
            description="罗大爷八十岁，老伴住院后独自在家，行动不便，做饭困难。",
            contact="居委会 王主任",
            client_uuid=uuid.uuid4(),
            reported_by_id=he.id,
        ),
        actor=he,
        now=now - timedelta(days=30),
    )
    order = await policy.get_order_for(db, he, order.id)
    taken = await do_take_order(
        db, order, person_id=people["luo"].id, new_name="", actor=he, now=now - timedelta(days=29)
    )
    case = await policy.get_case_for(db, he, taken.id)
    dimensions = {
        d.code: d.id
        for d in await db.scalars(select(CaseDimension).where(CaseDimension.programme_id == programme.id))
    }
    await do_assess(
        db,
        case,
        AssessmentDraft(
            assessed_on=(now - timedelta(days=27)).astimezone(zone).date(),
            ratings={dimensions[code]: rating for code, rating in LUO_RATINGS.items()},
            note="入户评估：独居高龄，生活照料与陪伴是首要需要。",
        ),
        (),
        actor=he,
        client_uuid=uuid.uuid4(),
        now=now - timedelta(days=27),
    )
    services = {
        item.label: item.id
        for item in await db.scalars(
            select(ServiceItem)
            .join(ServicePackage, ServicePackage.id == ServiceItem.package_id)
            .where(ServicePackage.programme_id == programme.id, ServicePackage.name == "老年人关爱")
        )
    }
    items: list[PlanItem] = []
    for n, (code, text, service) in enumerate(LUO_GOALS):
        goal = await do_add_goal(db, case, GoalForm(dimension_id=dimensions[code], text=text), actor=he)
        partner = n == 1
        items.append(
            await do_add_item(
                db,
                case,
                ItemForm(
                    service_item_id=services[service],
                    deliverer_kind=DelivererKind.PARTNER if partner else DelivererKind.WORKER,
                    deliverer_user_id=None if partner else he.id,
                    deliverer_name=PARTNER if partner else "",
                    frequency=Frequency.WEEKLY,
                    goal_id=goal.id,
                ),
                actor=he,
            )
        )
    # Two deliveries she logged: her own visit three weeks ago (approved by 高磊 the next day), and the
    # partner's meal help two days ago, waiting in the review queue.
    for item, days_ago, minutes, by, note in (
        (items[0], 20, 60, "", "陪罗大爷聊天，量了血压，帮他联系了社区医生。"),
        (items[1], 2, 90, PARTNER, "服务社志愿者上门做饭，并检查了卫生间防滑。"),
    ):
        delivery = await do_send_delivery(
            db,
            case,
            item,
            DeliveryDraft(
                plan_item_id=item.id,
                delivered_on=(now - timedelta(days=days_ago)).astimezone(zone).date(),
                minutes=minutes,
                delivered_by=by,
                people_count=1,
                at_home=True,
                note=note,
                photo_uuids=(),
            ),
            (),
            client_uuid=uuid.uuid4(),
            actor=he,
            now=now - timedelta(days=days_ago),
        )
        if days_ago == 20:
            await do_review(
                db,
                delivery,
                decision=Decision.APPROVE,
                reason=None,
                note=None,
                actor=gao,
                now=now - timedelta(days=days_ago - 1),
            )
    return case
