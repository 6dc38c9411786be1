"""`meltano run tap-cloudcommands target-postgres` against the emulators and a real
PostgreSQL 15, twice, checking what the warehouse holds against the emulators' truth;
then with `dbt-postgres:build`, checking the dbt marts likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import psycopg
import pytest

from tap_cloudcommands.timestamps import parse_timestamp
from tests.emulators import (
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.emulators.demo_accounts import EXTERNAL_ID, ROLE_NAME, add_demo_accounts
from tests.meltano_project import Meltano, MeltanoUnavailableError, find_meltano, meltano_env
from tests.postgres import PostgresUnavailableError, running_postgres
from tests.warehouse_truth import (
    as_utc,
    check_rollups,
    check_run_types,
    check_runs,
    readme_queries,
)

AWS_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]  # as in meltano.yml
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]
STATE_ID = "emulators:tap-cloudcommands-to-target-postgres"
SCHEMA = "cloudcommands_e2e"
MARTS = "cloudcommands_e2e_analytics"


def unavailable(reason: str) -> None:
    """Fail in CI (a missing dependency must not pass silently); skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(f"{reason} (skipped outside CI only)")


@pytest.fixture(scope="module")
def postgres():
    try:
        with running_postgres() as settings:
            yield settings
    except PostgresUnavailableError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def emulators():
    with (
        SSMEmulator() as ssm,
        TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}) as tat,
    ):
        now = dt.datetime.now(dt.UTC)
        populate_ssm(ssm, AWS_REGIONS, 70, now=now, audit_events=True)
        populate_tat(tat, TENCENT_REGIONS, 130, now=now, audit_events=True)
        # Every audit event delivered now, so the truth does not move during a run (late
        # delivery has its own tests in test_audit.py).
        for region in AWS_REGIONS:
            for event in ssm.trail.events(region):
                ssm.trail.deliver(event.event_id, event.event_time)
        for event in tat.audit.events():
            tat.audit.deliver(event.event_id, event.event_time)
        yield ssm, tat


@pytest.fixture(scope="module")
def meltano(tmp_path_factory, postgres, emulators):
    try:
        executable = find_meltano()
    except MeltanoUnavailableError as exc:
        unavailable(str(exc))
    ssm, tat = emulators
    env = meltano_env(
        tmp_path_factory.mktemp("meltano") / "meltano.db",
        {
            "TAP_CLOUDCOMMANDS_AWS_ENDPOINT_URL": ssm.url,
            "TAP_CLOUDCOMMANDS_AWS_STS_ENDPOINT_URL": ssm.url,
            "TAP_CLOUDCOMMANDS_TENCENT_ENDPOINT_URL": tat.url,
            "TAP_CLOUDCOMMANDS_TENCENT_STS_ENDPOINT_URL": tat.url,
            # The audit APIs are served on the same ports (tests/emulators/cloudtrail.py).
            "TAP_CLOUDCOMMANDS_AWS_CLOUDTRAIL_ENDPOINT_URL": ssm.url,
            "TAP_CLOUDCOMMANDS_TENCENT_CLOUDAUDIT_ENDPOINT_URL": tat.url,
            "TARGET_POSTGRES_HOST": postgres["host"],
            "TARGET_POSTGRES_PORT": str(postgres["port"]),
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "DBT_POSTGRES_HOST": postgres["host"],
            "DBT_POSTGRES_PORT": str(postgres["port"]),
            "DBT_POSTGRES_SOURCE_SCHEMA": SCHEMA,
            "DBT_POSTGRES_TARGET_SCHEMA": MARTS,
            "TAP_CLOUDCOMMANDS_SSM_INVOCATION_DETAILS": "true",
        },
    )
    project = Meltano(executable, env)
    project.run("install")
    return project


def connect(postgres):
    return psycopg.connect(
        host=postgres["host"],
        port=postgres["port"],
        user=postgres["user"],
        dbname=postgres["database"],
        autocommit=True,
    )


def query(postgres, sql, *params):
    with connect(postgres) as connection:
        return connection.execute(sql, params).fetchall()


def counts_by_region(postgres, table):
    rows = query(postgres, f'select "Region", count(*) from {SCHEMA}.{table} group by 1')
    return dict(rows)


def column_types(postgres, table):
    rows = query(
        postgres,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        SCHEMA,
        table,
    )
    return dict(rows)


def assert_every_table_matches(postgres, ssm, tat):
    """Rows per table and region equal what the emulators hold."""
    truth = {
        "ssm_commands": {r: len(ssm.commands(r)) for r in AWS_REGIONS},
        "ssm_command_invocations": {r: len(ssm.invocations(r)) for r in AWS_REGIONS},
        "tat_commands": {r: len(tat.commands(r)) for r in TENCENT_REGIONS},
        "tat_invocations": {r: len(tat.invocations(r)) for r in TENCENT_REGIONS},
        "tat_invocation_tasks": {r: len(tat.invocation_tasks(r)) for r in TENCENT_REGIONS},
    }
    for table, expected in truth.items():
        assert counts_by_region(postgres, table) == {r: n for r, n in expected.items() if n}
        assert all(expected.values()), f"the sample data should fill every region of {table}"


def test_meltano_run_loads_and_upserts_into_postgres(meltano, postgres, emulators):
    ssm, tat = emulators

    meltano.run("run", "tap-cloudcommands", "target-postgres")

    ssm_columns = column_types(postgres, "ssm_commands")
    # target-postgres keeps the API's field names as (quoted) column names.
    assert ssm_columns["Region"] == "text"
    assert ssm_columns["CommandId"] == "text"
    assert ssm_columns["RequestedDateTime"].startswith("timestamp")
    assert ssm_columns["Parameters"] == "jsonb"
    assert ssm_columns["TargetCount"] == "bigint"
    assert ssm_columns["InstanceIds"] == "ARRAY"
    tat_columns = column_types(postgres, "tat_commands")
    assert tat_columns["UpdatedTime"].startswith("timestamp")
    assert tat_columns["EnableParameter"] == "boolean"
    assert tat_columns["Tags"] == "ARRAY"
    assert column_types(postgres, "tat_invocation_tasks")["TaskResult"] == "jsonb"
    assert_every_table_matches(postgres, ssm, tat)
    # Timestamps are the right instants, whatever zone the warehouse session uses.
    sample = ssm.commands("eu-west-1")[0]
    [(loaded,)] = query(
        postgres,
        f'select "RequestedDateTime" from {SCHEMA}.ssm_commands where "CommandId" = %s',
        sample["CommandId"],
    )
    loaded = loaded if loaded.tzinfo else loaded.replace(tzinfo=dt.UTC)
    assert loaded == sample["RequestedDateTime"]

    # Change the clouds: new commands, a running command that finished, an edited TAT command.
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    running = [c for c in ssm.commands("us-east-1") if c["Status"] in {"InProgress", "Pending"}]
    running = [c for c in running if c["RequestedDateTime"] > now - dt.timedelta(days=7)]
    assert running, "the sample data should hold a recent running command"
    finished = running[0]["CommandId"]
    ssm.update_command("us-east-1", finished, Status="Success", StatusDetails="Success")
    # A new command is stamped by the cloud's clock as it is sent.
    sent = dt.datetime.now(dt.UTC)
    sent = sent.replace(microsecond=sent.microsecond // 1000 * 1000)
    new_ssm = ssm.add_command("ap-southeast-1", RequestedDateTime=sent, Status="Success")
    # TAT stamps an edit or a new command with its clock as it happens.
    edited = tat.commands("ap-singapore")[5]["CommandId"]
    tat_now = dt.datetime.now(dt.UTC)
    tat.update_command("ap-singapore", edited, CommandName="edited-by-e2e", UpdatedTime=tat_now)
    new_tat = tat.add_command("ap-guangzhou", CreatedTime=tat_now, UpdatedTime=tat_now)

    meltano.run("run", "tap-cloudcommands", "target-postgres")

    assert_every_table_matches(postgres, ssm, tat)
    [(status,)] = query(
        postgres,
        f'select "Status" from {SCHEMA}.ssm_commands where "CommandId" = %s',
        finished,
    )
    assert status == "Success"
    assert query(
        postgres,
        f'select "Region" from {SCHEMA}.ssm_commands where "CommandId" = %s',
        new_ssm["CommandId"],
    ) == [("ap-southeast-1",)]
    [(name,)] = query(
        postgres,
        f'select "CommandName" from {SCHEMA}.tat_commands where "CommandId" = %s and "Region" = %s',
        edited,
        "ap-singapore",
    )
    assert name == "edited-by-e2e"
    assert query(
        postgres,
        f'select count(*) from {SCHEMA}.tat_commands where "CommandId" = %s',
        new_tat["CommandId"],
    ) == [(1,)]

    state = meltano.state(STATE_ID)
    bookmarks = state["singer_state"]["bookmarks"]
    for stream, regions in (("ssm_commands", AWS_REGIONS), ("tat_commands", TENCENT_REGIONS)):
        partitions = bookmarks[stream]["partitions"]
        assert sorted(p["context"]["Region"] for p in partitions) == sorted(regions)
        assert all(p["replication_key_value"] for p in partitions)
    [guangzhou] = [
        p
        for p in bookmarks["tat_commands"]["partitions"]
        if p["context"]["Region"] == "ap-guangzhou"
    ]
    # A scan shown complete: the second sync's start minus five minutes, so the command
    # added just before it (inside those five minutes) is read once more next time.
    bookmark = parse_timestamp(guangzhou["replication_key_value"])
    # (The cloud's Date is whole seconds: its clock may look up to 1 s behind.)
    assert tat_now - dt.timedelta(minutes=5, seconds=1) <= bookmark <= tat_now


def test_meltano_invoke_discover_and_select_list(meltano):
    catalog = json.loads(meltano.run("invoke", "tap-cloudcommands", "--discover").stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == {
        "ssm_commands",
        "ssm_command_invocations",
        "tat_commands",
        "tat_invocations",
        "tat_invocation_tasks",
        "aws_send_command_events",
        "tat_audit_events",
    }

    listing = meltano.run("select", "tap-cloudcommands", "--list").stdout
    # Keys and replication keys are always synced ("automatic"); the rest is selected.
    assert "[automatic  ] ssm_commands.CommandId" in listing
    assert "[automatic  ] tat_commands.UpdatedTime" in listing
    assert "[selected   ] ssm_commands.Status" in listing
    assert "[selected   ] tat_commands.Tags" in listing


def test_audit_events_name_who_ran_each_run(meltano, postgres, emulators):
    ssm, tat = emulators

    meltano.run("run", "tap-cloudcommands", "target-postgres")

    # Rows per region equal the emulators' events; every event is one row.
    truth = {r: len(ssm.trail.events(r)) for r in AWS_REGIONS}
    assert counts_by_region(postgres, "aws_send_command_events") == truth
    assert counts_by_region(postgres, "tat_audit_events") == {
        "ap-guangzhou": len(tat.audit.events())
    }
    # Who sent each SSM command, joined on CommandId, as the emulator attributed it.
    expected_ssm = {
        e.detail["responseElements"]["command"]["commandId"]: e.detail["userIdentity"]["arn"]
        for r in AWS_REGIONS
        for e in ssm.trail.events(r)
    }
    joined = query(
        postgres,
        f'select c."CommandId", e."RequestedBy" from {SCHEMA}.ssm_commands c '
        f'join {SCHEMA}.aws_send_command_events e on e."CommandId" = c."CommandId" '
        "and e.\"EventName\" = 'SendCommand'",
    )
    assert dict(joined) == expected_ssm
    commands = sum(len(ssm.commands(r)) for r in AWS_REGIONS)
    assert 0 < len(expected_ssm) < commands  # some runs have no audit event
    # Who ran each TAT invocation, joined on InvocationId.
    expected_tat = {
        json.loads(e.detail["responseElements"])["InvocationId"]: e.principal_id
        for e in tat.audit.events()
    }
    joined = query(
        postgres,
        f'select i."InvocationId", e."RequestedBy" from {SCHEMA}.tat_invocations i '
        f'join {SCHEMA}.tat_audit_events e on e."InvocationId" = i."InvocationId" '
        "and e.\"EventName\" in ('RunCommand', 'InvokeCommand')",
    )
    assert dict(joined) == expected_tat
    invocations = sum(len(tat.invocations(r)) for r in TENCENT_REGIONS)
    assert 0 < len(expected_tat) < invocations


def add_multi_step_runs(ssm, tat):
    """Runs whose exit code and finish time need the view's rules, on both clouds."""
    # After every bookmark the earlier syncs wrote (at most their start minus 5 minutes).
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    step = dt.timedelta(minutes=1)
    command = ssm.add_command(
        "eu-west-1",
        RequestedDateTime=start,
        Status="Failed",
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo one", "exit 2"]},
    )

    def plugin(name, status, code, index, *, finished=True):
        fields = {
            "Name": name,
            "Status": status,
            "ResponseCode": code,
            "ResponseStartDateTime": start + index * step,
        }
        if finished:
            fields["ResponseFinishDateTime"] = start + (index + 1) * step
        return fields

    failed = ssm.add_invocation(
        "eu-west-1",
        CommandId=command["CommandId"],
        InstanceId="i-0e2e000000000f001",
        Status="Failed",
        CommandPlugins=[
            plugin("one", "Success", 0, 0),
            plugin("two", "Failed", 2, 1),
            plugin("three", "Failed", 3, 2),
        ],
    )
    running = ssm.add_invocation(
        "eu-west-1",
        CommandId=command["CommandId"],
        InstanceId="i-0e2e000000000f002",
        Status="InProgress",
        CommandPlugins=[
            plugin("one", "Success", 0, 0),
            plugin("two", "InProgress", -1, 1, finished=False),
        ],
    )
    failing_task = tat.add_invocation(
        "ap-guangzhou",
        CreatedTime=start,
        UpdatedTime=start,
        tasks=[{"InstanceId": "ins-e2e00001", "TaskStatus": "FAILED", "output": b"boom"}],
    )
    return failed, running, failing_task["InvocationTaskBasicInfoSet"][0]["InvocationTaskId"]


def mart(postgres, table, order="1"):
    with connect(postgres) as connection:
        cursor = connection.execute(f"select * from {MARTS}.{table} order by {order}")
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_dbt_marts_match_the_emulators(meltano, postgres, emulators):
    ssm, tat = emulators
    failed, running, failing_task = add_multi_step_runs(ssm, tat)
    meltano.run("run", "tap-cloudcommands", "target-postgres", "dbt-postgres:build")

    runs = mart(postgres, "cloud_command_runs", "run_key")
    assert check_runs(runs, ssm, tat, AWS_REGIONS, TENCENT_REGIONS, ssm_details=True) == []
    assert {r["status"] for r in runs} >= {"success", "failed", "running"}
    assert (
        check_rollups(
            runs,
            mart(postgres, "daily_run_counts"),
            mart(postgres, "failure_hotspots_by_command"),
            mart(postgres, "failure_hotspots_by_instance"),
        )
        == []
    )
    # The same names and types as on DuckDB (the demo's warehouse).
    types = dict(
        query(
            postgres,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = 'cloud_command_runs' "
            "order by ordinal_position",
            MARTS,
        )
    )
    assert check_run_types(types) == []
    # The README's questions run as written (but for the schema) on PostgreSQL too.
    for sql in readme_queries():
        query(postgres, sql.replace("analytics.", f"{MARTS}."))

    # Exit code of the first plugin that failed; a running invocation has no exit code
    # and no finish time yet (its unfinished plugin reports -1).
    by_run = {(r["cloud"], r["run_id"]): r for r in runs}
    row = by_run["aws", f"{failed['CommandId']}:{failed['InstanceId']}"]
    assert (row["status"], row["exit_code"]) == ("failed", 2)
    assert as_utc(row["finished_at"]) - as_utc(row["started_at"]) == dt.timedelta(minutes=3)
    assert row["duration_seconds"] == 180
    row = by_run["aws", f"{running['CommandId']}:{running['InstanceId']}"]
    assert (row["status"], row["finished_at"], row["exit_code"]) == ("running", None, None)
    assert row["started_at"] is not None
    [task] = [
        t for t in tat.invocation_tasks("ap-guangzhou") if t["InvocationTaskId"] == failing_task
    ]
    row = by_run["tencent", failing_task]
    assert row["status"] == "failed"
    assert row["exit_code"] == task["TaskResult"]["ExitCode"] != 0


def test_stream_maps_example_hashes_and_drops_secret_fields(meltano, emulators):
    ssm, tat = emulators
    output = meltano.run("invoke", "tap-cloudcommands--hashed-secrets").stdout
    records: dict[str, list[dict]] = {}
    for line in output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])

    def sha256(text):
        return hashlib.sha256(text.encode()).hexdigest()

    commands = {c["CommandId"]: c for r in AWS_REGIONS for c in ssm.commands(r)}
    assert records["ssm_commands"]
    for record in records["ssm_commands"]:
        assert "Parameters" not in record
        parameters = commands[record["CommandId"]].get("Parameters")
        expected = sha256(json.dumps(parameters, sort_keys=True)) if parameters else None
        assert record["ParametersSha256"] == expected
    invocations = {i["InvocationId"]: i for r in TENCENT_REGIONS for i in tat.invocations(r)}
    assert records["tat_invocations"]
    for record in records["tat_invocations"]:
        truth = invocations[record["InvocationId"]]
        assert record["CommandContent"] == sha256(truth["CommandContent"])
        assert record["Parameters"] == (
            sha256(truth["Parameters"]) if truth["Parameters"] else None
        )
    tat_commands = {c["CommandId"]: c for r in TENCENT_REGIONS for c in tat.commands(r)}
    assert records["tat_commands"]
    for record in records["tat_commands"]:
        truth = tat_commands[record["CommandId"]]
        assert record["Content"] == sha256(truth["Content"])
        defaults = truth.get("DefaultParameters")
        assert record["DefaultParameters"] == (sha256(defaults) if defaults else None)
        assert "DefaultParameterConfs" not in record
    assert records["tat_invocation_tasks"]
    assert not any("CommandDocument" in record for record in records["tat_invocation_tasks"])
    assert all(r["TaskResult"]["Output"] is None for r in records["tat_invocation_tasks"])
    assert all(r["CommandPlugins"] == [] for r in records["ssm_command_invocations"])
    # None of the original values of those fields appears in any emitted value.
    emitted = "\n".join(
        text for stream in records.values() for record in stream for text in strings(record)
    )
    secrets = {
        value
        for c in commands.values()
        for values in (c.get("Parameters") or {}).values()
        for value in values
    }
    secrets |= {c["Content"] for c in tat_commands.values()}
    secrets |= {c["DefaultParameters"] for c in tat_commands.values() if c.get("DefaultParameters")}
    for invocation in invocations.values():
        secrets |= {invocation["CommandContent"]}
        secrets |= {invocation[k] for k in ("Parameters", "DefaultParameters") if invocation[k]}
    secrets = {s for s in secrets if len(s) >= 8}
    assert len(secrets) > 20
    leaked = [s for s in secrets if s in emitted]
    assert leaked == []


def strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_an_organization_and_an_account_list_load_into_one_schema(meltano, postgres):
    """Every account of both clouds, regions by wildcard, into one schema: no key collides.

    Each account holds the same sample data (same seed, so the same command ids): only
    AccountId keeps their rows apart.
    """
    schema = "cloudcommands_accounts"
    now = dt.datetime.now(dt.UTC)
    with (
        SSMEmulator() as ssm,
        TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}) as tat,
    ):
        populate_ssm(ssm, AWS_REGIONS, 20, now=now)
        populate_tat(tat, TENCENT_REGIONS, 20, now=now)
        accounts = add_demo_accounts(
            ssm,
            tat,
            3,
            fill_ssm=lambda account, _: populate_ssm(
                ssm, AWS_REGIONS, 20, now=now, account=account
            ),
            fill_tat=lambda account, _: populate_tat(
                tat, TENCENT_REGIONS, 20, now=now, account=account
            ),
        )
        tencent = [
            {"role_arn": a["role_arn"], "external_id": a["external_id"]} if a["role_arn"] else {}
            for a in accounts["tencent"]["accounts"]
        ]
        run = Meltano(
            meltano.executable,
            meltano.env
            | {
                "TAP_CLOUDCOMMANDS_AWS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_STS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_ORGANIZATIONS_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_ACCOUNT_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_CLOUDTRAIL_ENDPOINT_URL": ssm.url,
                "TAP_CLOUDCOMMANDS_AWS_REGIONS": json.dumps(["*"]),
                "TAP_CLOUDCOMMANDS_AWS_ORGANIZATION": json.dumps(
                    {"member_role_name": ROLE_NAME, "external_id": EXTERNAL_ID}
                ),
                "TAP_CLOUDCOMMANDS_TENCENT_ENDPOINT_URL": tat.url,
                "TAP_CLOUDCOMMANDS_TENCENT_STS_ENDPOINT_URL": tat.url,
                "TAP_CLOUDCOMMANDS_TENCENT_CLOUDAUDIT_ENDPOINT_URL": tat.url,
                "TAP_CLOUDCOMMANDS_TENCENT_REGIONS": json.dumps(["ap-*"]),
                "TAP_CLOUDCOMMANDS_TENCENT_ACCOUNTS": json.dumps(tencent),
                "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
            },
        )
        run.run("run", "--state-id-suffix", "accounts", "tap-cloudcommands", "target-postgres")

        for table, emulator, regions, served, key in (
            ("ssm_commands", ssm, AWS_REGIONS, ssm.commands, "CommandId"),
            ("ssm_command_invocations", ssm, AWS_REGIONS, ssm.invocations, "InstanceId"),
            ("tat_commands", tat, TENCENT_REGIONS, tat.commands, "CommandId"),
            ("tat_invocations", tat, TENCENT_REGIONS, tat.invocations, "InvocationId"),
            (
                "tat_invocation_tasks",
                tat,
                TENCENT_REGIONS,
                tat.invocation_tasks,
                "InvocationTaskId",
            ),
        ):
            truth = {
                (account, region): len(served(region, account=account))
                for account in emulator.accounts()
                for region in regions
            }
            assert len(emulator.accounts()) == 3
            loaded = query(
                postgres,
                f'select "AccountId", "Region", count(*) from {schema}.{table} group by 1, 2',
            )
            assert {(a, r): n for a, r, n in loaded} == {k: n for k, n in truth.items() if n}
            # The same ids in every account, each account's row kept.
            [(shared,)] = query(
                postgres,
                f'select count(*) from (select "{key}" from {schema}.{table} '
                'group by 1 having count(distinct "AccountId") = 3) as shared',
            )
            assert shared > 0, table
