"""The main job, end to end, on one machine: emulators -> Meltano -> DuckDB -> dbt -> report.

Starts the bundled SSM and TAT emulators with realistic sample data (the regions of
meltano.yml's `emulators` environment), runs
`meltano run tap-cloudcommands target-duckdb dbt-duckdb:build`, prints the rows loaded per
table and region, checks the dbt marts against what the emulators served, prints a few
mart rows, writes output/report.html and stops the emulators. Run it with `make demo`;
running it again is safe (a full refresh upserts the same ids; dbt rebuilds the marts).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from scripts.report import write_report  # noqa: E402
from tests.emulators import (  # noqa: E402 - the project root must be importable first
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.emulators.demo_accounts import add_demo_accounts  # noqa: E402
from tests.emulators.sample_data import DEFAULT_SEED  # noqa: E402
from tests.meltano_project import find_meltano  # noqa: E402
from tests.tap_runner import tap_env  # noqa: E402
from tests.warehouse_truth import (  # noqa: E402
    RUN_COLUMNS,
    check_rollups,
    check_run_types,
    check_runs,
)

AWS_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]
SSM_PER_REGION = 120
TAT_PER_REGION = 90
DUCKDB_FILE = PROJECT_ROOT / "output" / "warehouse.duckdb"
REPORT_FILE = PROJECT_ROOT / "output" / "report.html"
MARTS = "analytics"
# Accounts per cloud, the emulators' default one included: one configuration reads them all.
ACCOUNTS = 2
COUNT_ROWS = """
    select 'ssm_commands', accountid, region, status, count(*)
    from cloudcommands.ssm_commands group by all
    union all
    select 'ssm_command_invocations', accountid, region, status, count(*)
    from cloudcommands.ssm_command_invocations group by all
    union all
    select 'tat_commands', accountid, region, commandtype, count(*)
    from cloudcommands.tat_commands group by all
    union all
    select 'tat_invocations', accountid, region, invocationstatus, count(*)
    from cloudcommands.tat_invocations group by all
    union all
    select 'tat_invocation_tasks', accountid, region, taskstatus, count(*)
    from cloudcommands.tat_invocation_tasks group by all
    order by 1, 2, 3, 4
"""
SAMPLE_COLUMNS = (
    "cloud",
    "account_id",
    "region",
    "instance_id",
    "command_name",
    "status",
    "exit_code",
    "requested_by",
)


def meltano(*args: str, env: dict[str, str]) -> None:
    """Run a Meltano command in the project, streaming its output."""
    print(f"$ meltano {' '.join(args)}", flush=True)
    subprocess.run([str(find_meltano()), *args], cwd=PROJECT_ROOT, env=env, check=True)


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, t.Any]]:
    """Rows of a query as column -> value."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def print_counts(con: duckdb.DuckDBPyConnection, expected: dict[tuple[str, str, str], int]) -> None:
    """Rows per table, account and region (with the status mix) from the DuckDB file.

    Raises:
        SystemExit: If the warehouse does not hold what the emulators served.
    """
    per_region: dict[tuple[str, str, str], dict[str, int]] = {}
    for table, account, region, kind, count in con.execute(COUNT_ROWS).fetchall():
        per_region.setdefault((table, account, region), {})[kind] = count
    print(f"\nLoaded into {DUCKDB_FILE.relative_to(PROJECT_ROOT)}:\n")
    print(f"{'table':<23} {'account':<13} {'region':<15} {'rows':>5} {'served':>6}  breakdown")
    mismatches = []
    for key in sorted(expected):
        kinds = per_region.get(key, {})
        rows = sum(kinds.values())
        breakdown = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"{key[0]:<23} {key[1]:<13} {key[2]:<15} {rows:>5} {expected[key]:>6}  {breakdown}")
        if rows != expected[key]:
            mismatches.append(key)
    if mismatches:
        msg = f"the warehouse does not match what the emulators served for {mismatches}"
        raise SystemExit(msg)


def check_marts(con: duckdb.DuckDBPyConnection, ssm: SSMEmulator, tat: TATEmulator) -> None:
    """Compare the dbt marts with the emulators; print their figures and a few rows.

    Raises:
        SystemExit: If a mart does not hold what the emulators served.
    """
    runs = fetch(con, f"select * from {MARTS}.cloud_command_runs order by run_key")
    problems = check_runs(runs, ssm, tat, AWS_REGIONS, TENCENT_REGIONS, ssm_details=True)
    problems += check_rollups(
        runs,
        fetch(con, f"select * from {MARTS}.daily_run_counts"),
        fetch(con, f"select * from {MARTS}.failure_hotspots_by_command"),
        fetch(con, f"select * from {MARTS}.failure_hotspots_by_instance"),
    )
    types = con.execute(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{MARTS}' and table_name = 'cloud_command_runs' "
        "order by ordinal_position"
    ).fetchall()
    problems += check_run_types(dict(types))
    if problems:
        raise SystemExit("the marts do not match the emulators:\n" + "\n".join(problems[:20]))
    clouds = {cloud: sum(r["cloud"] == cloud for r in runs) for cloud in ("aws", "tencent")}
    print(
        f"\nMarts ({MARTS} schema) match the emulators: cloud_command_runs {len(runs)} runs "
        f"(aws {clouds['aws']}, tencent {clouds['tencent']}), counts per cloud, region and "
        "status, two runs column by column, column names and types, daily_run_counts and both "
        "failure hot spots.\n"
    )
    print(f"{MARTS}.cloud_command_runs, latest failures ({len(RUN_COLUMNS)} columns; some shown):")
    failures = [r for r in runs if r["status"] in {"failed", "timed_out"}]
    failures.sort(key=lambda r: r["requested_at"], reverse=True)
    print("  ".join(f"{c:<19}" for c in ("requested_at", *SAMPLE_COLUMNS)))
    for row in failures[:5]:
        values = (
            row["requested_at"].strftime("%Y-%m-%d %H:%M:%S"),
            *(row[c] for c in SAMPLE_COLUMNS),
        )
        print("  ".join(f"{v!s:<19}" for v in values))
    print(f"\n{MARTS}.failure_hotspots_by_command, top 5:")
    hotspots = fetch(
        con,
        "select cloud, account_id, command_name, failed_runs, finished_runs, "
        f"round(100 * failure_rate, 1) as failed_pct from {MARTS}.failure_hotspots_by_command "
        "order by failed_runs desc, command_name limit 5",
    )
    print("  ".join(f"{c:<24}" for c in hotspots[0]) if hotspots else "(none)")
    for row in hotspots:
        print("  ".join(f"{v!s:<24}" for v in row.values()))


def main() -> None:
    """Start the emulators, run the pipeline, print what was loaded, stop."""
    now = dt.datetime.now(dt.UTC)
    with (
        SSMEmulator() as ssm,
        TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}) as tat,
    ):
        populate_ssm(ssm, AWS_REGIONS, SSM_PER_REGION, now=now, audit_events=True)
        populate_tat(tat, TENCENT_REGIONS, TAT_PER_REGION, now=now, audit_events=True)
        # More accounts, each with its own data and a role the default account assumes.
        accounts = add_demo_accounts(
            ssm,
            tat,
            ACCOUNTS,
            fill_ssm=lambda account, index: populate_ssm(
                ssm,
                AWS_REGIONS,
                SSM_PER_REGION,
                now=now,
                seed=DEFAULT_SEED + index,
                account=account,
                audit_events=True,
            ),
            fill_tat=lambda account, index: populate_tat(
                tat,
                TENCENT_REGIONS,
                TAT_PER_REGION,
                now=now,
                seed=DEFAULT_SEED + index,
                account=account,
                audit_events=True,
            ),
        )
        roles = {
            cloud: [
                {"role_arn": a["role_arn"], "external_id": a["external_id"]}
                if a["role_arn"]
                else {}
                for a in accounts[cloud]["accounts"]
            ]
            for cloud in ("aws", "tencent")
        }
        print(
            f"SSM emulator {ssm.url} ({ACCOUNTS} accounts x {len(AWS_REGIONS)} regions x "
            f"{SSM_PER_REGION} commands)"
        )
        print(
            f"TAT emulator {tat.url} ({ACCOUNTS} accounts x {len(TENCENT_REGIONS)} regions x "
            f"{TAT_PER_REGION} commands)"
        )
        env = tap_env(
            {
                "MELTANO_ENVIRONMENT": "emulators",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_CLI_LOG_LEVEL": "warning",
                "TAP_CLOUDCOMMANDS_AWS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_STS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_ACCOUNTS": json.dumps(roles["aws"]),
                "TAP_CLOUDCOMMANDS_TENCENT_ENDPOINT_URL": tat.url,
                "TAP_CLOUDCOMMANDS_TENCENT_STS_ENDPOINT_URL": tat.url,
                "TAP_CLOUDCOMMANDS_TENCENT_ACCOUNTS": json.dumps(roles["tencent"]),
                # Plugin steps give AWS runs their start, finish and exit code.
                "TAP_CLOUDCOMMANDS_SSM_INVOCATION_DETAILS": "true",
                # The audit APIs are served on the same ports (tests/emulators/cloudtrail.py).
                "TAP_CLOUDCOMMANDS_AWS_CLOUDTRAIL_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_TENCENT_CLOUDAUDIT_ENDPOINT_URL": tat.url,
            }
        )
        DUCKDB_FILE.parent.mkdir(exist_ok=True)
        meltano("install", env=env)
        # A full refresh each time: the emulators' data is made anew on every run, so the
        # demo's DuckDB file always ends up holding exactly that data, upserted; dbt then
        # rebuilds the marts from it.
        meltano(
            "run",
            "--full-refresh",
            "tap-cloudcommands",
            "target-duckdb",
            "dbt-duckdb:build",
            env=env,
        )
        expected = {
            (table, a, r): len(served(r, account=a))
            for emulator, regions, tables in (
                (
                    ssm,
                    AWS_REGIONS,
                    {"ssm_commands": ssm.commands, "ssm_command_invocations": ssm.invocations},
                ),
                (
                    tat,
                    TENCENT_REGIONS,
                    {
                        "tat_commands": tat.commands,
                        "tat_invocations": tat.invocations,
                        "tat_invocation_tasks": tat.invocation_tasks,
                    },
                ),
            )
            for a in emulator.accounts()
            for r in regions
            for table, served in tables.items()
        }
        with duckdb.connect(str(DUCKDB_FILE), read_only=True) as con:
            print_counts(con, expected)
            check_marts(con, ssm, tat)
    print(f"\nReport: {write_report(DUCKDB_FILE, REPORT_FILE).relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
