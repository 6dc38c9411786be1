"""output/report.html in a real headless browser: Debian's chromium, driven by playwright.

The report is written from a small DuckDB warehouse holding the marts' columns the
report reads, then opened from disk with every request other than the file itself
recorded (and refused): it must work offline. Any console error fails the test, and each
chart must have drawn as many bars as the report says it holds.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from scripts.report import write_report
from tests.test_meltano_e2e import unavailable

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
NOW = dt.datetime(2026, 12, 1, 12, 0, 0)  # noqa: DTZ001 - naive UTC, as the marts store it
STATUSES = ["success", "success", "success", "failed", "timed_out", "running", "cancelled"]


def make_warehouse(path: Path) -> None:
    """Marts with a few days of runs on both clouds (the columns the report reads)."""
    runs = []
    for n in range(60):
        cloud = "aws" if n % 2 else "tencent"
        status = STATUSES[n % len(STATUSES)]
        requested = NOW - dt.timedelta(hours=7 * n)
        started = requested + dt.timedelta(seconds=5)
        finished = started + dt.timedelta(seconds=10 + 13 * n) if status != "running" else None
        runs.append(
            (
                f"{cloud}::r1:run-{n}:i-{n % 6}",
                cloud,
                None,
                "r1",
                f"i-{n % 6}",
                f"command-{n % 5}",
                status,
                status.upper(),
                requested,
                (finished - started).total_seconds() if finished else None,
                1 if status == "failed" else None,
            )
        )
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        con.execute(
            "create table analytics.cloud_command_runs (run_key varchar, cloud varchar, "
            "account_id varchar, region varchar, instance_id varchar, command_name varchar, "
            "status varchar, raw_status varchar, requested_at timestamp, "
            "duration_seconds double, exit_code bigint)"
        )
        con.executemany(
            "insert into analytics.cloud_command_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        con.execute(
            "create table analytics.daily_run_counts as select cast(requested_at as date) as day, "
            "cloud, account_id, region, status, count(*) as runs "
            "from analytics.cloud_command_runs group by all"
        )
        con.execute(
            "create table analytics.failure_hotspots_by_command as select cloud, account_id, "
            "command_name, count(*) as runs, "
            "count(*) filter (where status in ('success', 'failed', 'timed_out', 'cancelled')) "
            "as finished_runs, count(*) filter (where status in ('failed', 'timed_out')) "
            "as failed_runs, failed_runs / nullif(finished_runs, 0) as failure_rate "
            "from analytics.cloud_command_runs group by all"
        )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    make_warehouse(folder / "warehouse.duckdb")
    return write_report(folder / "warehouse.duckdb", folder / "report.html")


def browser_page(playwright):
    if not CHROMIUM.is_file():
        unavailable(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    # As root, chromium refuses to start with its sandbox on.
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )
    return browser, browser.new_page()


def test_report_renders_offline_in_chromium(report):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    url = report.as_uri()
    with sync_playwright() as playwright:
        browser, page = browser_page(playwright)
        try:
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: errors.append(str(error)))

            def refuse_network(route):
                if route.request.url != url:
                    requests.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", refuse_network)
            page.goto(url, wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3",
                timeout=30_000,
            )
            charts = page.eval_on_selector_all(
                "section[data-chart]",
                """sections => sections.map(s => ({
                    name: s.dataset.chart,
                    expected: Number(s.dataset.points),
                    svgs: s.querySelectorAll('.main-svg').length,
                    drawn: [...s.querySelectorAll('.trace.bars .point path')].filter(
                        p => (p.getAttribute('d') || '') !== '' && p.getAttribute('d') !== 'M0,0Z'
                    ).length,
                }))""",
            )
            failure_rows = page.locator("#latest-failures tbody tr").count()
            first_failure = page.locator("#latest-failures tbody tr").first.inner_text()
        finally:
            browser.close()

    assert errors == []
    assert requests == []
    assert [c["name"] for c in charts] == [
        "runs-per-day",
        "failure-rate-by-command",
        "slowest-runs",
    ]
    for chart in charts:
        assert chart["svgs"] >= 1, chart
        assert chart["expected"] > 0, chart
        assert chart["drawn"] == chart["expected"], chart
    # Failed and timed-out runs, newest first (run 3 failed, 21 h before NOW).
    assert failure_rows == sum(
        STATUSES[n % len(STATUSES)] in {"failed", "timed_out"} for n in range(60)
    )
    assert "command-3" in first_failure
    assert "2026-11-30 15:00:00" in first_failure


def test_report_has_no_remote_script_or_stylesheet(report):
    text = report.read_text()
    # plotly.js is inside the file: no <script src=...> or <link> to load.
    assert "<script src=" not in text
    assert "<link" not in text
    assert text.count('class="js-plotly-plot"') + text.count("plotly-graph-div") >= 3
