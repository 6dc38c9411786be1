"""The dbt models on a small hand-made DuckDB warehouse: `meltano invoke dbt-duckdb:build`.

What the emulator runs do not show: streams that were never loaded (empty staging, marts
still built), AccountId used when the loader has it, the audit streams of CloudTrail and
CloudAudit joined to their runs (the earliest request wins, accounts must agree), and a
status the seed does not know.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.meltano_project import Meltano, MeltanoUnavailableError, find_meltano, meltano_env
from tests.test_meltano_e2e import unavailable
from tests.warehouse_truth import readme_queries

T0 = dt.datetime(2026, 12, 1, 9, 0)  # noqa: DTZ001 - naive UTC, as target-duckdb stores it


def raw_warehouse(path):
    """Tables as target-duckdb writes them (lowercase names); ssm_commands, tat_invocations
    and tat_commands were never loaded, and only the SSM tables carry an account."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema cloudcommands")
        con.execute(
            "create table cloudcommands.ssm_command_invocations (accountid varchar, "
            "region varchar, commandid varchar, instanceid varchar, documentname varchar, "
            "status varchar, requesteddatetime timestamp, commandplugins json)"
        )
        con.executemany(
            "insert into cloudcommands.ssm_command_invocations values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("111", "us-east-1", "c1", "i-1", "AWS-RunShellScript", "Success", T0, "[]"),
                ("111", "us-east-1", "c2", "i-2", "AWS-RunShellScript", "Failed", T0, None),
                ("222", "us-east-1", "c3", "i-3", "AWS-RunShellScript", "Success", T0, "[]"),
            ],
        )
        con.execute(
            "create table cloudcommands.aws_send_command_events (eventid varchar, "
            "accountid varchar, region varchar, eventtime timestamp, eventname varchar, "
            "commandid varchar, requestedby varchar, sourceipaddress varchar, "
            "useragent varchar, errorcode varchar, readonly boolean)"
        )
        hour = dt.timedelta(hours=1)
        con.executemany(
            "insert into cloudcommands.aws_send_command_events "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)",
            [
                (
                    "e1",
                    "111",
                    "us-east-1",
                    T0,
                    "SendCommand",
                    "c1",
                    "alice",
                    "10.0.0.1",
                    "cli",
                    None,
                ),
                (
                    "e0",
                    "111",
                    "us-east-1",
                    T0 - hour,
                    "SendCommand",
                    "c1",
                    "bob",
                    "10.0.0.2",
                    "sdk",
                    None,
                ),
                (
                    "e2",
                    "111",
                    "us-east-1",
                    T0,
                    "ListCommands",
                    "c2",
                    "eve",
                    "10.0.0.3",
                    "cli",
                    None,
                ),
                (
                    "e3",
                    "111",
                    "us-east-1",
                    T0,
                    "SendCommand",
                    "c3",
                    "mallory",
                    "10.0.0.4",
                    "cli",
                    None,
                ),
            ],
        )
        con.execute(
            "create table cloudcommands.tat_invocation_tasks (region varchar, "
            "invocationtaskid varchar, invocationid varchar, commandid varchar, "
            "commandname varchar, instanceid varchar, taskstatus varchar, "
            "createdtime timestamp, taskresult json, commanddocument json)"
        )
        con.execute(
            "insert into cloudcommands.tat_invocation_tasks values ('ap-guangzhou', 'invt-1', "
            "'inv-1', 'cmd-1', 'uptime', 'ins-1', 'NEW_STATUS', ?, "
            """'{"ExitCode": 0}', '{"Content": "dXB0aW1l"}')""",
            [T0],
        )
        con.execute(
            "create table cloudcommands.tat_audit_events (eventid varchar, region varchar, "
            "eventtime timestamp, eventname varchar, invocationid varchar, "
            "requestedby varchar, sourceipaddress varchar, useragent varchar, errorcode varchar)"
        )
        con.execute(
            "insert into cloudcommands.tat_audit_events values ('a1', 'ap-guangzhou', ?, "
            "'InvokeCommand', 'inv-1', 'carol', '10.1.0.1', 'console', null)",
            [T0],
        )


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    try:
        executable = find_meltano()
    except MeltanoUnavailableError as exc:
        unavailable(str(exc))
    folder = tmp_path_factory.mktemp("dbt")
    warehouse = folder / "warehouse.duckdb"
    raw_warehouse(warehouse)
    project = Meltano(
        executable,
        meltano_env(folder / "meltano.db", {"DBT_DUCKDB_PATH": str(warehouse)}),
    )
    project.run("install", "utility", "dbt-duckdb")
    project.run("invoke", "dbt-duckdb:build")
    return duckdb.connect(str(warehouse), read_only=True)


def rows(con, sql):
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_streams_not_loaded_give_empty_staging_with_their_columns(marts):
    assert rows(marts, "select count(*) as n from analytics.stg_ssm_commands") == [{"n": 0}]
    columns = [c for c, *_ in marts.execute("describe analytics.stg_tat_invocations").fetchall()]
    assert columns[:4] == ["account_id", "region", "invocation_id", "command_id"]


def test_runs_take_account_audit_request_and_unknown_status(marts):
    runs = {
        r["run_id"]: r
        for r in rows(
            marts,
            "select run_key, run_id, account_id, status, raw_status, command_text, "
            "requested_by, source_ip, user_agent from analytics.cloud_command_runs",
        )
    }
    assert set(runs) == {"c1:i-1", "c2:i-2", "c3:i-3", "invt-1"}
    # The earliest SendCommand of the command, not the later one.
    assert runs["c1:i-1"] == {
        "run_key": "aws:111:us-east-1:c1:i-1",
        "run_id": "c1:i-1",
        "account_id": "111",
        "status": "success",
        "raw_status": "Success",
        "command_text": None,  # ssm_commands was not loaded
        "requested_by": "bob",
        "source_ip": "10.0.0.2",
        "user_agent": "sdk",
    }
    # Only SendCommand events count, and only from the run's own account.
    assert runs["c2:i-2"]["requested_by"] is None
    assert runs["c3:i-3"]["requested_by"] is None
    assert runs["c3:i-3"]["run_key"] == "aws:222:us-east-1:c3:i-3"
    tencent = runs["invt-1"]
    assert tencent["run_key"] == "tencent::ap-guangzhou:inv-1:ins-1"
    assert (tencent["account_id"], tencent["status"], tencent["raw_status"]) == (
        None,
        "unknown",
        "NEW_STATUS",
    )
    assert (tencent["command_text"], tencent["requested_by"], tencent["source_ip"]) == (
        "uptime",
        "carol",
        "10.1.0.1",
    )
    daily = rows(
        marts,
        "select cloud, account_id, status, runs from analytics.daily_run_counts order by 1, 2, 3",
    )
    assert daily == [
        {"cloud": "aws", "account_id": "111", "status": "failed", "runs": 1},
        {"cloud": "aws", "account_id": "111", "status": "success", "runs": 1},
        {"cloud": "aws", "account_id": "222", "status": "success", "runs": 1},
        {"cloud": "tencent", "account_id": None, "status": "unknown", "runs": 1},
    ]


def test_readme_questions_run_on_duckdb(marts):
    queries = readme_queries()
    assert len(queries) == 4
    instance_runs = marts.execute(queries[0].replace("i-0123456789abcdef0", "i-2")).fetchall()
    # Requested on 2026-12-01: not "this week" on any later day, so only the shape is checked.
    assert all(len(row) == 7 for row in instance_runs)
    [hotspot] = marts.execute(queries[1]).fetchall()
    assert hotspot[:4] == ("aws", "AWS-RunShellScript", 1, 2)  # account 111 only
    for sql in queries[2:]:
        marts.execute(sql).fetchall()
