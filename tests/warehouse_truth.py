"""What the dbt marts must hold, worked out from the emulators' own data.

`make demo` (DuckDB) and the PostgreSQL e2e test load the same kind of emulator data and
build the same marts; both hand the mart rows to these checks, which restate the rules
(status vocabulary, run keys, SSM exit codes, TAT command text) independently of the SQL.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import typing as t
from collections import Counter
from pathlib import Path

if t.TYPE_CHECKING:
    from tests.emulators import SSMEmulator, TATEmulator

Row = dict[str, t.Any]

# The marts' one status vocabulary, restated here as the expectation.
SSM_STATUS = {
    "Pending": "pending",
    "Delayed": "pending",
    "InProgress": "running",
    "Success": "success",
    "Failed": "failed",
    "TimedOut": "timed_out",
    "Cancelling": "cancelling",
    "Cancelled": "cancelled",
}
TAT_STATUS = {
    "PENDING": "pending",
    "DELIVERING": "pending",
    "DELIVER_DELAYED": "pending",
    "RUNNING": "running",
    "SUCCESS": "success",
    "FAILED": "failed",
    "DELIVER_FAILED": "failed",
    "START_FAILED": "failed",
    "TIMEOUT": "timed_out",
    "TASK_TIMEOUT": "timed_out",
    "CANCELLING": "cancelling",
    "CANCELLED": "cancelled",
    "TERMINATED": "cancelled",
}
# Every column users had from analytics/cloud_command_runs.sql, then what dbt added.
RUN_COLUMNS = (
    "run_key",
    "cloud",
    "account_id",
    "region",
    "command_id",
    "invocation_id",
    "run_id",
    "instance_id",
    "command_name",
    "command_text",
    "status",
    "raw_status",
    "requested_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "exit_code",
    "requested_by",
    "source_ip",
    "user_agent",
)
FAILED = {"failed", "timed_out"}
TIMESTAMP_COLUMNS = {"requested_at", "started_at", "finished_at"}
# Each warehouse's names for the kinds of column the marts hold.
TYPE_KINDS = {
    "text": "text",
    "character varying": "text",
    "varchar": "text",
    "timestamp without time zone": "timestamp",
    "timestamp": "timestamp",
    "bigint": "bigint",
    "double precision": "double",
    "double": "double",
}


def readme_queries() -> list[str]:
    """The SQL statements of the README's "Query the warehouse" section (marts in `analytics`)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Query the warehouse") :]
    block = section[section.index("```sql") + len("```sql") :]
    block = block[: block.index("```")]
    return [q.strip() for q in block.split(";") if q.strip()]


def as_utc(value: t.Any) -> dt.datetime | None:
    """A timestamp as an aware UTC datetime (naive ones are UTC, as the marts store them)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def expected_status_counts(
    ssm: SSMEmulator, tat: TATEmulator, aws_regions: list[str], tencent_regions: list[str]
) -> Counter[tuple[str, str, str, str]]:
    """Runs per (cloud, account, region, unified status) the emulators hold, every account."""
    expected: Counter[tuple[str, str, str, str]] = Counter()
    for account in ssm.accounts():
        for region in aws_regions:
            for invocation in ssm.invocations(region, account=account):
                expected["aws", account, region, SSM_STATUS[invocation["Status"]]] += 1
    for account in tat.accounts():
        for region in tencent_regions:
            for task in tat.invocation_tasks(region, account=account):
                expected["tencent", account, region, TAT_STATUS[task["TaskStatus"]]] += 1
    return expected


def check_run_types(types: dict[str, str]) -> list[str]:
    """cloud_command_runs' columns, in order, with the same kinds on either warehouse.

    Args:
        types: Column name -> the warehouse's data type, in column order.

    Returns:
        One line per difference.
    """
    problems: list[str] = []
    compare(problems, "columns", list(types), list(RUN_COLUMNS))
    want = {
        c: "timestamp"
        if c in TIMESTAMP_COLUMNS
        else "bigint"
        if c == "exit_code"
        else "double"
        if c == "duration_seconds"
        else "text"
        for c in RUN_COLUMNS
    }
    got = {c: TYPE_KINDS.get(kind.lower(), kind) for c, kind in types.items()}
    compare(problems, "column types", got, want)
    return problems


def compare(problems: list[str], what: str, got: t.Any, want: t.Any) -> None:
    """Note a difference between a mart value and the truth."""
    if got != want:
        problems.append(f"{what}: mart has {got!r}, the emulators say {want!r}")


def check_runs(
    rows: list[Row],
    ssm: SSMEmulator,
    tat: TATEmulator,
    aws_regions: list[str],
    tencent_regions: list[str],
    *,
    ssm_details: bool,
) -> list[str]:
    """Compare cloud_command_runs with the emulators.

    Counts per cloud, region and status, then one finished AWS run and one TAT run
    column by column.

    Args:
        rows: Every row of cloud_command_runs, as column -> value.
        ssm: The SSM emulator the tap read.
        tat: The TAT emulator the tap read.
        aws_regions: The AWS regions read.
        tencent_regions: The Tencent regions read.
        ssm_details: Whether the tap read CommandPlugins (ssm_invocation_details).

    Returns:
        One line per difference; empty when the mart holds the truth.
    """
    problems: list[str] = []
    if rows and set(rows[0]) != set(RUN_COLUMNS):
        problems.append(f"columns {sorted(rows[0])} are not {sorted(RUN_COLUMNS)}")
        return problems
    got = Counter((r["cloud"], r["account_id"], r["region"], r["status"]) for r in rows)
    compare(
        problems,
        "runs per cloud, account, region and status",
        dict(got),
        dict(expected_status_counts(ssm, tat, aws_regions, tencent_regions)),
    )
    by_key = {r["run_key"]: r for r in rows}
    compare(problems, "distinct run keys", len(by_key), len(rows))
    problems += check_aws_run(by_key, ssm, aws_regions, ssm_details=ssm_details)
    problems += check_tat_run(by_key, tat, tencent_regions)
    return problems


def check_aws_run(
    by_key: dict[str, Row], ssm: SSMEmulator, regions: list[str], *, ssm_details: bool
) -> list[str]:
    """One failed shell-script SSM run, column by column."""
    problems: list[str] = []
    region = regions[-1]
    account = ssm.accounts()[-1]
    commands = {c["CommandId"]: c for c in ssm.commands(region, account=account)}
    invocation = next(
        i
        for i in ssm.invocations(region, account=account)
        if i["Status"] == "Failed"
        and i["CommandPlugins"]
        and "commands" in (commands[i["CommandId"]].get("Parameters") or {})
    )
    command_id, instance_id = invocation["CommandId"], invocation["InstanceId"]
    key = f"aws:{account}:{region}:{command_id}:{instance_id}"
    row = by_key.get(key)
    if row is None:
        return [f"no row {key}"]
    plugins = invocation["CommandPlugins"] if ssm_details else []
    failing = [p for p in plugins if p.get("ResponseCode")]
    started = min((as_utc(p["ResponseStartDateTime"]) for p in plugins), default=None)
    finished = max((as_utc(p["ResponseFinishDateTime"]) for p in plugins), default=None)
    want = {
        "cloud": "aws",
        "account_id": account,
        "region": region,
        "command_id": command_id,
        "invocation_id": command_id,
        "run_id": f"{command_id}:{instance_id}",
        "instance_id": instance_id,
        "command_name": invocation["DocumentName"],
        "command_text": "\n".join(commands[command_id]["Parameters"]["commands"]),
        "status": "failed",
        "raw_status": "Failed",
        "requested_at": as_utc(invocation["RequestedDateTime"]),
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": (finished - started).total_seconds() if plugins else None,
        "exit_code": (failing[0] if failing else plugins[-1])["ResponseCode"] if plugins else None,
        **aws_audit_columns(ssm, account, region, command_id),
    }
    for column, value in want.items():
        got = row[column]
        if column.endswith("_at"):
            got = as_utc(got)
        elif column == "duration_seconds" and got is not None:
            got = float(got)
        compare(problems, f"{key} {column}", got, value)
    return problems


def aws_audit_columns(
    ssm: SSMEmulator, account: str, region: str, command_id: str
) -> dict[str, t.Any]:
    """Who sent a command, from the account's CloudTrail: the earliest SendCommand for it.

    The principal is the identity's ARN, else its session issuer's, else the user name;
    nulls when the trail holds no event for the command.
    """
    events = sorted(
        (
            e
            for e in ssm.trail_for(account).events(region)
            if e.event_name == "SendCommand"
            and ((e.detail.get("responseElements") or {}).get("command") or {}).get("commandId")
            == command_id
        ),
        key=lambda e: e.event_time,
    )
    if not events:
        return {"requested_by": None, "source_ip": None, "user_agent": None}
    detail = events[0].detail
    identity = detail.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    return {
        "requested_by": identity.get("arn") or issuer or events[0].username,
        "source_ip": detail.get("sourceIPAddress"),
        "user_agent": detail.get("userAgent"),
    }


def tencent_audit_columns(tat: TATEmulator, account: str, invocation_id: str) -> dict[str, t.Any]:
    """Who ran an invocation, from the account's CloudAudit (RunCommand or InvokeCommand)."""
    events = sorted(
        (
            e
            for e in tat.audit_for(account).events()
            if e.event_name in {"RunCommand", "InvokeCommand"}
            and invocation_id in json.dumps(e.detail.get("responseElements"))
        ),
        key=lambda e: e.event_time,
    )
    if not events:
        return {"requested_by": None, "source_ip": None, "user_agent": None}
    return {
        "requested_by": events[0].principal_id or events[0].username,
        "source_ip": events[0].source_ip,
        "user_agent": events[0].detail.get("userAgent"),
    }


def check_tat_run(by_key: dict[str, Row], tat: TATEmulator, regions: list[str]) -> list[str]:
    """One successful TAT run, column by column (decoded command text, exit code)."""
    problems: list[str] = []
    region = regions[-1]
    account = tat.accounts()[-1]
    task = next(
        t for t in tat.invocation_tasks(region, account=account) if t["TaskStatus"] == "SUCCESS"
    )
    key = f"tencent:{account}:{region}:{task['InvocationId']}:{task['InstanceId']}"
    row = by_key.get(key)
    if row is None:
        return [f"no row {key}"]
    result = task["TaskResult"]
    started, finished = as_utc(result["ExecStartTime"]), as_utc(result["ExecEndTime"])
    want = {
        "cloud": "tencent",
        "account_id": account,
        "region": region,
        "command_id": task["CommandId"],
        "invocation_id": task["InvocationId"],
        "run_id": task["InvocationTaskId"],
        "instance_id": task["InstanceId"],
        "command_name": task["CommandName"],
        "command_text": base64.b64decode(task["CommandDocument"]["Content"]).decode(),
        "status": "success",
        "raw_status": "SUCCESS",
        "requested_at": as_utc(task["CreatedTime"]),
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": (finished - started).total_seconds() if started and finished else None,
        "exit_code": 0,
        **tencent_audit_columns(tat, account, task["InvocationId"]),
    }
    for column, value in want.items():
        got = row[column]
        if column.endswith("_at"):
            got = as_utc(got)
        elif column == "duration_seconds" and got is not None:
            got = float(got)
        compare(problems, f"{key} {column}", got, value)
    return problems


def check_rollups(
    runs: list[Row], daily: list[Row], by_command: list[Row], by_instance: list[Row]
) -> list[str]:
    """The three roll-up marts against cloud_command_runs itself.

    Returns:
        One line per difference.
    """
    problems: list[str] = []
    want_daily: Counter[tuple[t.Any, ...]] = Counter(
        (
            r["requested_at"].date(),
            r["cloud"],
            r["account_id"],
            r["region"],
            r["status"],
        )
        for r in runs
    )
    got_daily = {
        (d["day"], d["cloud"], d["account_id"], d["region"], d["status"]): d["runs"] for d in daily
    }
    compare(problems, "daily_run_counts", got_daily, dict(want_daily))
    for rollup, keys in (
        (by_command, ("cloud", "account_id", "command_name")),
        (by_instance, ("cloud", "account_id", "region", "instance_id")),
    ):
        want_runs: Counter[tuple[t.Any, ...]] = Counter()
        want_failed: Counter[tuple[t.Any, ...]] = Counter()
        for r in runs:
            key = tuple(r[k] for k in keys)
            want_runs[key] += 1
            want_failed[key] += r["status"] in FAILED
        got_runs = {tuple(h[k] for k in keys): h["runs"] for h in rollup}
        got_failed = {tuple(h[k] for k in keys): h["failed_runs"] for h in rollup}
        compare(problems, f"runs by {keys}", got_runs, dict(want_runs))
        compare(problems, f"failed runs by {keys}", got_failed, dict(want_failed))
    return problems
