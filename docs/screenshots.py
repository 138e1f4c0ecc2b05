"""Screenshots of the UI for docs/ui.md, taken in Chromium from a real example database.

    python docs/screenshots.py [--out docs/ui] [--chromium /usr/bin/chromium]

The database is written by the harness scripts the tests use (``tests/scenarios.py`` and
``tests/ui_scenarios.py``), so the pictures show what the tests check.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ui_support import build_example  # noqa: E402

from otel_sqlite.ui.server import UIServer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def shoot(page, base: str, out: Path) -> None:
    page.goto(base)
    page.locator("#runs tbody tr").first.wait_for()
    page.screenshot(path=out / "runs.png")

    page.locator("#runs tbody tr", has_text="nightly").last.get_by_role("link").click()
    page.locator('.wf-row[data-kind="step"][data-status="error"]').click()
    page.locator("#details .log li[data-line]").first.wait_for()
    page.screenshot(path=out / "run.png")

    page.goto(base + "search?q=warning%20OR%20timeout%20OR%20assertion")
    page.locator("a.hit").first.wait_for()
    page.screenshot(path=out / "search.png")
    page.goto(base + "search?q=zanzibar")
    page.locator("a.hit", has_text="stdout").click()
    page.locator("#details .log li.target").wait_for()
    page.screenshot(path=out / "log.png")

    page.goto(base + "costs")
    page.locator("#cost-chart").wait_for()
    page.screenshot(path=out / "costs.png")

    page.goto(base)
    page.locator("#runs tbody tr", has_text="nightly").first.get_by_role("link").click()
    page.get_by_role("link", name="Compare with an earlier run").click()
    page.locator("#diff").wait_for()
    page.screenshot(path=out / "compare.png")

    page.goto(base)
    page.locator("#runs tbody tr", has_text="deploy").get_by_role("link").click()
    page.locator('.wf-row[data-kind="step"]').click()
    page.locator("#details .detail-head").wait_for()
    page.screenshot(path=out / "in-flight.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        db = build_example(Path(folder) / "example.db")
        server = UIServer(db, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 860})
                shoot(page, server.url, args.out)
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
