"""The UI in a real browser: Debian's Chromium driven by Playwright, over the example database.

Skipped, with the reason, only when no Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ui_support import running, write_run

from otel_sqlite.cli.main import cli
from otel_sqlite.conventions import HARNESS_KIND, KIND_RUN, KIND_STEP
from otel_sqlite.queries import outcomes
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store

pytest_plugins = ["ui_fixtures"]  # the example database and server fixtures

CHROMIUM = os.environ.get("OTEL_SQLITE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<script>alert(1)</script>"

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page that records dialogs and script errors; both must stay empty."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(10_000)
    yield page
    assert page.errors == []
    context.close()


def expect(locator):
    return sync_api.expect(locator)


def test_the_runs_list_shows_each_run_with_its_status(page, ui_server):
    page.goto(ui_server.url)
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(7)
    status_of = {}
    for row in rows.all():
        status_of.setdefault(row.locator("td.name").inner_text(),
                             row.locator(".badge").inner_text())
    assert status_of == {"deploy": "in flight", "release": "failed", HOSTILE: "ok",
                         "GET /orders": "ok", "agent-session": "ok", "nightly": "failed"}


def test_a_failed_run_shows_its_waterfall_with_the_failed_step_marked(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="nightly").last.get_by_role("link").click()
    expect(page.locator(".run-name")).to_have_text("nightly")
    failed = page.locator('.wf-row[data-kind="step"][data-status="error"]')
    expect(failed).to_have_count(1)
    expect(failed.locator(".wf-name")).to_have_text("test")
    expect(failed.locator(".wf-icon")).to_have_text("✗")
    expect(page.locator(".wf-row.retries .wf-attempts")).to_have_text("2 attempts")


def test_clicking_the_failed_step_shows_its_stderr_with_the_error_line(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="nightly").last.get_by_role("link").click()
    page.locator('.wf-row[data-kind="step"][data-status="error"]').click()
    log = page.locator('#details .log[data-role="stderr"]')
    expect(log.locator("li[data-line='1'] .tx")).to_have_text("assertion failed: 2 != 3")


def test_a_failed_run_opens_at_its_innermost_failed_step(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="nightly").first.get_by_role("link").click()
    expect(page.locator("#details .span-name")).to_have_text("compile")
    expect(page.locator('#details .log[data-role="stderr"] li[data-line="1"] .tx')).to_have_text(
        "error: missing semicolon")


def test_searching_from_a_run_page_keeps_to_that_run(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="nightly").last.get_by_role("link").click()
    run_id = page.url.split("/run/")[1].split("?")[0]
    page.locator("#run-search input").fill("warning")
    page.locator("#run-search input").press("Enter")
    expect(page.locator("section.hit-run")).to_have_count(1)
    expect(page.locator("section.hit-run")).to_have_attribute("data-run-id", run_id)


def test_search_for_a_word_from_stdout_opens_the_log_at_its_line(page, ui_server):
    page.goto(ui_server.url + "search")
    page.locator("#search-form input").fill("zanzibar")
    page.locator("#search-form button").click()
    hit = page.locator("a.hit", has_text="stdout")
    expect(hit).to_contain_text("line 250: zanzibar checksum mismatch")
    hit.click()
    target = page.locator("#details .log li.target")
    expect(target).to_have_attribute("data-line", "250")
    expect(target.locator("mark")).to_have_text("zanzibar")
    expect(target).to_be_in_viewport()


def test_the_costs_page_shows_the_totals_per_model(page, ui_server):
    page.goto(ui_server.url + "costs")
    row = page.locator('#costs tbody tr[data-key="claude-sonnet-4"]')
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(row.locator("td").nth(4)).to_have_text("$0.0135")
    expect(page.locator("#costs tfoot td").nth(3)).to_have_text("$0.0235")
    expect(page.locator("#cost-chart rect")).to_have_count(2)


def test_costs_by_run_link_to_each_run(page, ui_server):
    page.goto(ui_server.url + "costs?by=run")
    link = page.locator("#costs tbody a", has_text="agent-session")
    expect(link).to_have_attribute("href", re.compile(r"^/run/[0-9a-f]{32}$"))
    link.click()
    expect(page.locator(".run-name")).to_have_text("agent-session")


def test_hostile_names_render_as_text_and_run_no_script(page, ui_server):
    page.goto(ui_server.url)
    link = page.locator("#runs td.name a", has_text="alert(1)")
    expect(link).to_have_text(HOSTILE)
    link.click()
    expect(page.locator(".run-name")).to_have_text(HOSTILE)
    step = page.locator('.wf-row[data-kind="step"]')
    expect(step.locator(".wf-name")).to_contain_text("<img src=x onerror=")
    step.click()
    expect(page.locator("#details .log li[data-line='1'] .tx")).to_have_text(HOSTILE)
    page.locator("#details .tab.role-stderr").click()
    expect(page.locator('#details .log[data-role="stderr"] li[data-line="1"] .tx')).to_contain_text(
        "<img src=x onerror=")
    assert page.locator("script").count() == 1  # the app's own
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []


def test_a_run_written_while_the_page_is_open_appears_without_reload(page, tmp_path):
    db = tmp_path / "live.db"
    write_run(db, "before", "1" * 32)
    with running(db) as server:
        page.goto(server.url)
        expect(page.locator("#runs tbody tr")).to_have_count(1)
        page.evaluate("window.__sameDocument = true")
        write_run(db, "written-later", "2" * 32)
        expect(page.locator("#runs tbody tr").first.locator("td.name")).to_have_text(
            "written-later")
        assert page.evaluate("window.__sameDocument") is True


def test_an_in_flight_run_is_marked(page, ui_server):
    page.goto(ui_server.url)
    row = page.locator("#runs tbody tr", has_text="deploy")
    expect(row.locator(".badge")).to_have_text("in flight")
    row.get_by_role("link").click()
    step = page.locator('.wf-row[data-kind="step"]')
    expect(step).to_have_attribute("data-status", "incomplete")
    expect(step.locator(".wf-flag")).to_have_text("in flight")
    expect(step.locator(".wf-bar")).to_have_class(re.compile("incomplete"))


def test_an_exception_shows_its_stack_trace(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="release").get_by_role("link").click()
    page.locator(".wf-row", has_text="publish").click()
    expect(page.locator("#details .exception-line")).to_have_text(
        "ValueError: release notes are missing")
    expect(page.locator("#details pre.stacktrace")).to_contain_text("in explode")


def test_compare_names_the_newly_failing_and_fixed_steps(page, ui_server):
    page.goto(ui_server.url)
    page.locator("#runs tbody tr", has_text="nightly").first.get_by_role("link").click()
    page.get_by_role("link", name="Compare with an earlier run").click()
    expect(page.locator('[data-section="newly_failing"] tbody tr')).to_have_attribute(
        "data-step", "compile")
    expect(page.locator('[data-section="fixed"] tbody tr')).to_have_attribute(
        "data-step", "test")


def test_an_unknown_run_is_a_not_found_page(page, ui_server):
    response = page.goto(ui_server.url + "run/00000000000000000000000000000000")
    assert response.status == 404
    expect(page.locator("#not-found h1")).to_have_text("Not found")


def _write_wide_run(db: Path, steps: int) -> str:
    trace, root, start = "0c" * 16, "0" * 15 + "1", 1_700_000_000 * 10**9
    records = [SpanRecord(trace, root, "wide", start, start + steps * 10**6 + 1,
                          attributes={HARNESS_KIND: KIND_RUN})]
    records += [SpanRecord(trace, f"{n + 2:016x}", f"step {n}", start + n * 10**6,
                           start + (n + 1) * 10**6, parent_span_id=root,
                           attributes={HARNESS_KIND: KIND_STEP}) for n in range(steps)]
    store = Store(db)
    store.write(records)
    store.close()
    return trace


def test_a_big_run_draws_only_the_rows_in_view_and_scrolls_to_the_last(page, tmp_path):
    db = tmp_path / "wide.db"
    trace = _write_wide_run(db, 3000)
    with running(db) as server:
        page.goto(f"{server.url}run/{trace}")
        expect(page.locator(".wf-row").first).to_be_visible()
        assert page.locator(".wf-row").count() < 100
        page.locator(".wf-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        last = page.locator(".wf-row", has_text="step 2999")
        expect(last).to_be_visible()
        last.click()
        expect(page.locator("#details .span-name")).to_have_text("step 2999")


def test_each_run_pages_header_counts_as_summary_json(page, tmp_path):
    db = tmp_path / "shapes.db"
    subprocess.run([sys.executable, str(Path(__file__).with_name("outcome_scenarios.py")),
                    str(db)], check=True, capture_output=True, timeout=120)
    runs = CliRunner().invoke(cli, ["runs", "--db", str(db), "--format", "json"])
    with running(db) as server:
        for run in json.loads(runs.output):
            done = CliRunner().invoke(cli, ["summary", run["run_id"], "--db", str(db),
                                            "--format", "json"])
            summary = json.loads(done.output)
            page.goto(f"{server.url}run/{run['run_id']}")
            expect(page.locator(".outcome-counts")).to_have_text(
                outcomes.describe(summary["outcomes"]))
            failed = len(summary["failed_steps"])
            expect(page.locator(".step-count")).to_have_text(
                f"{summary['steps']}" + (f" · {failed} failed" if failed else ""))
            skipped = [s for s in summary["skipped_steps"] if s["outcome"] == "skipped"]
            expect(page.locator(".wf-flag.outcome-skipped")).to_have_count(len(skipped))
            if run["name"] == "skips":
                page.locator(".wf-row", has_text="needs credentials").click()
                expect(page.locator(".outcome-reason")).to_have_text(
                    "skipped: no credentials in CI")


def test_an_instrumented_call_shows_its_estimate_and_its_conversation(page, tmp_path):
    db, trace = tmp_path / "agent.db", "9" * 32
    store = Store(db)
    store.write([
        SpanRecord(trace, trace[:16], "triage", 1, 10**9, attributes={HARNESS_KIND: KIND_RUN}),
        SpanRecord(trace, "8" * 16, "chat gpt-4o", 10, 10**8, parent_span_id=trace[:16],
                   attributes={
                       "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                       "gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 0,
                       "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                           {"type": "text", "content": "Why did the build fail?"}]}]),
                       "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                           {"type": "text", "content": "A missing header."}]}])}),
    ])
    store.close()
    with running(db) as server:
        page.goto(server.url + "costs")
        row = page.locator('#costs tbody tr[data-key="gpt-4o"]')
        expect(row.locator("td.estimated")).to_have_text("~$2.50")
        page.goto(server.url + f"run/{trace}")
        expect(page.locator("#run-cost")).to_contain_text("~$2.50 est.")
        page.locator(".wf-row", has_text="chat gpt-4o").click()
        expect(page.locator("#model-call")).to_contain_text("~$2.50 estimated")
        messages = page.locator("#conversation li")
        expect(messages).to_have_count(2)
        expect(messages.nth(0)).to_contain_text("Why did the build fail?")
        expect(messages.nth(1)).to_contain_text("A missing header.")
