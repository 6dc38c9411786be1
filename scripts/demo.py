"""The main job, end to end, on one machine: emulators -> Meltano -> DuckDB.

Starts the bundled SSM and TAT emulators with realistic sample data (the regions of
meltano.yml's `emulators` environment), runs `meltano run tap-cloudcommands target-duckdb`,
prints the rows loaded per table and region, and stops the emulators. Run it with
`make demo`; running it again is safe (same command ids, upserted, state reused).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tests.emulators import (  # noqa: E402 - the project root must be importable first
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.meltano_project import find_meltano  # noqa: E402
from tests.tap_runner import tap_env  # noqa: E402

AWS_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]
SSM_PER_REGION = 120
TAT_PER_REGION = 90
DUCKDB_FILE = PROJECT_ROOT / "output" / "warehouse.duckdb"
DUCKDB_PYTHON = PROJECT_ROOT / ".meltano/loaders/target-duckdb/venv/bin/python"
COUNT_ROWS = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute('''
    select 'ssm_commands', region, status, count(*)
    from cloudcommands.ssm_commands group by all
    union all
    select 'ssm_command_invocations', region, status, count(*)
    from cloudcommands.ssm_command_invocations group by all
    union all
    select 'tat_commands', region, commandtype, count(*)
    from cloudcommands.tat_commands group by all
    union all
    select 'tat_invocations', region, invocationstatus, count(*)
    from cloudcommands.tat_invocations group by all
    union all
    select 'tat_invocation_tasks', region, taskstatus, count(*)
    from cloudcommands.tat_invocation_tasks group by all
    order by 1, 2, 3
''').fetchall()
print(json.dumps(rows))
"""


def meltano(*args: str, env: dict[str, str]) -> None:
    """Run a Meltano command in the project, streaming its output."""
    print(f"$ meltano {' '.join(args)}", flush=True)
    subprocess.run([str(find_meltano()), *args], cwd=PROJECT_ROOT, env=env, check=True)


def print_counts(expected: dict[tuple[str, str], int]) -> None:
    """Rows per table and region (with the status mix) from the DuckDB file.

    Raises:
        SystemExit: If the warehouse does not hold what the emulators served.
    """
    output = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", COUNT_ROWS, str(DUCKDB_FILE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    per_region: dict[tuple[str, str], dict[str, int]] = {}
    for table, region, kind, count in json.loads(output):
        per_region.setdefault((table, region), {})[kind] = count
    print(f"\nLoaded into {DUCKDB_FILE.relative_to(PROJECT_ROOT)}:\n")
    print(f"{'table':<23} {'region':<16} {'rows':>5} {'served':>6}  breakdown")
    mismatches = []
    for key in sorted(expected):
        kinds = per_region.get(key, {})
        rows = sum(kinds.values())
        breakdown = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"{key[0]:<23} {key[1]:<16} {rows:>5} {expected[key]:>6}  {breakdown}")
        if rows != expected[key]:
            mismatches.append(key)
    if mismatches:
        msg = f"the warehouse does not match what the emulators served for {mismatches}"
        raise SystemExit(msg)


def main() -> None:
    """Start the emulators, run the pipeline, print what was loaded, stop."""
    now = dt.datetime.now(dt.UTC)
    with (
        SSMEmulator() as ssm,
        TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}) as tat,
    ):
        populate_ssm(ssm, AWS_REGIONS, SSM_PER_REGION, now=now, audit_events=True)
        populate_tat(tat, TENCENT_REGIONS, TAT_PER_REGION, now=now, audit_events=True)
        print(f"SSM emulator {ssm.url} ({SSM_PER_REGION} commands x {len(AWS_REGIONS)} regions)")
        print(
            f"TAT emulator {tat.url} ({TAT_PER_REGION} commands x {len(TENCENT_REGIONS)} regions)"
        )
        env = tap_env(
            {
                "MELTANO_ENVIRONMENT": "emulators",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_CLI_LOG_LEVEL": "warning",
                "TAP_CLOUDCOMMANDS_AWS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_TENCENT_ENDPOINT_URL": tat.url,
                # The audit APIs are served on the same ports (tests/emulators/cloudtrail.py).
                "TAP_CLOUDCOMMANDS_AWS_CLOUDTRAIL_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_TENCENT_CLOUDAUDIT_ENDPOINT_URL": tat.url,
            }
        )
        DUCKDB_FILE.parent.mkdir(exist_ok=True)
        meltano("install", env=env)
        # A full refresh each time: the emulators' data is made anew on every run, so the
        # demo's DuckDB file always ends up holding exactly that data, upserted.
        meltano("run", "--full-refresh", "tap-cloudcommands", "target-duckdb", env=env)
        expected = {
            **{("ssm_commands", r): len(ssm.commands(r)) for r in AWS_REGIONS},
            **{("ssm_command_invocations", r): len(ssm.invocations(r)) for r in AWS_REGIONS},
            **{("tat_commands", r): len(tat.commands(r)) for r in TENCENT_REGIONS},
            **{("tat_invocations", r): len(tat.invocations(r)) for r in TENCENT_REGIONS},
            **{("tat_invocation_tasks", r): len(tat.invocation_tasks(r)) for r in TENCENT_REGIONS},
        }
    print_counts(expected)


if __name__ == "__main__":
    main()
