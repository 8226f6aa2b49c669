"""People's data rights on a phone: staff open a person whose participation has ended, download her
data (a ZIP with person.json), then read the dry run and erase her with the typed 删除."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn
from tests.e2e.test_layout import assert_no_horizontal_scroll

NAME = "权利测试监护人"
HEADER = "编号,类型,姓名,出生年份,区域,监护人编号,来源,备注\r\n"
CSV = HEADER + f"E1RIGHTS,监护人,{NAME},1980,梧桐街道/桂园社区,,,\r\n"


def _person_id(live_server: LiveServer) -> int:
    with closing(sqlite3.connect(live_server.workdir / "carelog.db")) as conn:
        row = conn.execute("SELECT id FROM person WHERE reference = 'E1RIGHTS'").fetchone()
    assert row is not None
    return int(row[0])


def test_staff_export_then_erase_an_ended_person_on_a_phone(
    page: Page, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.STAFF)
    page.goto(live_server.url("/people/import"))
    page.get_by_label("表格文件（XLSX 或 CSV）").set_input_files(
        {"name": "名册.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8")}
    )
    page.get_by_role("button", name="检查文件").tap()
    page.get_by_role("button", name="导入这些行").tap()
    expect(page.locator("#import-done")).to_be_visible()
    person_id = _person_id(live_server)
    page.goto(live_server.url(f"/people/{person_id}/edit"))
    page.locator("#end label.chip").first.tap()
    # Wait for the form's own navigation to finish: a goto during it aborts one or the other.
    with page.expect_navigation():
        page.locator("#end-button").tap()

    page.goto(live_server.url(f"/people/{person_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    page.get_by_role("link", name="导出此人的数据").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("导出此人的数据")
    assert_no_horizontal_scroll(page, "export page")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="下载 ZIP 文件").tap()
    download = download_info.value
    saved = artifacts_dir / "data-rights-export.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        doc = json.loads(archive.read("person.json"))
    assert doc["person"]["display_name"] == NAME

    page.goto(live_server.url(f"/people/{person_id}"))
    page.get_by_role("link", name="删除此人的数据").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("删除此人的数据")
    expect(page.locator("#erase-goes")).to_be_visible()
    assert_no_horizontal_scroll(page, "erase dry run")
    page.screenshot(path=str(artifacts_dir / "data-rights-erase-390.png"), full_page=True)
    page.get_by_label("请输入“删除”以确认").fill("删除")
    page.get_by_role("button", name="立即删除").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"已删除-{person_id}")
    browser_log.assert_clean()
