"""The README's first command: the demo pipeline into DuckDB, dbt marts and report, run twice."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from tests.emulators import EMULATOR_AWS_ACCOUNT_ID, EMULATOR_TENCENT_ACCOUNT_ID
from tests.emulators.demo_accounts import aws_account_id, tencent_account_id
from tests.meltano_project import PROJECT_ROOT, MeltanoUnavailableError, find_meltano
from tests.test_meltano_e2e import AWS_REGIONS, TENCENT_REGIONS, unavailable
from tests.warehouse_truth import check_rollups


def run_demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/demo.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_demo_loads_every_served_command_and_can_run_again():
    try:
        find_meltano()
    except MeltanoUnavailableError as exc:
        unavailable(str(exc))

    for _ in range(2):
        done = run_demo()
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        # The table of loaded rows ends at the first blank line (the marts follow).
        table = done.stdout[done.stdout.index("table ") :].split("\n\n")[0].splitlines()[1:]
        rows = {tuple(line.split()[:3]): line.split()[3:5] for line in table}
        # Two accounts per cloud, every region of each.
        assert set(rows) == {
            (table, account, region)
            for tables, accounts, regions in (
                (
                    ("ssm_commands", "ssm_command_invocations"),
                    (EMULATOR_AWS_ACCOUNT_ID, aws_account_id(1)),
                    AWS_REGIONS,
                ),
                (
                    ("tat_commands", "tat_invocations", "tat_invocation_tasks"),
                    (EMULATOR_TENCENT_ACCOUNT_ID, tencent_account_id(1)),
                    TENCENT_REGIONS,
                ),
            )
            for table in tables
            for account in accounts
            for region in regions
        }
        assert all(loaded == served and int(loaded) > 0 for loaded, served in rows.values())
        # The demo compares the marts with the emulators itself and stops when they differ.
        assert "Marts (analytics schema) match the emulators: cloud_command_runs" in done.stdout
        assert "analytics.failure_hotspots_by_command, top 5:" in done.stdout
        assert "Report: output/report.html" in done.stdout
        report = PROJECT_ROOT / "output" / "report.html"
        assert report.stat().st_size > 1_000_000  # plotly.js is inside
        assert 'data-chart="failure-rate-by-command"' in report.read_text()


def test_mart_checks_catch_a_wrong_row():
    """The demo's roll-up checks pass on consistent marts and fail on one wrong count."""
    day = dt.datetime(2026, 12, 1, 8, 0)  # noqa: DTZ001 - naive UTC, as the marts store it
    runs = [
        {
            "run_key": f"aws::r:c{n}:i-{n % 2}",
            "cloud": "aws",
            "account_id": None,
            "region": "r",
            "instance_id": f"i-{n % 2}",
            "command_name": "AWS-RunShellScript",
            "status": "failed" if n else "success",
            "requested_at": day,
        }
        for n in range(3)
    ]
    daily = [
        {
            "day": day.date(),
            "cloud": "aws",
            "account_id": None,
            "region": "r",
            "status": s,
            "runs": n,
        }
        for s, n in (("success", 1), ("failed", 2))
    ]
    by_command = [
        {
            "cloud": "aws",
            "account_id": None,
            "command_name": "AWS-RunShellScript",
            "runs": 3,
            "failed_runs": 2,
        }
    ]
    by_instance = [
        {
            "cloud": "aws",
            "account_id": None,
            "region": "r",
            "instance_id": i,
            "runs": r,
            "failed_runs": f,
        }
        for i, r, f in (("i-0", 2, 1), ("i-1", 1, 1))
    ]
    assert check_rollups(runs, daily, by_command, by_instance) == []
    by_instance[1]["failed_runs"] = 0
    assert len(check_rollups(runs, daily, by_command, by_instance)) == 1
    daily[1]["runs"] = 3
    assert len(check_rollups(runs, daily, by_command, by_instance)) == 2
