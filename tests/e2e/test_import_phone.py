"""The registry import on a phone: choose a file, read the plan, import; nothing scrolls sideways."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn
from tests.e2e.test_layout import assert_no_horizontal_scroll

HEADER = "编号,类型,姓名,出生年份,区域,监护人编号,来源,备注\r\n"
ROWS = (
    "E2EG1,监护人,手机监护人,1980,梧桐街道/桂园社区,,,\r\n"
    "E2EC1,儿童,手机儿童,2016,梧桐街道/桂园社区,E2EG1,学校,\r\n"
)


def test_staff_checks_a_file_sees_the_bad_row_then_imports_the_corrected_one_on_a_phone(
    page: Page, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.STAFF)
    page.goto(live_server.url("/people/import"))
    expect(page.get_by_role("heading", level=1)).to_have_text("导入名册")
    assert_no_horizontal_scroll(page, "import page")

    bad = HEADER + ROWS.replace("2016", "二〇一六")
    page.get_by_label("表格文件（XLSX 或 CSV）").set_input_files(
        {"name": "名册.csv", "mimeType": "text/csv", "buffer": bad.encode("gb18030")}
    )
    page.get_by_role("button", name="检查文件").tap()
    expect(page.locator("#line-3")).to_contain_text("出生年份")
    expect(page.locator("#import-plan")).to_contain_text("GB18030")
    assert_no_horizontal_scroll(page, "plan with an error row")
    page.screenshot(path=str(artifacts_dir / "import-plan-error-390.png"), full_page=True)

    page.get_by_label("表格文件（XLSX 或 CSV）").set_input_files(
        {"name": "名册.csv", "mimeType": "text/csv", "buffer": (HEADER + ROWS).encode("utf-8")}
    )
    page.get_by_role("button", name="检查文件").tap()
    expect(page.locator("#plan-counts")).to_contain_text("将新增：2")
    page.get_by_role("button", name="导入这些行").tap()
    expect(page.locator("#import-done")).to_contain_text("新增 2 人")
    assert_no_horizontal_scroll(page, "import done")
    browser_log.assert_clean(expected_failures=[(422, "/people/import")])
