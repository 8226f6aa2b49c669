"""The demo's pillar-mother programme ("1 + 3 + 1"): two mothers with their files, their groups, the
three agencies and the delivering agency's staged contract, so every role has something to click.

黄美兰 (widowed, two children, Guiyuan) and 杨春燕 (divorced, one child, Hetang) were screened by the
agency worker 谢婷 of 青溪阳光社工事务所. Each has a group: the federation cadre 林桂芳, three volunteers
(宋晓燕 and 韩雪 in both; 杜红 in Huang's only, 方琳 in Yang's only, so a volunteer sees just her own
groups' mothers) and the mother herself. Huang's plan has a job-skills goal and a training that 谢婷
delivered and 潘越 (the agency's second worker) approved. Federation staff: 周敏 records, 秦岚 releases
money (a stage is released by a staff member other than the one who recorded its evaluation).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import policy as case_policy
from backend.cases.case_forms import GoalForm, ItemForm
from backend.cases.delivery_service import DeliveryDraft, do_send_delivery
from backend.cases.demo import principal_of
from backend.cases.models import CaseDimension, DelivererKind, Frequency, ServiceItem
from backend.cases.plan_service import do_add_goal, do_add_item
from backend.db import utcnow
from backend.people.models import Area, Programme, Role, User
from backend.people.service import do_add_membership
from backend.pillar import policy as pillar_policy
from backend.pillar.agency_service import StageDraft, do_add_agency, do_create_contract, do_place_worker
from backend.pillar.contact_service import ContactDraft, do_log_contact
from backend.pillar.group_service import do_add_group_member
from backend.pillar.models import AgencyRole, ContactChannel, GroupRole, PillarFile, Qualification, Round
from backend.pillar.money_demo import create_money_demo
from backend.pillar.service import ChildDraft, NeedDraft, ScreeningDraft, do_screen_mother
from backend.verification.models import Decision
from backend.verification.service import do_review

# (handle, name, what) printed with the other demo sign-in links.
PILLAR_PERSONAS: list[tuple[str, str, str]] = [
    ("demo-staff-qin", "秦岚", "staff, women's federation (releases agency money)"),
    ("demo-cadre-lin", "林桂芳", "federation cadre, leads both pillar mothers' groups"),
    ("demo-sw-xie", "谢婷", "social worker, 青溪阳光社工事务所 (pillar mothers' agency)"),
    ("demo-sw-pan", "潘越", "social worker, 青溪阳光社工事务所 (pillar mothers' agency)"),
    ("demo-vol-song", "宋晓燕", "volunteer, both pillar mothers' groups"),
    ("demo-vol-han", "韩雪", "volunteer, both pillar mothers' groups"),
    ("demo-vol-du", "杜红", "volunteer, 黄美兰's group only"),
    ("demo-vol-fang", "方琳", "volunteer, 杨春燕's group only"),
    ("demo-pm-huang", "黄美兰", "pillar mother, Guiyuan Community"),
    ("demo-pm-yang", "杨春燕", "pillar mother, Hetang Community"),
]

DELIVERING = "青溪阳光社工事务所"
SUPERVISING = "青溪区社会组织服务中心"
EVALUATING = "明德第三方评估中心"
CONTRACT_TITLE = "2026年度顶梁柱母亲关爱服务"

# (key, mother's handle, name, born, area key, qualification, note, household, children, needs by
# dimension code as (level, words), the group's volunteers)
MOTHERS = [
    (
        "huang",
        "demo-pm-huang",
        "黄美兰",
        1986,
        "guiyuan",
        Qualification.WIDOWED,
        None,
        "丈夫2024年病故，租住一室一厅，靠零工收入。",
        [("黄子涵", 2014), ("黄子轩", 2018)],
        {
            "employment": (2, "只能打零工，想学一门手艺。"),
            "family_education": (3, "大儿子成绩下滑，辅导作业吃力。"),
            "counselling": (2, "丧偶后常失眠，情绪低落。"),
            "humane_care": (3, "娘家在外省，身边少有人帮忙。"),
            "living_conditions": (3, "房租占收入一半。"),
        },
        ("demo-vol-song", "demo-vol-han", "demo-vol-du"),
    ),
    (
        "yang",
        "demo-pm-yang",
        "杨春燕",
        1990,
        "hetang",
        Qualification.DIVORCED,
        None,
        "离异后独自抚养女儿，与母亲同住。",
        [("杨思琪", 2016)],
        {
            "employment": (3, "在超市做收银，收入不稳定。"),
            "family_education": (3, "女儿性格内向。"),
            "counselling": (3, "压力大，偶有焦虑。"),
            "humane_care": (4, "母亲身体尚可，能搭把手。"),
            "living_conditions": (2, "老房子漏水，需要维修。"),
        },
        ("demo-vol-song", "demo-vol-han", "demo-vol-fang"),
    ),
]


async def create_pillar_demo(
    db: AsyncSession,
    *,
    programme: Programme,
    areas: dict[str, Area],
    users: dict[str, User],
    now: datetime | None = None,
) -> dict[str, PillarFile]:
    """Memberships, agencies, contract, the two mothers' files and groups (created by backend/demo.py)."""
    now = now or utcnow()
    actor = None
    district = areas["district"]
    for handle, role, area in (
        ("demo-staff-zhou", Role.STAFF, district),
        ("demo-staff-qin", Role.STAFF, district),
        ("demo-cadre-lin", Role.CADRE, district),
        ("demo-sw-xie", Role.SOCIAL_WORKER, district),
        ("demo-sw-pan", Role.SOCIAL_WORKER, district),
        ("demo-vol-song", Role.VOLUNTEER, areas["guiyuan"]),
        ("demo-vol-han", Role.VOLUNTEER, areas["wutong"]),
        ("demo-vol-du", Role.VOLUNTEER, areas["guiyuan"]),
        ("demo-vol-fang", Role.VOLUNTEER, areas["hetang"]),
        ("demo-pm-huang", Role.PILLAR_MOTHER, areas["guiyuan"]),
        ("demo-pm-yang", Role.PILLAR_MOTHER, areas["hetang"]),
    ):
        await do_add_membership(
            db, user=users[handle], programme=programme, area=area, role=role, actor=actor
        )
    zhou = await principal_of(db, users["demo-staff-zhou"])
    delivering = await do_add_agency(db, programme, name=DELIVERING, role=AgencyRole.DELIVERING, actor=zhou)
    await do_add_agency(db, programme, name=SUPERVISING, role=AgencyRole.SUPERVISING, actor=zhou)
    await do_add_agency(db, programme, name=EVALUATING, role=AgencyRole.EVALUATING, actor=zhou)
    for handle in ("demo-sw-xie", "demo-sw-pan"):
        await do_place_worker(db, delivering, users[handle], actor=zhou, now=now - timedelta(days=60))
    year = now.astimezone(ZoneInfo(programme.time_zone)).year
    await do_create_contract(
        db,
        programme,
        agency=delivering,
        title=CONTRACT_TITLE,
        budget_fen=20_000_000,  # 200,000 yuan
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        stages=[
            StageDraft("首期（签约）", 6_000_000, None),
            StageDraft("中期（中期评估通过）", 8_000_000, Round.MID_TERM),
            StageDraft("尾款（终期评估通过）", 6_000_000, Round.FINAL),
        ],
        actor=zhou,
    )

    xie = await principal_of(db, users["demo-sw-xie"])
    pan = await principal_of(db, users["demo-sw-pan"])
    dimensions = {
        d.code: d.id
        for d in await db.scalars(select(CaseDimension).where(CaseDimension.programme_id == programme.id))
    }
    zone = ZoneInfo(programme.time_zone)
    files: dict[str, PillarFile] = {}
    for (
        key,
        handle,
        name,
        born,
        area_key,
        qualification,
        note,
        household,
        children,
        needs,
        volunteers,
    ) in MOTHERS:
        file = await do_screen_mother(
            db,
            programme=programme,
            draft=ScreeningDraft(
                display_name=name,
                birth_year=born,
                area=areas[area_key],
                qualification=qualification,
                qualification_note=note,
                household_note=household,
                noted_on=(now - timedelta(days=45)).astimezone(zone).date(),
                children=[ChildDraft(n, y) for n, y in children],
                needs=[NeedDraft(dimensions[code], level, words) for code, (level, words) in needs.items()],
                agency=delivering,
            ),
            actor=xie,
            lead_worker_id=xie.id,
            now=now - timedelta(days=45),
        )
        for member, place in (
            ("demo-cadre-lin", GroupRole.CADRE),
            *((v, GroupRole.VOLUNTEER) for v in volunteers),
            (handle, GroupRole.MOTHER),
        ):
            await do_add_group_member(db, file, users[member], place, actor=xie, now=now - timedelta(days=44))
        files[key] = file

    # Huang's plan: a job-skills goal served by a training; 谢婷 delivered one session, 潘越 approved it.
    huang_case = await case_policy.get_case_for(db, xie, files["huang"].case_id)
    training = await db.scalar(
        select(ServiceItem).where(ServiceItem.programme_id == programme.id, ServiceItem.label == "技能培训")
    )
    assert training is not None
    goal = await do_add_goal(
        db,
        huang_case,
        GoalForm(dimension_id=dimensions["employment"], text="取得家政服务员证书，找到稳定工作。"),
        actor=xie,
    )
    item = await do_add_item(
        db,
        huang_case,
        ItemForm(
            service_item_id=training.id,
            deliverer_kind=DelivererKind.WORKER,
            deliverer_user_id=xie.id,
            deliverer_name="",
            frequency=Frequency.WEEKLY,
            goal_id=goal.id,
        ),
        actor=xie,
    )
    delivery = await do_send_delivery(
        db,
        huang_case,
        item,
        DeliveryDraft(
            plan_item_id=item.id,
            delivered_on=(now - timedelta(days=10)).astimezone(zone).date(),
            minutes=120,
            delivered_by="",
            people_count=1,
            at_home=False,
            note="家政服务员培训第一课：居家保洁。",
            photo_uuids=(),
        ),
        (),
        client_uuid=uuid.uuid4(),
        actor=xie,
        now=now - timedelta(days=10),
    )
    await do_review(
        db,
        delivery,
        decision=Decision.APPROVE,
        reason=None,
        note=None,
        actor=pan,
        now=now - timedelta(days=9),
    )
    await create_contact_demo(db, files, users, now)
    await create_money_demo(db, programme=programme, users=users, title=CONTRACT_TITLE, now=now)
    return files


async def create_contact_demo(
    db: AsyncSession, files: dict[str, PillarFile], users: dict[str, User], now: datetime
) -> None:
    """The groups' contacts: Huang's group is in touch (the cadre at home 3 days ago, 宋晓燕 by phone 6
    days ago); Yang's last contact was 20 days ago, so her group shows overdue at the 14-day default."""
    for key, handle, days_ago, channel, minutes, note in (
        ("huang", "demo-cadre-lin", 3, ContactChannel.HOME, 60, "上门看望，孩子们都好，培训按时参加。"),
        ("huang", "demo-vol-song", 6, ContactChannel.PHONE, 15, "电话问候，提醒周六的家政培训。"),
        ("yang", "demo-vol-fang", 20, ContactChannel.PHONE, 20, "电话聊了女儿上学的事。"),
    ):
        actor = await principal_of(db, users[handle])
        db.expire(files[key], ["members"])
        file = await pillar_policy.get_file_for(db, actor, files[key].id)
        at = now - timedelta(days=days_ago)
        zone = ZoneInfo((await db.get_one(Programme, file.programme_id)).time_zone)
        draft = ContactDraft(
            file_id=file.id,
            contacted_on=at.astimezone(zone).date(),
            channel=channel,
            minutes=minutes,
            note=note,
            photo_uuids=(),
        )
        await do_log_contact(db, file, draft, (), client_uuid=uuid.uuid4(), actor=actor, now=at)
