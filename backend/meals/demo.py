"""The demo district's meal plan: confirmed agreements, menus for last month, this month and the next,
and a few meals already checked in on past days (with small generated photos), so no page starts empty.

Everything goes through the real do_* functions, so the demo's rows are audited like real ones.
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import add_months
from backend.evidence import service as evidence
from backend.evidence.imaging import process_photo
from backend.evidence.models import CaptureSource, Photo
from backend.meals.checkin_service import CheckInDraft, do_check_in
from backend.meals.menus import do_save_menu
from backend.meals.models import Agreement, MealSlot, Signatory
from backend.meals.service import do_confirm_as_neighbour, do_record_resident_confirmation
from backend.people.models import Person, User
from backend.storage import PhotoStore

# A week of home cooking per neighbour (Monday first); each day's check-in pre-fills from it.
WEEKLY_MENUS: dict[str, list[tuple[str, ...]]] = {
    "demo-neighbour-zhao": [
        ("米饭", "西红柿炒鸡蛋", "清炒小白菜"),
        ("米饭", "红烧豆腐", "冬瓜汤"),
        ("面条", "青菜肉丝"),
        ("米饭", "土豆烧鸡块", "炒豆芽"),
        ("米饭", "清蒸鱼", "炒青菜"),
        ("饺子", "紫菜蛋花汤"),
        ("米饭", "肉末茄子", "丝瓜汤"),
    ],
    "demo-neighbour-sun": [
        ("稀饭", "蒸蛋", "炒青菜"),
        ("软米饭", "肉末豆腐"),
        ("小米粥", "南瓜", "青菜"),
        ("软米饭", "清蒸鱼", "冬瓜汤"),
        ("面片汤", "蒸蛋"),
        ("软米饭", "番茄炖牛肉"),
        ("馄饨", "炒菠菜"),
    ],
    "demo-neighbour-wu": [
        ("米饭", "青椒肉丝", "豆腐汤"),
        ("米饭", "炒土豆丝", "白菜汤"),
        ("米饭", "红烧肉", "炒青菜"),
        ("面条", "卤蛋", "青菜"),
        ("米饭", "鱼香肉丝", "紫菜汤"),
        ("包子", "小米粥"),
        ("米饭", "炖排骨", "炒豆角"),
    ],
}
PAST_DAYS = 3  # meals already checked in: yesterday and the two days before


def meal_photo(seed: int, captured: datetime) -> bytes:
    """A small plate of food that no other demo photo resembles, with its capture time in EXIF."""
    rng = random.Random(seed)  # noqa: S311 - picture noise for the demo, not a secret
    image = Image.new("RGB", (480, 360), (rng.randint(150, 220), rng.randint(120, 180), rng.randint(80, 140)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 20, 440, 340), fill=(245, 245, 240), outline=(200, 200, 200), width=6)
    for _ in range(7):
        x, y, r = rng.randint(110, 370), rng.randint(80, 280), rng.randint(25, 70)
        colour = (rng.randint(60, 240), rng.randint(40, 200), rng.randint(0, 120))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    exif = Image.Exif()
    exif[0x8769] = {0x9003: captured.strftime("%Y:%m:%d %H:%M:%S")}  # DateTimeOriginal, camera-local
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80, exif=exif.tobytes())
    return buffer.getvalue()


async def create_meal_demo(
    db: AsyncSession,
    *,
    agreements: list[Agreement],
    users: dict[str, User],
    today: date,
    store: PhotoStore | None,
) -> None:
    """Confirm, plan and (with a photo store to keep the files) check in meals for the demo agreements."""
    for agreement in agreements:
        neighbour, worker, resident = agreement.neighbour, agreement.social_worker, agreement.resident
        handle = neighbour.handle
        await do_confirm_as_neighbour(db, agreement, actor=neighbour)
        await do_record_resident_confirmation(
            db, agreement, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
        )
        weekly = WEEKLY_MENUS[handle]
        # Last month's menu too: the demo cooked then, and a late check-in there pre-fills from it.
        this_month = today.replace(day=1)
        for month in (add_months(this_month, -1), this_month, add_months(this_month, 1)):
            await do_save_menu(
                db,
                agreement,
                month=month,
                weekdays={(MealSlot.LUNCH, n): dishes for n, dishes in enumerate(weekly)},
                days={},
                actor=neighbour,
            )
        if store is None:
            continue
        zone = ZoneInfo(agreement.programme.time_zone)
        for back in range(PAST_DAYS, 0, -1):
            day = today - timedelta(days=back)
            if not agreement.covers(day):
                continue
            cooked = datetime.combine(day, time(11, 50), tzinfo=zone)
            photo = await demo_photo(
                db, store, neighbour, resident, seed=agreement.id * 1000 + back, at=cooked
            )
            draft = CheckInDraft(
                agreement.id, MealSlot.LUNCH, day, weekly[day.weekday()], (photo.client_uuid,)
            )
            await do_check_in(
                db,
                agreement,
                draft,
                [photo],
                client_uuid=uuid.uuid4(),
                actor=neighbour,
                now=cooked + timedelta(minutes=25),
            )


async def demo_photo(
    db: AsyncSession, store: PhotoStore, neighbour: User, resident: Person, *, seed: int, at: datetime
) -> Photo:
    data = meal_photo(seed, at.replace(tzinfo=None))
    processed = process_photo(data, max_pixels=40_000_000)
    await store.put(evidence.photo_key(processed.display.sha256), processed.display.data)
    await store.put(evidence.photo_key(processed.thumb.sha256), processed.thumb.data)
    return await evidence.do_ingest_photo(
        db,
        processed,
        actor=neighbour,
        client_uuid=uuid.uuid4(),
        person=resident,
        captured_at=at,
        capture_source=CaptureSource.EXIF,
        original_kept=False,
    )
