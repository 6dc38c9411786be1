"""`meltano run tap-cloudcommands target-postgres` against the emulators and a real
PostgreSQL 15, twice, checking what the warehouse holds against the emulators' truth.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import psycopg
import pytest

from tap_cloudcommands.timestamps import format_timestamp
from tests.emulators import (
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.meltano_project import Meltano, MeltanoUnavailableError, find_meltano, meltano_env
from tests.postgres import PostgresUnavailableError, running_postgres

AWS_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]  # as in meltano.yml
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]
STATE_ID = "emulators:tap-cloudcommands-to-target-postgres"
SCHEMA = "cloudcommands_e2e"


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
        populate_ssm(ssm, AWS_REGIONS, 70, now=now)
        populate_tat(tat, TENCENT_REGIONS, 130, now=now)
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
            "TAP_CLOUDCOMMANDS_TENCENT_ENDPOINT_URL": tat.url,
            "TARGET_POSTGRES_HOST": postgres["host"],
            "TARGET_POSTGRES_PORT": str(postgres["port"]),
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
        },
    )
    project = Meltano(executable, env)
    project.run("install")
    return project


def query(postgres, sql, *params):
    with psycopg.connect(
        host=postgres["host"],
        port=postgres["port"],
        user=postgres["user"],
        dbname=postgres["database"],
        autocommit=True,
    ) as connection:
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
    assert counts_by_region(postgres, "ssm_commands") == {
        r: len(ssm.commands(r)) for r in AWS_REGIONS
    }
    assert counts_by_region(postgres, "tat_commands") == {
        r: len(tat.commands(r)) for r in TENCENT_REGIONS
    }
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
    new_ssm = ssm.add_command("ap-southeast-1", RequestedDateTime=now, Status="Success")
    edited = tat.commands("ap-singapore")[5]["CommandId"]
    tat.update_command("ap-singapore", edited, CommandName="edited-by-e2e", UpdatedTime=now)
    new_tat = tat.add_command("ap-guangzhou", CreatedTime=now, UpdatedTime=now)

    meltano.run("run", "tap-cloudcommands", "target-postgres")

    assert counts_by_region(postgres, "ssm_commands") == {
        r: len(ssm.commands(r)) for r in AWS_REGIONS
    }
    assert counts_by_region(postgres, "tat_commands") == {
        r: len(tat.commands(r)) for r in TENCENT_REGIONS
    }
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
    newest_tat = max(c["UpdatedTime"] for c in tat.commands("ap-guangzhou"))
    [guangzhou] = [
        p
        for p in bookmarks["tat_commands"]["partitions"]
        if p["context"]["Region"] == "ap-guangzhou"
    ]
    assert guangzhou["replication_key_value"] == format_timestamp(newest_tat)


def test_meltano_invoke_discover_and_select_list(meltano):
    catalog = json.loads(meltano.run("invoke", "tap-cloudcommands", "--discover").stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == {"ssm_commands", "tat_commands"}

    listing = meltano.run("select", "tap-cloudcommands", "--list").stdout
    # Keys and replication keys are always synced ("automatic"); the rest is selected.
    assert "[automatic  ] ssm_commands.CommandId" in listing
    assert "[automatic  ] tat_commands.UpdatedTime" in listing
    assert "[selected   ] ssm_commands.Status" in listing
    assert "[selected   ] tat_commands.Tags" in listing
