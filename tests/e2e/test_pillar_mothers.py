"""The pillar-mother scheme end to end, on phones at 390 x 844 (the issue's walk-through).

The cadre 林桂芳 opens 黄美兰's file and updates her employment need; the volunteer 宋晓燕 logs a phone
contact with no signal, which the outbox sends once when the signal returns; 黄美兰 answers the
mid-term survey on her phone; the staff member 周敏 records the mid-term evaluation as passed (the
satisfaction criterion scored from the survey); 周敏 may not release its money, 秦岚 (another staff
member) does; the quarter's figures then count one more contact, one more mid-term answer and the
released amount.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from backend import clock
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, SignIn
from tests.e2e.offline_support import SHANGHAI, go_offline, go_online, outbox_entries, wait_until_controlled

CADRE = "demo-cadre-lin"
VOLUNTEER = "demo-vol-song"
MOTHER = "demo-pm-huang"
STAFF = "demo-staff-zhou"
PAYER = "demo-staff-qin"
SAVED = "已保存在这部手机上。一有网络就会自动发送，您可以关闭这个页面。"
WAIT_MS = 30_000
NEED = "已报名家政培训，想找白天的工作。"
NOTE = "电话聊了培训进度，她说孩子作业有人辅导了。"
MID_TERM_STAGE_YUAN = Decimal("80000.00")


def _db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.workdir / 'carelog.db'}?mode=ro", uri=True)


def _one(server: LiveServer, sql: str, *args: object) -> int:
    with _db(server) as db:
        row = db.execute(sql, args).fetchone()
    assert row is not None, sql
    return int(row[0])


def _huangs_file(server: LiveServer) -> int:
    return _one(
        server,
        "SELECT pillar_file.id FROM pillar_file JOIN case_file ON case_file.id = pillar_file.case_id"
        " JOIN person ON person.id = case_file.person_id WHERE person.display_name = '黄美兰'",
    )


def _figures(page: Page, server: LiveServer, programme_id: int, day: str) -> dict[str, str]:
    """The quarter's CSV as {figure: value} over its block, figure, value rows."""
    response = page.request.get(server.url(f"/pillar/{programme_id}/figures.csv?period=quarter&on={day}"))
    assert response.status == 200, response.status
    rows = csv.reader(io.StringIO(response.text().lstrip("\ufeff")))
    return {row[1]: row[2] for row in rows if len(row) == 3}


def test_a_mothers_file_group_survey_evaluation_and_staged_money_reach_the_quarters_figures(
    new_phone: NewPhone,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
) -> None:
    today = clock.today_in(ZoneInfo(SHANGHAI))
    file_id = _huangs_file(live_server)
    programme_id = _one(live_server, "SELECT id FROM programme WHERE kind = 'pillar_mothers'")
    employment = _one(
        live_server,
        "SELECT id FROM case_dimension WHERE programme_id = ? AND code = 'employment'",
        programme_id,
    )
    contract_id = _one(live_server, "SELECT id FROM pillar_contract WHERE programme_id = ?", programme_id)
    stage_id = _one(
        live_server,
        "SELECT id FROM pillar_contract_stage WHERE contract_id = ? AND round = 'mid_term'",
        contract_id,
    )

    staff = new_phone()
    sign_in(staff, STAFF)
    before = _figures(staff, live_server, programme_id, today.isoformat())

    # 1. The cadre opens the mother's file from her home page and updates one dimension.
    cadre = new_phone()
    sign_in(cadre, CADRE)
    cadre.goto(live_server.url(f"/pillar/mothers/{file_id}"))
    expect(cadre.get_by_role("heading", level=1)).to_contain_text("黄美兰")
    cadre.locator(f"#pillar-need-edit-{employment} summary").tap()
    cadre.locator(f"#pillar-need-level-{employment}").select_option("3")
    cadre.locator(f"#pillar-need-text-{employment}").fill(NEED)
    cadre.locator(f"#pillar-need-submit-{employment}").tap()
    expect(cadre.locator(f"#pillar-need-{employment}")).to_contain_text(NEED)
    cadre.screenshot(path=str(artifacts_dir / "pillar-file-cadre.png"), full_page=True)
    with _db(live_server) as db:
        levels = db.execute(
            "SELECT level FROM pillar_need WHERE file_id = ? AND dimension_id = ? ORDER BY id",
            (file_id, employment),
        ).fetchall()
    assert [level for (level,) in levels] == [2, 3]  # the screening's need stays as history

    # 2. A volunteer logs a phone contact with no signal; it arrives once when the signal returns.
    volunteer = new_phone()
    sign_in(volunteer, VOLUNTEER)
    volunteer.goto(live_server.url(f"/pillar/mothers/{file_id}/contacts/new"))
    wait_until_controlled(volunteer)
    volunteer.locator("#contact-day").fill(today.isoformat())
    volunteer.locator("#contact-channel-phone").check()
    volunteer.locator("#contact-minutes").fill("20")
    volunteer.locator("#contact-note").fill(NOTE)
    go_offline(volunteer.context)
    volunteer.locator("#contact-submit").tap()
    expect(volunteer.locator("#outbox").get_by_role("status")).to_have_text(SAVED, timeout=WAIT_MS)
    [entry] = outbox_entries(volunteer)
    assert entry["kind"] == "contact"
    go_online(volunteer.context)
    volunteer.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    volunteer.wait_for_function("async () => (await window.carelogOutbox.flush(), true)")
    assert _one(live_server, "SELECT count(*) FROM pillar_contact WHERE note = ?", NOTE) == 1

    # 3. The mother answers the mid-term survey on her phone.
    mother = new_phone()
    sign_in(mother, MOTHER)
    mother.goto(live_server.url("/pillar/survey"))
    for key, answer in (("q_overall", 5), ("q_group", 5), ("q_services", 4), ("q_life", 4)):
        mother.locator(f"#{key}-{answer}").check()
    mother.locator("#survey-comment").fill("小组的姐妹常来电话，心里踏实多了。")
    mother.screenshot(path=str(artifacts_dir / "pillar-survey.png"), full_page=True)
    mother.locator("#survey-submit").tap()
    expect(mother.locator("#survey-saved")).to_be_visible()
    assert _one(live_server, "SELECT count(*) FROM pillar_survey_response WHERE file_id = ?", file_id) == 1

    # 4. Staff record the mid-term evaluation as passed; the satisfaction score comes from the survey.
    staff.goto(live_server.url(f"/pillar/contracts/{contract_id}"))
    staff.locator("#evaluate-mid-term").tap()
    expect(staff.locator("#survey-figures")).to_be_visible()
    for field in staff.locator("input[id^=score-]").all():
        field.fill(field.get_attribute("max") or "0")
    staff.locator("#evaluation-audit input[value=passed]").check()
    staff.locator("#evaluation-note").fill("中期评估：服务按计划推进。")
    staff.screenshot(path=str(artifacts_dir / "pillar-evaluation.png"), full_page=True)
    staff.locator("#evaluation-submit").tap()
    staff.wait_for_url(re.compile(rf"/pillar/contracts/{contract_id}(\?[^/]*)?$"))
    with _db(live_server) as db:
        passed, survey_count = db.execute(
            "SELECT passed, survey_count FROM pillar_evaluation WHERE contract_id = ? AND round = 'mid_term'",
            (contract_id,),
        ).fetchone()
    assert passed and survey_count >= 1

    # 5. The staff member who recorded it is not offered its release; another staff member releases it.
    expect(staff.locator(f"#stage-{stage_id}-others")).to_be_visible()
    expect(staff.locator(f"#release-{stage_id}-submit")).to_have_count(0)
    released = "SELECT count(*) FROM settlement_contract_release WHERE stage_id = ?"
    assert _one(live_server, released, stage_id) == 0
    payer = new_phone()
    sign_in(payer, PAYER)
    payer.goto(live_server.url(f"/pillar/contracts/{contract_id}"))
    payer.locator(f"#release-{stage_id}-submit").tap()
    expect(payer.locator(f"#stage-{stage_id}-state")).to_contain_text("秦岚")
    payer.screenshot(path=str(artifacts_dir / "pillar-contract.png"), full_page=True)
    assert (
        _one(live_server, "SELECT count(*) FROM settlement_contract_release WHERE stage_id = ?", stage_id)
        == 1
    )

    # 6. The quarter's figures count the contact, the survey answer and the released amount.
    after = _figures(staff, live_server, programme_id, today.isoformat())
    assert int(after["联系次数"]) == int(before["联系次数"]) + 1
    answers = next(label for label in after if label.startswith("中期") and label.endswith("份数"))
    assert int(after[answers]) == int(before.get(answers) or 0) + 1
    money = "期内拨付（元）"
    assert Decimal(after[money]) == Decimal(before[money]) + MID_TERM_STAGE_YUAN
    staff.goto(live_server.url(f"/pillar/{programme_id}/figures?period=quarter&on={today}"))
    expect(staff.get_by_role("heading", level=1)).to_be_visible()
    staff.screenshot(path=str(artifacts_dir / "pillar-figures.png"), full_page=True)
    mother.goto(live_server.url(f"/pillar/mothers/{file_id}"))
    expect(mother.get_by_text(NOTE)).to_be_visible()
    mother.screenshot(path=str(artifacts_dir / "pillar-mother-file.png"), full_page=True)
    browser_log.assert_clean()
