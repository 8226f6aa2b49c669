"""A real scheme from an empty database, through the pages only, on a phone (issue 18, "Done when").

No demo and no SQL: `carelog create-admin` prints the administrator's link; she creates a meal programme
and a caring-mother programme with a two-street area tree, adds a social worker and issues her card;
the social worker signs in with it, adds a neighbour, a resident, a caring mother and a child with the
guardian's consent, and issues their cards; the agreement is made and confirmed, the neighbour checks a
meal in, the worker approves it, and once the server's clock has moved past the month's end, staff close
the month.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from backend import clock
from tests.e2e.harness import LINK, PHONE, LiveServer, in_chinese, running_server
from tests.functional.meals_support import meal_jpeg

SHOTS = Path("/tmp/first-run")
# A day early in a month, so that a meal checked in today and the month's end are a restart apart.
START = clock.today_in(clock.REFERENCE_ZONE).replace(day=3)


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("first-run"), demo=False, today=START) as server:
        yield server


def _phone(browser: Browser) -> Page:
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    return context.new_page()


def _shot(page: Page, name: str) -> None:
    """A picture for a person to look at (not an assertion): a busy machine may fail to take one."""
    SHOTS.mkdir(exist_ok=True)
    try:
        page.wait_for_load_state()
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=30_000)
    except PlaywrightError as exc:
        print(f"no screenshot {name}: {exc}", file=sys.stderr)


def _through_notice(page: Page, server: LiveServer) -> None:
    """A new user's first sign-in shows the privacy notice; she reads it and goes on to her home page."""
    page.wait_for_url(re.compile(re.escape(server.url("/")) + r"(privacy)?$"))
    if page.url == server.url("/privacy"):
        page.get_by_role("button", name="我已读过", exact=True).tap()
    page.wait_for_url(server.url("/"))


def _sign_in_with_link(page: Page, link: str, server: LiveServer) -> None:
    page.goto(link)
    page.get_by_role("button", name="登录", exact=True).tap()
    _through_notice(page, server)
    in_chinese(page)


def _sign_in_with_code(page: Page, code: str, server: LiveServer) -> None:
    page.goto(server.url("/signin"))
    page.locator("#code").fill(code)
    page.get_by_role("button", name="登录", exact=True).tap()
    _through_notice(page, server)
    in_chinese(page)


def _add_area(page: Page, parent: str, name: str) -> None:
    """Open "在…下添加区域" under the parent, type the name, keep the next level, add it."""
    page.get_by_text(f"在{parent}下添加区域", exact=True).tap()
    form = page.locator("details[open] form.add-area")
    form.locator("input[name=name]").fill(name)
    form.get_by_role("button", name="添加区域").tap()
    expect(page.locator("main strong", has_text=name)).to_be_visible()


def _choose(select: Locator, text: str) -> None:
    """Choose the option whose label contains `text` (labels add the level or the path)."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    assert value is not None
    select.select_option(value)


def _card_code(page: Page) -> str:
    expect(page.locator(".card-code")).to_be_visible()
    return page.locator(".card-code").inner_text().strip()


def test_a_scheme_starts_from_an_empty_database_and_pays_its_first_meal(
    browser: Browser, empty_server: LiveServer
) -> None:
    server = empty_server
    out = server.run_cli("create-admin", "admin", "--name", "区妇联管理员")
    link = _link_of(out)
    admin = _phone(browser)
    _sign_in_with_link(admin, link, server)
    # The first-run home says what to do first.
    expect(admin.locator("main")).to_contain_text("创建项目")
    _shot(admin, "01-admin-home")

    # A meal programme, anchored at a new district, with its rules in yuan.
    admin.goto(server.url("/programmes/new"))
    admin.locator("#programme-name").fill("青石区睦邻午餐")
    admin.locator("input[name=kind][value=neighbour_meals]").check()
    admin.locator("#area-id").select_option("new")
    admin.locator("#new-area-name").fill("青石区")
    admin.locator("#rate").fill("15")
    admin.locator("#monthly-cap").fill("450")
    _shot(admin, "02-programme-new")
    admin.get_by_role("button", name="创建项目").tap()
    expect(admin.locator("h1")).to_contain_text("青石区睦邻午餐")
    meal_programme_url = admin.url
    # Two streets under the district, a community under the first.
    _add_area(admin, "青石区", "白沙街道")
    _add_area(admin, "青石区", "东湖街道")
    _add_area(admin, "白沙街道", "白沙社区")
    _shot(admin, "03-area-tree")

    # A caring-mother programme on the same district.
    admin.goto(server.url("/programmes/new"))
    admin.locator("#programme-name").fill("青石区爱心妈妈")
    admin.locator("input[name=kind][value=caring_mothers]").check()
    _choose(admin.locator("#area-id"), "青石区")
    admin.get_by_role("button", name="创建项目").tap()
    expect(admin.locator("h1")).to_contain_text("青石区爱心妈妈")
    caring_programme_url = admin.url

    # The first social worker, of both programmes, with her card.
    meal_id = _id_in(meal_programme_url)
    caring_id = _id_in(caring_programme_url)
    admin.goto(server.url(f"/users/new?programme_id={meal_id}"))
    admin.locator("#display-name").fill("刘芳")
    admin.locator("input[name=role][value=social_worker]").check()
    _choose(admin.locator("#area-id"), "白沙街道")
    _shot(admin, "04-user-new")
    admin.get_by_role("button", name="添加并发放登录卡").tap()
    worker_code = _card_code(admin)
    _shot(admin, "05-worker-card")
    # The same person works for the caring-mother programme too: one more role on her page.
    admin.goto(server.url("/people/users?q=刘芳"))
    admin.locator("#user-rows a").first.tap()
    _choose(admin.locator("#membership-area"), "青石区爱心妈妈 · 白沙街道")
    admin.locator("#membership-role").select_option("social_worker")
    admin.get_by_role("button", name="添加角色").tap()
    expect(admin.locator("main")).to_contain_text("青石区爱心妈妈")

    worker = _phone(browser)
    _sign_in_with_code(worker, worker_code, server)
    _shot(worker, "06-worker-home")

    # She adds a neighbour and a caring mother, and issues their cards.
    neighbour_code = _add_user(worker, server, meal_id, "陈桂花", "neighbour", "白沙社区")
    mother_code = _add_user(worker, server, caring_id, "王秀兰", "caring_mother", "白沙社区")
    _shot(worker, "07-mother-card")
    # A resident, and a child with her guardian's consent.
    _add_person(worker, server, "resident", "青石区睦邻午餐", "白沙社区", "赵老伯", "1942")
    worker.goto(server.url("/people/new"))
    worker.locator("input[name=kind][value=child]").check()
    _choose(worker.locator("#place"), "青石区爱心妈妈 · 白沙社区")
    worker.locator("#display-name").fill("李小雨")
    worker.locator("#birth-year").fill("2016")
    worker.locator("#guardian-name").fill("李建国")
    worker.locator("#referral-source").select_option(index=1)
    worker.locator("input[name=needs]").first.check()
    worker.locator("#consent-on").fill(START.isoformat())
    worker.locator("#consent-method").select_option(index=1)
    _shot(worker, "08-child-new")
    worker.get_by_role("button", name="添加", exact=True).tap()
    expect(worker.locator("h1")).to_contain_text("李小雨")
    _shot(worker, "09-child")

    # The agreement: the worker makes it with the resident's signature; the neighbour confirms hers.
    worker.goto(server.url("/meals/agreements/new"))
    worker.locator("#resident-q").fill("zlb")
    worker.locator("#resident-search").tap()
    worker.get_by_label(re.compile("赵老伯")).check()
    _choose(worker.locator("#neighbour-id"), "陈桂花")
    worker.locator("input[name=signatory][value=resident]").check()
    _shot(worker, "10-agreement-new")
    worker.get_by_role("button", name="建立协议").tap()
    expect(worker.locator("main")).to_contain_text("赵老伯")

    neighbour = _phone(browser)
    _sign_in_with_code(neighbour, neighbour_code, server)
    neighbour.get_by_role("button", name="我确认这份协议").tap()
    expect(neighbour.locator("main")).to_contain_text("今天的饭菜")
    mother = _phone(browser)
    _sign_in_with_code(mother, mother_code, server)
    expect(mother.locator("h1")).to_contain_text("王秀兰")

    # The neighbour checks today's lunch in with a photo; the worker approves it.
    neighbour.get_by_role("region", name="今天的饭菜").get_by_role(
        "link", name=re.compile("赵老伯")
    ).first.tap()
    neighbour.get_by_role("group", name="菜品").locator("input[type=text]").first.fill("青菜豆腐")
    photo = SHOTS / "lunch.jpg"
    photo.write_bytes(meal_jpeg(11, size=(1200, 900)))
    neighbour.get_by_label(re.compile("拍饭菜照片")).set_input_files(str(photo))
    neighbour.get_by_role("button", name="发送", exact=True).tap()
    expect(neighbour.get_by_role("status")).to_contain_text("已发送")
    worker.goto(server.url("/review"))
    worker.locator("button.approve").first.tap()
    expect(worker.locator(".decided").first).to_be_visible()
    _shot(worker, "11-approved")

    # The same data, served again on the 2nd of the next month: the administrator closes the month.
    later = (START.replace(day=28) + timedelta(days=5)).replace(day=2)
    with running_server(server.workdir, demo=False, today=later) as again:
        admin = _phone(browser)
        _sign_in_with_link(admin, _link_of(again.run_cli("issue-code", "admin")), again)
        admin.goto(again.url("/settlement"))
        admin.get_by_role("link", name=re.compile(f"{START.year}年{START.month}月")).first.tap()
        admin.wait_for_url(re.compile(rf"/settlement/\d+\?month={START:%Y-%m}"))
        _shot(admin, "12-month")
        expect(admin.locator("main")).to_contain_text("赵老伯")
        # One worker made the agreement, issued the neighbour's card and approved her meals: a signal
        # the administrator must record as looked at before the month can close (not a block).
        expect(admin.locator("#close-form")).to_have_count(0)
        admin.locator("#signals form[id^=signal-looked-] button").first.tap()
        expect(admin.locator("#signals form[id^=signal-looked-]")).to_have_count(0)
        admin.locator("#close-form input[name=confirm]").check()
        admin.locator("#close-form button").tap()
        expect(admin.locator("main")).to_contain_text("15.00")
        expect(admin.locator("#close-form")).to_have_count(0)
        _shot(admin, "12-closed")


def _id_in(url: str) -> int:
    return int(url.split("?")[0].rstrip("/").rsplit("/", 1)[1])


def _link_of(out: str) -> str:
    return next(m.group(1) for line in out.splitlines() if (m := LINK.search(line)))


def _add_user(page: Page, server: LiveServer, programme_id: int, name: str, role: str, area: str) -> str:
    page.goto(server.url(f"/users/new?programme_id={programme_id}"))
    page.locator("#display-name").fill(name)
    page.locator(f"input[name=role][value={role}]").check()
    _choose(page.locator("#area-id"), area)
    page.get_by_role("button", name="添加并发放登录卡").tap()
    return _card_code(page)


def _add_person(
    page: Page, server: LiveServer, kind: str, programme: str, area: str, name: str, born: str
) -> None:
    page.goto(server.url("/people/new"))
    page.locator(f"input[name=kind][value={kind}]").check()
    _choose(page.locator("#place"), f"{programme} · {area}")
    page.locator("#display-name").fill(name)
    page.locator("#birth-year").fill(born)
    page.get_by_role("button", name="添加", exact=True).tap()
    expect(page.locator("h1")).to_contain_text(name)
