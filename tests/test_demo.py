"""The README's first command: the demo pipeline into DuckDB, run twice."""

from __future__ import annotations

import subprocess
import sys

from tests.meltano_project import PROJECT_ROOT, MeltanoUnavailableError, find_meltano
from tests.test_meltano_e2e import AWS_REGIONS, TENCENT_REGIONS, unavailable


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
        table = done.stdout[done.stdout.index("table ") :].splitlines()[1:]
        rows = {tuple(line.split()[:2]): line.split()[2:4] for line in table if line.strip()}
        assert set(rows) == {
            (table, region)
            for tables, regions in (
                (("ssm_commands", "ssm_command_invocations"), AWS_REGIONS),
                (("tat_commands", "tat_invocations", "tat_invocation_tasks"), TENCENT_REGIONS),
            )
            for table in tables
            for region in regions
        }
        assert all(loaded == served and int(loaded) > 0 for loaded, served in rows.values())
