"""Lists at province scale: keyset pages that neither skip nor repeat a row, search by characters and
by pinyin initials, and filters by area and status (backend/people/lists.py)."""

from __future__ import annotations

from sqlalchemy import select, true

from backend.db import Database, utcnow
from backend.people.lists import PEOPLE, ListQuery, Status, decode_cursor, encode_cursor, keyset_page
from backend.people.models import EndReason, Person, ProgrammeKind
from backend.people.service import do_create_area
from tests import factories

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ["桂兰", "秀英", "建国", "小明", "淑珍", "志强", "丽", "国华", "玉兰", "德明"]


async def _registry(database: Database) -> dict[str, int]:
    """250 people in two communities; every seventh has ended. Names repeat, as they do in life."""
    async with database.transaction() as db:
        district, street, first = await factories.make_district(db)
        second = await do_create_area(db, name="第二社区", parent=street, actor=None)
        programme = await factories.make_programme(db, district, ProgrammeKind.NEIGHBOUR_MEALS)
        for n in range(250):
            name = SURNAMES[n % 10] + GIVEN[(n // 10) % 10] + ("" if n < 100 else str(n % 3))
            person = await factories.make_person(
                db, programme, first if n % 2 else second, name=name, born=1930 + n % 40
            )
            if n % 7 == 0:
                person.ended_at, person.end_reason = utcnow(), EndReason.LEFT_SCHEME
        await db.flush()
        return {"second": second.id, "street": street.id}


async def _all_pages(database: Database, query: ListQuery) -> tuple[list[int], int]:
    seen: list[int] = []
    pages = 0
    after = None
    while True:
        async with database.transaction(read_only=True) as db:
            page = await keyset_page(
                db,
                select(Person).where(true()),
                PEOPLE,
                ListQuery(
                    q=query.q, area_id=query.area_id, status=query.status, after=after, size=query.size
                ),
            )
        seen.extend(p.id for p in page.rows)
        pages += 1
        assert len(page.rows) <= query.size
        if page.next_after is None:
            return seen, pages
        after = page.next_after


async def test_paging_through_250_people_skips_and_repeats_nobody(database: Database) -> None:
    await _registry(database)
    async with database.transaction(read_only=True) as db:
        everyone = list(await db.scalars(select(Person)))
    current = {p.id for p in everyone if p.ended_at is None}
    ended = {p.id for p in everyone if p.ended_at is not None}
    assert len(everyone) == 250 and len(ended) == 36

    seen, pages = await _all_pages(database, ListQuery(size=20))
    assert len(seen) == len(set(seen)) and set(seen) == current
    assert pages == (len(current) + 19) // 20
    seen, _ = await _all_pages(database, ListQuery(status=Status.ENDED, size=7))
    assert len(seen) == len(set(seen)) and set(seen) == ended
    seen, _ = await _all_pages(database, ListQuery(status=Status.ALL, size=33))
    assert len(seen) == 250 and set(seen) == current | ended


async def test_search_finds_by_characters_and_by_pinyin_initials(database: Database) -> None:
    await _registry(database)
    async with database.transaction(read_only=True) as db:
        names = {p.id: p.display_name for p in await db.scalars(select(Person))}
        ended = {p.id for p in await db.scalars(select(Person).where(Person.ended_at.is_not(None)))}
    by_text, _ = await _all_pages(database, ListQuery(q="桂兰", status=Status.ALL, size=4))
    assert set(by_text) == {i for i, n in names.items() if "桂兰" in n} and len(by_text) == len(set(by_text))
    # zgl is 赵桂兰, and also 张桂兰 and 周桂兰: initials stand for several names.
    zgl = {i for i, n in names.items() if n[0] in "赵张周" and n[1:3] == "桂兰"}
    by_initials, _ = await _all_pages(database, ListQuery(q="zgl", status=Status.ALL, size=3))
    assert set(by_initials) == zgl and any(names[i].startswith("赵桂兰") for i in zgl)
    assert len(by_initials) == len(set(by_initials))
    # Upper case and spaces are folded; ended people leave the default (current) list.
    current_zgl, _ = await _all_pages(database, ListQuery(q=" ZGL ", size=3))
    assert set(current_zgl) == zgl - ended
    nothing, _ = await _all_pages(database, ListQuery(q="%", status=Status.ALL))
    assert nothing == []


async def test_area_filter_takes_the_area_and_everything_under_it(database: Database) -> None:
    areas = await _registry(database)
    in_second, _ = await _all_pages(database, ListQuery(area_id=areas["second"], status=Status.ALL, size=50))
    under_street, _ = await _all_pages(
        database, ListQuery(area_id=areas["street"], status=Status.ALL, size=50)
    )
    assert len(in_second) == 125 and len(under_street) == 250
    unknown, _ = await _all_pages(database, ListQuery(area_id=999_999, status=Status.ALL))
    assert unknown == []


def test_a_cursor_is_opaque_and_garbage_starts_from_the_beginning() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    for garbage in ("", "!!!", "a" * 40, encode_cursor(1)[:-1] + "?", "MTIz"):
        assert decode_cursor(garbage) in (None,)
    params = ListQuery.from_params({"q": "x" * 80, "area": "12", "status": "nonsense", "after": "zz"})
    assert params.q == "x" * 50 and params.area_id == 12 and params.status is Status.CURRENT
