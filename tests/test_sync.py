"""End-to-end syncs of the real CLI against the emulators, through the real SDK clients."""

from __future__ import annotations

import datetime as dt
import math
import time

import pytest

from tap_cloudcommands.timestamps import format_timestamp, parse_timestamp
from tests.conftest import AWS_REGIONS, TENCENT_REGIONS, emulator_config
from tests.emulators import EMULATOR_AWS_ACCOUNT_ID, EMULATOR_TENCENT_ACCOUNT_ID, Fault
from tests.tap_runner import run_tap

UTC = dt.UTC


def now() -> dt.datetime:
    """The current time at the millisecond precision SSM keeps."""
    current = dt.datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def add_ssm(ssm, region, count, *, start, step=dt.timedelta(minutes=7), **fields):
    return [
        ssm.add_command(region, RequestedDateTime=start + i * step, **fields)["CommandId"]
        for i in range(count)
    ]


def add_tat(tat, region, count, *, start, step=dt.timedelta(minutes=11), **fields):
    return [
        tat.add_command(
            region, CreatedTime=start + i * step, UpdatedTime=start + i * step, **fields
        )["CommandId"]
        for i in range(count)
    ]


def test_two_region_sync_delivers_every_command_once(tmp_path, ssm, tat, config):
    base = now() - dt.timedelta(days=20)
    expected_ssm = {
        "us-east-1": add_ssm(ssm, "us-east-1", 120, start=base),
        "eu-west-1": add_ssm(ssm, "eu-west-1", 37, start=base),
    }
    expected_tat = {
        "ap-guangzhou": add_tat(tat, "ap-guangzhou", 250, start=base),
        "ap-singapore": add_tat(tat, "ap-singapore", 3, start=base),
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    for region, ids in expected_ssm.items():
        assert sorted(run.ids("ssm_commands", region)) == sorted(ids)
        assert len(ssm.calls_for("ListCommands", region)) == math.ceil(len(ids) / 50)
    for region, ids in expected_tat.items():
        assert sorted(run.ids("tat_commands", region)) == sorted(ids)
        assert len(tat.calls_for("DescribeCommands", region)) == math.ceil(len(ids) / 100)
    for stream in ("ssm_commands", "tat_commands"):
        keys = [(r["Region"], r["CommandId"]) for r in run.records[stream]]
        assert len(keys) == len(set(keys)), f"duplicate primary keys in {stream}"
    # Every call asked for full pages.
    assert {c.params.get("MaxResults") for c in ssm.calls_for("ListCommands")} == {50}
    assert {c.params.get("Limit") for c in tat.calls_for("DescribeCommands")} == {100}


def test_records_match_the_api_objects_with_utc_timestamps(tmp_path, ssm, tat, config):
    requested = dt.datetime(2026, 11, 1, 3, 4, 5, 678000, tzinfo=UTC)
    command = ssm.add_command("us-east-1", RequestedDateTime=requested, Status="Failed")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    tat_command = tat.add_command(
        "ap-guangzhou",
        CreatedTime=dt.datetime(2026, 10, 1, 10, 0, tzinfo=shanghai),
        UpdatedTime=dt.datetime(2026, 10, 2, 10, 0, tzinfo=shanghai),
    )
    tat.timestamp_style = "+08:00"

    # boto3 gives tzlocal() datetimes: a non-UTC local zone must not shift anything.
    run = run_tap(tmp_path, config, env={"TZ": "Asia/Shanghai"})

    assert run.returncode == 0, run.stderr
    [record] = run.records["ssm_commands"]
    assert record["RequestedDateTime"] == "2026-11-01T03:04:05.678000+00:00"
    assert record["ExpiresAfter"] == format_timestamp(command["ExpiresAfter"])
    for field in (
        "Parameters",
        "Targets",
        "NotificationConfig",
        "CloudWatchOutputConfig",
        "AlarmConfiguration",
        "TriggeredAlarms",
        "InstanceIds",
        "Status",
    ):
        assert record[field] == command[field], field
    assert record["Region"] == "us-east-1"
    [tat_record] = run.records["tat_commands"]
    assert tat_record["CreatedTime"] == "2026-10-01T02:00:00.000000+00:00"
    assert tat_record["UpdatedTime"] == "2026-10-02T02:00:00.000000+00:00"
    for field in ("Tags", "DefaultParameterConfs", "Content", "DefaultParameters", "Timeout"):
        assert tat_record[field] == tat_command[field], field
    assert tat_record["Region"] == "ap-guangzhou"


def test_final_state_has_one_bookmark_per_stream_and_region(tmp_path, ssm, tat, config):
    base = now() - dt.timedelta(days=3)
    for region in AWS_REGIONS:
        add_ssm(ssm, region, 5, start=base, Status="Success")
    for region in TENCENT_REGIONS:
        add_tat(tat, region, 5, start=base)
    started = now()

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    for stream, account, regions, emulator, field in (
        ("ssm_commands", EMULATOR_AWS_ACCOUNT_ID, AWS_REGIONS, ssm, "RequestedDateTime"),
        ("tat_commands", EMULATOR_TENCENT_ACCOUNT_ID, TENCENT_REGIONS, tat, "UpdatedTime"),
    ):
        state = run.final_state["bookmarks"][stream]
        assert [p["context"] for p in state["partitions"]] == [
            {"AccountId": account, "Region": r} for r in regions
        ]
        for partition in state["partitions"]:
            newest = max(c[field] for c in emulator.commands(partition["context"]["Region"]))
            assert partition["replication_key"] == field
            bookmark = parse_timestamp(partition["replication_key_value"])
            # A read shown complete: the sync's start minus five minutes.
            assert newest < bookmark
            # (The cloud's Date is whole seconds: its clock may look up to 1 s behind.)
            allowance = dt.timedelta(minutes=5)
            assert started - allowance - dt.timedelta(seconds=1) <= bookmark
            assert bookmark <= now() - allowance
            assert bookmark < started
            assert "progress_markers" not in partition
            assert "replication_key_signpost" not in partition


def test_second_run_with_state_returns_only_new_records_per_region(tmp_path, ssm, tat, config):
    base = now() - dt.timedelta(days=5)
    for region in AWS_REGIONS:
        add_ssm(ssm, region, 60, start=base, Status="Success")
    for region in TENCENT_REGIONS:
        add_tat(tat, region, 130, start=base)
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    ssm_bookmarks = first.bookmarks("ssm_commands")
    tat_bookmarks = first.bookmarks("tat_commands")

    # The clouds stamp new commands and edits with their clocks as they happen.
    new_ssm = add_ssm(ssm, "eu-west-1", 3, start=now(), step=dt.timedelta(seconds=1))
    # TAT stamps edits and new commands with its clock as they happen.
    edited = tat.commands("ap-singapore")[40]["CommandId"]
    tat.update_command("ap-singapore", edited, CommandName="edited", UpdatedTime=now())
    new_tat = add_tat(tat, "ap-guangzhou", 2, start=now(), step=dt.timedelta(seconds=1))
    ssm.reset_calls()

    second = run_tap(tmp_path, config, state=first.final_state)

    assert second.returncode == 0, second.stderr

    # A read shown complete moves the bookmark to the sync's start minus five minutes,
    # past the newest command: the next sync emits only what changed.
    assert second.ids("ssm_commands", "us-east-1") == []
    assert sorted(second.ids("ssm_commands", "eu-west-1")) == sorted(new_ssm)
    assert parse_timestamp(tat_bookmarks["ap-guangzhou"]) > max(
        c["UpdatedTime"] for c in tat.commands("ap-singapore") if c["CommandId"] != edited
    )
    assert sorted(second.ids("tat_commands", "ap-guangzhou")) == sorted(new_tat)
    singapore = second.records["tat_commands"]
    assert [r["CommandName"] for r in singapore if r["CommandId"] == edited] == ["edited"]
    # SSM was asked only for commands since each region's bookmark.
    for region in AWS_REGIONS:
        [call] = ssm.calls_for("ListCommands", region)
        [invoked_after] = [f["value"] for f in call.params["Filters"] if f["key"] == "InvokedAfter"]
        assert parse_timestamp(invoked_after) <= parse_timestamp(ssm_bookmarks[region])
        assert parse_timestamp(invoked_after) > parse_timestamp(
            ssm_bookmarks[region]
        ) - dt.timedelta(seconds=1)
    assert parse_timestamp(second.bookmarks("ssm_commands")["eu-west-1"]) < max(
        c["RequestedDateTime"] for c in ssm.commands("eu-west-1")
    )


def test_start_date_limits_the_first_sync(tmp_path, ssm, tat, config):
    base = now() - dt.timedelta(days=10)
    old = add_ssm(ssm, "us-east-1", 3, start=base)
    recent = add_ssm(ssm, "us-east-1", 4, start=base + dt.timedelta(days=5))
    add_tat(tat, "ap-guangzhou", 3, start=base)
    recent_tat = add_tat(tat, "ap-guangzhou", 2, start=base + dt.timedelta(days=5))
    cutoff = format_timestamp(base + dt.timedelta(days=4))

    run = run_tap(tmp_path, config | {"start_date": cutoff})

    assert run.returncode == 0, run.stderr
    assert sorted(run.ids("ssm_commands")) == sorted(recent)
    assert not set(old) & set(run.ids("ssm_commands"))
    assert sorted(run.ids("tat_commands")) == sorted(recent_tat)


def test_running_command_is_read_again_by_id_until_it_ends(tmp_path, ssm, tat, config):
    base = now() - dt.timedelta(days=10)
    done_before = add_ssm(ssm, "us-east-1", 3, start=base, Status="Success")
    running = ssm.add_command(
        "us-east-1", RequestedDateTime=base + dt.timedelta(hours=1), Status="InProgress"
    )["CommandId"]
    done_after = add_ssm(ssm, "us-east-1", 4, start=base + dt.timedelta(hours=2), Status="Failed")
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}

    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    assert set(first.ids("ssm_commands")) == {*done_before, running, *done_after}
    [partition] = first.final_state["bookmarks"]["ssm_commands"]["partitions"]
    # The bookmark moves on; the running command is followed by id.
    assert parse_timestamp(partition["replication_key_value"]) > now() - dt.timedelta(minutes=6)
    assert partition["pending_commands"] == {
        running: format_timestamp(base + dt.timedelta(hours=1))
    }

    ssm.reset_calls()
    ssm.update_command("us-east-1", running, Status="Success", CompletedCount=1)
    second = run_tap(tmp_path, config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    # Only the command that changed: nothing requested after it is read again.
    [record] = second.records["ssm_commands"]
    assert (record["CommandId"], record["Status"]) == (running, "Success")
    calls = ssm.calls_for("ListCommands", "us-east-1")
    assert [c.params.get("CommandId") for c in calls] == [None, running]
    [partition] = second.final_state["bookmarks"]["ssm_commands"]["partitions"]
    assert partition["pending_commands"] == {}

    third = run_tap(tmp_path, config, state=second.final_state)
    assert third.returncode == 0, third.stderr
    assert third.ids("ssm_commands") == []


def test_a_state_without_followed_commands_still_works(tmp_path, ssm):
    # A state written before commands were followed by id: the bookmark held at a
    # running command. The listing reads it again and starts following it.
    base = now() - dt.timedelta(days=3)
    running = ssm.add_command("us-east-1", RequestedDateTime=base, Status="InProgress")
    later = add_ssm(ssm, "us-east-1", 2, start=base + dt.timedelta(hours=1), Status="Success")
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}
    old_state = {
        "bookmarks": {
            "ssm_commands": {
                "partitions": [
                    {
                        "context": {"Region": "us-east-1"},
                        "replication_key": "RequestedDateTime",
                        "replication_key_value": format_timestamp(base),
                    }
                ]
            }
        }
    }

    run = run_tap(tmp_path, config, state=old_state)

    assert run.returncode == 0, run.stderr
    assert set(run.ids("ssm_commands")) == {running["CommandId"], *later}
    [partition] = run.final_state["bookmarks"]["ssm_commands"]["partitions"]
    assert list(partition["pending_commands"]) == [running["CommandId"]]


def test_running_command_older_than_the_lookback_is_dropped_with_a_line(tmp_path, ssm, config):
    stale = now() - dt.timedelta(days=9)
    old = ssm.add_command("us-east-1", RequestedDateTime=stale, Status="Pending")
    ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(days=1), Status="Success")
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "ssm_status_lookback_days": 7,
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    [partition] = run.final_state["bookmarks"]["ssm_commands"]["partitions"]
    assert partition["pending_commands"] == {}
    assert parse_timestamp(partition["replication_key_value"]) > now() - dt.timedelta(minutes=6)
    assert f"command {old['CommandId']} is still not final after 7 days" in run.stderr


def test_ssm_result_order_does_not_matter(tmp_path, ssm, config):
    ssm.order = "shuffled"
    base = now() - dt.timedelta(days=4)
    ids = add_ssm(ssm, "us-east-1", 140, start=base, Status="Success")
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert sorted(run.ids("ssm_commands")) == sorted(ids)
    assert parse_timestamp(run.bookmarks("ssm_commands")["us-east-1"]) > max(
        c["RequestedDateTime"] for c in ssm.commands("us-east-1")
    )


def test_tat_delete_between_pages_loses_nothing(tmp_path, tat):
    base = now() - dt.timedelta(days=30)
    add_tat(tat, "ap-guangzhou", 250, start=base)
    newest_first = tat.commands("ap-guangzhou")
    victim = max(newest_first, key=lambda c: c["CreatedTime"])["CommandId"]
    deleted = []

    def delete_once_after_first_page(call):
        if call.action == "DescribeCommands" and not deleted:
            deleted.append(victim)
            tat.delete_command("ap-guangzhou", victim)

    tat.after_response = delete_once_after_first_page
    config = emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    remaining = {c["CommandId"] for c in tat.commands("ap-guangzhou")}
    assert len(remaining) == 249
    assert remaining <= set(run.ids("tat_commands"))
    offsets = [c.params["Offset"] for c in tat.calls_for("DescribeCommands")]
    # Pages overlap by one item; the page after the gap finds nothing it overlaps, so
    # the stretch just before it is read again (one call), not the whole list.
    assert len(offsets) == 4, offsets
    assert offsets.count(0) == 1, offsets
    assert run.bookmarks("tat_commands")["ap-guangzhou"] is not None
    assert "not shown complete" not in run.stderr


def test_tat_list_that_never_stops_changing_still_advances_the_bookmark(tmp_path, tat):
    base = now() - dt.timedelta(days=30)
    add_tat(tat, "ap-guangzhou", 150, start=base)
    config = emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    old_bookmark = first.bookmarks("tat_commands")["ap-guangzhou"]
    late = add_tat(tat, "ap-guangzhou", 5, start=now(), step=dt.timedelta(seconds=1))
    inserted = []

    def insert_and_age_out_after_every_call(call):
        if call.action == "DescribeCommands":
            moment = now()
            inserted.append(
                tat.add_command("ap-guangzhou", CreatedTime=moment, UpdatedTime=moment)["CommandId"]
            )
            oldest = min(tat.commands("ap-guangzhou"), key=lambda c: c["CreatedTime"])
            tat.delete_command("ap-guangzhou", oldest["CommandId"])

    tat.after_response = insert_and_age_out_after_every_call
    # The ceiling reads the cloud's clock from a Date header in whole seconds (up to 1 s
    # behind): a second sync started within that second could cap lower than the first.
    time.sleep(1.5)
    second = run_tap(tmp_path, config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert second.bookmarks("tat_commands")["ap-guangzhou"] > old_bookmark
    assert set(late) <= set(second.ids("tat_commands"))
    assert "not shown complete" not in second.stderr
    # Commands created during the sync come with the next one.
    tat.after_response = None
    third = run_tap(tmp_path, config, state=second.final_state)
    assert third.returncode == 0, third.stderr
    assert set(inserted) <= set(second.ids("tat_commands")) | set(third.ids("tat_commands"))


@pytest.mark.parametrize("cloud", ["aws", "tencent"])
def test_throttling_then_success_delivers_everything(tmp_path, ssm, tat, cloud):
    base = now() - dt.timedelta(days=3)
    if cloud == "aws":
        ids = add_ssm(ssm, "us-east-1", 80, start=base)
        ssm.inject(Fault(kind="throttle", count=2, action="ListCommands"))
        ssm.inject(Fault(kind="server_error", status=503, count=1, action="ListCommands"))
        # botocore reads a truncated 200 body as an empty last page: the tap must not.
        ssm.inject(Fault(kind="malformed", count=1, action="ListCommands"))
        config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"], "aws_max_attempts": 5}
        stream, calls = "ssm_commands", lambda: ssm.calls_for("ListCommands")
        faulty = 4
    else:
        ids = add_tat(tat, "ap-guangzhou", 180, start=base)
        tat.inject(Fault(kind="throttle", count=2, action="DescribeCommands"))
        tat.inject(Fault(kind="malformed", count=1, action="DescribeCommands"))
        config = emulator_config(None, tat) | {
            "tencent_regions": ["ap-guangzhou"],
            "tencent_max_attempts": 5,
        }
        stream, calls = "tat_commands", lambda: tat.calls_for("DescribeCommands")
        faulty = 3

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert sorted(run.ids(stream)) == sorted(ids)
    assert len(calls()) == 2 + faulty  # two pages plus the faulty answers


def test_error_body_with_charset_is_not_taken_for_no_commands(tmp_path, tat):
    add_tat(tat, "ap-guangzhou", 3, start=now() - dt.timedelta(days=1))
    tat.content_type = "application/json; charset=utf-8"
    tat.inject(Fault(kind="auth", count=1, action="DescribeCommands"))
    config = emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}

    run = run_tap(tmp_path, config)

    assert run.returncode == 1
    assert "AuthFailure" in run.stderr.splitlines()[-1]
    assert "tat_commands" not in run.records


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"aws_regions": ["US East"]}, "aws_regions"),
        ({"tencent_regions": ["guangzhou"]}, "tencent_regions"),
        ({"start_date": "last tuesday"}, "start_date"),
        ({"start_date": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"ssm_page_size": 51}, "ssm_page_size"),
        ({"tat_page_size": 0}, "tat_page_size"),
        ({"tencent_endpoint_url": "127.0.0.1:9001"}, "tencent_endpoint_url"),
        ({"aws_endpoint_url": "localhost"}, "aws_endpoint_url"),
        ({"aws_max_attempts": "three"}, "aws_max_attempts"),
        ({"tencent_requests_per_second": 0}, "tencent_requests_per_second"),
        ({"aws_retry_mode": "legacy"}, "aws_retry_mode"),
        ({"aws_assume_role_arn": "role/admin"}, "aws_assume_role_arn"),
        ({"tencent_secret_key": " pasted-with-spaces "}, "tencent_secret_key has spaces"),
    ],
)
def test_bad_settings_fail_before_any_api_call(tmp_path, ssm, tat, config, override, message):
    run = run_tap(tmp_path, config | override)

    assert run.returncode != 0
    assert any(message in line for line in run.error_lines()), run.stderr
    assert ssm.calls == [] and tat.calls == []
    assert run.messages == []


def test_bad_bookmark_in_state_is_one_clear_error(tmp_path, ssm, tat, config):
    add_ssm(ssm, "us-east-1", 2, start=now() - dt.timedelta(days=1))
    state = {
        "bookmarks": {
            "ssm_commands": {
                "partitions": [
                    {
                        "context": {"Region": "us-east-1"},
                        "replication_key": "RequestedDateTime",
                        "replication_key_value": "not-a-time",
                    }
                ]
            }
        }
    }

    run = run_tap(tmp_path, config | {"tencent_regions": []}, state=state)

    assert run.returncode == 1
    assert "not-a-time" in run.stderr.splitlines()[-1]
    assert "ssm_commands" in run.stderr.splitlines()[-1]


def test_tat_calls_stay_under_the_configured_rate_per_region(tmp_path, tat):
    base = now() - dt.timedelta(days=2)
    for region in TENCENT_REGIONS:
        add_tat(tat, region, 40, start=base)
    # The emulator throttles anything faster; the tap must never trigger it.
    tat.rate_limit_per_second = 3
    config = emulator_config(None, tat) | {"tencent_requests_per_second": 3, "tat_page_size": 5}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    for region in TENCENT_REGIONS:
        calls = tat.calls_for("DescribeCommands", region)
        # Pages of 5 overlap by one: 4 new commands per call after the first.
        assert len(calls) == 10
        assert all(call.error_code is None for call in calls)
        # TAT limits each API apart, and so does the tap (each stream calls its own API).
        for action in ("DescribeCommands", "DescribeInvocations", "DescribeInvocationTasks"):
            assert tat.calls_for(action, region), action
            assert tat.max_requests_per_second(region, action) <= 3, action
        # Ten calls at three per second cannot take less than three seconds.
        assert calls[-1].at - calls[0].at >= 3.0
        assert len(run.ids("tat_commands", region)) == 40


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"aws_access_key_id": None, "aws_secret_access_key": None, "aws_profile": "nope"},
            # The first call asks STS which account the identity is.
            "AWS GetCallerIdentity in region us-east-1 failed: ProfileNotFound",
        ),
        (
            {
                "aws_access_key_id": None,
                "aws_secret_access_key": None,
                "aws_assume_role_arn": "arn:aws:iam::123456789012:role/reader",
                "aws_sts_endpoint_url": "http://127.0.0.1:9",
            },
            "AWS AssumeRole in region us-east-1 failed: NoCredentials",
        ),
    ],
)
def test_aws_credential_setup_errors_are_one_line(tmp_path, ssm, override, expected):
    config = {
        k: v
        for k, v in (emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]} | override).items()
        if v is not None
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith(f"tap-cloudcommands: error: {expected}")
    assert "Traceback" not in run.stderr
    assert ssm.calls_for("ListCommands") == []
    assert ssm.calls_for("ListCommandInvocations") == []


def test_full_table_catalog_ignores_bookmarks(tmp_path, ssm, tat):
    from tests.test_core import catalog_selecting

    base = now() - dt.timedelta(days=5)
    ssm_ids = add_ssm(ssm, "us-east-1", 40, start=base, Status="Success")
    tat_ids = add_tat(tat, "ap-guangzhou", 40, start=base)
    config = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1"],
        "tencent_regions": ["ap-guangzhou"],
    }
    # Bookmarks that would leave 10 of the 40 commands.
    ssm_mark = sorted(c["RequestedDateTime"] for c in ssm.commands("us-east-1"))[30]
    tat_mark = sorted(c["UpdatedTime"] for c in tat.commands("ap-guangzhou"))[30]
    state = {
        "bookmarks": {
            stream: {
                "partitions": [
                    {
                        "context": {"Region": region},
                        "replication_key": key,
                        "replication_key_value": format_timestamp(mark),
                    }
                ]
            }
            for stream, region, key, mark in (
                ("ssm_commands", "us-east-1", "RequestedDateTime", ssm_mark),
                ("tat_commands", "ap-guangzhou", "UpdatedTime", tat_mark),
            )
        }
    }
    catalog = catalog_selecting(tmp_path, config, "ssm_commands", "tat_commands")
    incremental = run_tap(tmp_path, config, state=state, catalog=catalog)
    assert incremental.returncode == 0, incremental.stderr
    assert len(incremental.ids("ssm_commands")) == 10
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["forced-replication-method"] = "FULL_TABLE"

    full = run_tap(tmp_path, config, state=state, catalog=catalog)

    assert full.returncode == 0, full.stderr
    assert sorted(full.ids("ssm_commands")) == sorted(ssm_ids)
    assert sorted(full.ids("tat_commands")) == sorted(tat_ids)
    # No InvokedAfter filter either: the whole list is asked for.
    last = ssm.calls_for("ListCommands", "us-east-1")[-1]
    assert "Filters" not in last.params


def test_resumability_is_said_once_not_per_stream_and_region(tmp_path, ssm, tat, config):
    add_ssm(ssm, "us-east-1", 3, start=now() - dt.timedelta(days=1))
    add_tat(tat, "ap-guangzhou", 3, start=now() - dt.timedelta(days=1))

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert "assumed to be unsorted" not in run.stderr
    assert run.stderr.count("Resuming: STATE is written") == 1
    # The SDK's progress note never reaches a STATE's finished partitions.
    for stream in run.final_state["bookmarks"].values():
        for partition in stream.get("partitions", []):
            assert "progress_markers" not in partition


@pytest.mark.parametrize("cloud", ["aws", "tencent"])
def test_a_fast_local_clock_loses_nothing_stamped_by_the_cloud(tmp_path, ssm, tat, cloud):
    # The cloud's clock is ten minutes behind the tap's; its answers' Date says so.
    behind = dt.timedelta(minutes=10)
    emulator = ssm if cloud == "aws" else tat
    emulator.clock_offset = -behind.total_seconds()

    def cloud_now():
        return now() - behind

    if cloud == "aws":
        config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}
        stream, region = "ssm_commands", "us-east-1"
        add_ssm(ssm, region, 5, start=cloud_now() - dt.timedelta(days=1))
        # A command requested just before the sync, stamped by the cloud.
        ssm.add_command(region, RequestedDateTime=cloud_now(), Status="Success")
    else:
        config = emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}
        stream, region = "tat_commands", "ap-guangzhou"
        add_tat(tat, region, 5, start=cloud_now() - dt.timedelta(days=1))
    started_on_cloud_clock = cloud_now()

    first = run_tap(tmp_path, config)

    assert first.returncode == 0, first.stderr
    bookmark = parse_timestamp(first.bookmarks(stream)[region])
    # The ceiling is the sync's start on the cloud's clock minus five minutes.
    assert bookmark <= started_on_cloud_clock - dt.timedelta(minutes=5) + dt.timedelta(seconds=5)
    # Created right after the first sync, stamped by the cloud's clock.
    if cloud == "aws":
        late = ssm.add_command(region, RequestedDateTime=cloud_now(), Status="Success")
    else:
        moment = cloud_now()
        late = tat.add_command(region, CreatedTime=moment, UpdatedTime=moment)
    second = run_tap(tmp_path, config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert late["CommandId"] in second.ids(stream)


def test_batch_mode_never_writes_a_state_ahead_of_its_batch(tmp_path, ssm):
    base = now() - dt.timedelta(days=2)
    add_ssm(ssm, "us-east-1", 5, start=base, Status="Success")
    add_ssm(ssm, "eu-west-1", 120, start=base, Status="Success")
    config = emulator_config(ssm, None) | {
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
        },
    }

    def fail_second_page_of_eu_west_1(call):
        pages = ssm.calls_for("ListCommands", "eu-west-1")
        if call.region == "eu-west-1" and call.action == "ListCommands" and len(pages) == 1:
            ssm.inject(Fault("auth", action="ListCommands", region="eu-west-1"))

    ssm.after_response = fail_second_page_of_eu_west_1
    run = run_tap(tmp_path, config)

    assert run.returncode == 1
    batched = False
    for message in run.messages:
        if message["type"] == "BATCH":
            batched = True
        if message["type"] == "STATE" and not batched:
            # ssm_command_invocations has no records: its bookmark may move without a batch.
            commands = message["value"].get("bookmarks", {}).get("ssm_commands", {})
            for partition in commands.get("partitions", []):
                assert partition.get("replication_key_value") is None, message
    # Without the fault: BATCH messages, then the STATE that claims them.
    ssm.after_response = None
    ssm.clear_faults()
    whole = run_tap(tmp_path, config)
    assert whole.returncode == 0, whole.stderr
    kinds = [m["type"] for m in whole.messages]
    assert "BATCH" in kinds
    first_batch = kinds.index("BATCH")
    for position, message in enumerate(whole.messages):
        if message["type"] == "STATE" and position < first_batch:
            assert "ssm_commands" not in message["value"].get("bookmarks", {}), message
    assert set(whole.bookmarks("ssm_commands")) == {"us-east-1", "eu-west-1"}
