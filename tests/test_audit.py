"""The audit-trail streams against the emulators: records, keys, bookmarks, late delivery,
paging, throttling, the endpoint rule, raw events, secrets and settings."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from tap_cloudcommands.audit import send_command_record
from tap_cloudcommands.settings import settings_errors
from tap_cloudcommands.timestamps import parse_timestamp
from tests.conftest import emulator_config
from tests.emulators import Fault, populate_ssm
from tests.tap_runner import run_tap

UTC = dt.UTC
STREAM = "aws_send_command_events"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/ops/bot"
ISSUER_ARN = "arn:aws:iam::123456789012:role/ops"


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def aws_config(ssm, **extra):
    config = emulator_config(ssm, None) | {"aws_cloudtrail_endpoint_url": ssm.url}
    return config | extra


def catalog_selecting(tmp_path, config, *names):
    """The discovered catalog with only the named streams selected (as test_core's,
    whose import would start that module's emulators)."""
    catalog = json.loads(run_tap(tmp_path, config, args=["--discover"]).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in names
    return catalog


def lookups(ssm, region=None):
    return [c for c in ssm.calls_for("LookupEvents", region) if c.status == 200]


def test_records_keys_and_bookmark(tmp_path, ssm):
    base = now() - dt.timedelta(days=3)
    user_command = ssm.add_command(
        "us-east-1",
        RequestedDateTime=base,
        InstanceIds=["i-0abc", "i-0def"],
        DocumentName="AWS-RunShellScript",
    )
    role_command = ssm.add_command("eu-west-1", RequestedDateTime=base + dt.timedelta(hours=1))
    unattributed = ssm.add_command("us-east-1", RequestedDateTime=base + dt.timedelta(hours=2))
    sent = ssm.trail.add_send_command_event("us-east-1", user_command)
    ssm.trail.add_send_command_event(
        "eu-west-1",
        role_command,
        user_arn=ROLE_ARN,
        identity_type="AssumedRole",
        session_issuer_arn=ISSUER_ARN,
        username="ops",
    )
    cancel = ssm.trail.add_event(
        "us-east-1",
        event_name="CancelCommand",
        event_time=base + dt.timedelta(minutes=5),
        request_parameters={"commandId": user_command["CommandId"]},
    )
    # Not a Run Command event: never asked for.
    ssm.trail.add_event("us-east-1", event_name="StartSession", event_time=base)

    started = dt.datetime.now(UTC)
    run = run_tap(tmp_path, aws_config(ssm))

    assert run.returncode == 0, run.stderr
    records = run.records[STREAM]
    assert sorted(r["EventId"] for r in records) == sorted(
        [sent.event_id, cancel.event_id, *(e.event_id for e in ssm.trail.events("eu-west-1"))]
    )
    by_command = {(r["EventName"], r["CommandId"]): r for r in records}
    assert unattributed["CommandId"] not in {r["CommandId"] for r in records}
    user = by_command["SendCommand", user_command["CommandId"]]
    assert user["Region"] == "us-east-1"
    assert user["EventTime"] == base.isoformat(timespec="microseconds")
    assert user["RequestedBy"] == "arn:aws:iam::123456789012:user/alice"
    assert user["UserIdentityType"] == "IAMUser"
    assert user["UserIdentityAccountId"] == "123456789012"
    assert user["SourceIPAddress"] == "203.0.113.10"
    assert user["UserAgent"] == "aws-cli/2.15.0"
    assert user["DocumentName"] == "AWS-RunShellScript"
    assert user["InstanceIds"] == ["i-0abc", "i-0def"]
    assert user["Resources"] == [
        {"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0abc"},
        {"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0def"},
    ]
    # CloudTrail hides SendCommand parameters; the raw event is off by default.
    assert user["Parameters"] is None
    assert user["CloudTrailEvent"] is None
    role = by_command["SendCommand", role_command["CommandId"]]
    assert role["RequestedBy"] == ROLE_ARN
    assert role["SessionIssuerArn"] == ISSUER_ARN
    assert role["Region"] == "eu-west-1"
    assert by_command["CancelCommand", user_command["CommandId"]]["EventId"] == cancel.event_id

    # One query per event name and region, one attribute each, full pages.
    calls = lookups(ssm)
    assert len(calls) == 4
    assert sorted(
        (c.region, c.params["LookupAttributes"][0]["AttributeValue"]) for c in calls
    ) == sorted(
        (region, name)
        for region in ("us-east-1", "eu-west-1")
        for name in ("SendCommand", "CancelCommand")
    )
    assert {c.params["MaxResults"] for c in calls} == {50}
    # A first sync starts at the 90 days CloudTrail keeps.
    for call in calls:
        start = dt.datetime.fromtimestamp(call.params["StartTime"], UTC)
        assert started - dt.timedelta(days=90) < start < started - dt.timedelta(days=89)
    # The bookmark stays the delivery delay (900 s) behind the sync start.
    for value in run.bookmarks(STREAM).values():
        bookmark = parse_timestamp(value)
        assert bookmark <= started - dt.timedelta(seconds=900)
        assert bookmark > started - dt.timedelta(seconds=900 + 300 + 60)


def test_second_sync_starts_at_bookmark(tmp_path, ssm):
    command = ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(days=2))
    ssm.trail.add_send_command_event("us-east-1", command)
    first = run_tap(tmp_path, aws_config(ssm))
    assert first.returncode == 0, first.stderr
    ssm.reset_calls()

    second = run_tap(tmp_path, aws_config(ssm), state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert STREAM not in second.records
    bookmark = parse_timestamp(first.bookmarks(STREAM)["us-east-1"])
    starts = {c.params["StartTime"] for c in lookups(ssm, "us-east-1")}
    assert starts == {bookmark.timestamp()}


@pytest.mark.parametrize(("delay_seconds", "found_later"), [(900, True), (0, False)])
def test_late_delivered_event_arrives_in_a_later_sync(tmp_path, ssm, delay_seconds, found_later):
    # Sent 7 minutes ago, delivered only after the first sync: with the bookmark held
    # 900 s back the next sync reads it; with no delay setting it is behind the bookmark.
    command = ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(minutes=7))
    late = ssm.trail.add_send_command_event("us-east-1", command, delay=dt.timedelta(days=1))
    config = aws_config(ssm, cloudtrail_delivery_delay_seconds=delay_seconds)
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    assert STREAM not in first.records

    ssm.trail.deliver(late.event_id)
    second = run_tap(tmp_path, config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    emitted = [r["EventId"] for r in second.records.get(STREAM, [])]
    assert (emitted == [late.event_id]) is found_later
    if found_later:
        record = second.records[STREAM][0]
        assert record["EventTime"] == late.event_time.isoformat(timespec="microseconds")
        assert record["CommandId"] == command["CommandId"]


def test_paging_reads_every_event_once(tmp_path, ssm):
    base = now() - dt.timedelta(days=10)
    ids = []
    for i in range(120):
        command = ssm.add_command("us-east-1", RequestedDateTime=base + dt.timedelta(minutes=i))
        ids.append(ssm.trail.add_send_command_event("us-east-1", command).event_id)

    run = run_tap(tmp_path, aws_config(ssm, aws_regions=["us-east-1"]))

    assert run.returncode == 0, run.stderr
    emitted = [r["EventId"] for r in run.records[STREAM]]
    assert sorted(emitted) == sorted(ids)
    sends = [
        c
        for c in lookups(ssm)
        if c.params["LookupAttributes"][0]["AttributeValue"] == "SendCommand"
    ]
    assert len(sends) == math.ceil(120 / 50)
    assert [("NextToken" in c.params) for c in sends] == [False, True, True]


def add_events(ssm, region, count):
    base = now() - dt.timedelta(days=1)
    for i in range(count):
        command = ssm.add_command(region, RequestedDateTime=base + dt.timedelta(minutes=i))
        ssm.trail.add_send_command_event(region, command)


def test_throttling_is_retried(tmp_path, ssm):
    add_events(ssm, "us-east-1", 60)
    ssm.inject(Fault("throttle", count=2, action="LookupEvents"))

    run = run_tap(tmp_path, aws_config(ssm, aws_regions=["us-east-1"], aws_max_attempts=5))

    assert run.returncode == 0, run.stderr
    assert len(run.records[STREAM]) == 60
    throttled = [c for c in ssm.calls_for("LookupEvents") if c.error_code == "ThrottlingException"]
    assert len(throttled) == 2


def test_calls_keep_to_the_documented_rate(tmp_path, ssm):
    add_events(ssm, "us-east-1", 160)
    # CloudTrail's documented limit, enforced: any third call in a second is throttled.
    ssm.rate_limit_per_second = 2

    config = aws_config(ssm, aws_regions=["us-east-1"], aws_max_attempts=1)
    catalog = catalog_selecting(tmp_path, config, STREAM)
    run = run_tap(tmp_path, config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert list(run.records) == [STREAM]
    assert len(run.records[STREAM]) == 160
    assert len(lookups(ssm)) == 5  # 4 SendCommand pages, 1 CancelCommand page
    assert ssm.max_requests_per_second("us-east-1", "LookupEvents") <= 2


def test_throttling_beyond_the_attempts_fails_with_one_line(tmp_path, ssm):
    ssm.inject(Fault("throttle", count=10, action="LookupEvents"))

    run = run_tap(tmp_path, aws_config(ssm, aws_regions=["us-east-1"], aws_max_attempts=2))

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "LookupEvents" in last
    assert "ThrottlingException" in last


def test_no_call_to_a_host_the_user_did_not_configure(tmp_path, ssm):
    command = ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(days=1))
    ssm.trail.add_send_command_event("us-east-1", command)

    run = run_tap(tmp_path, emulator_config(ssm, None))

    assert run.returncode == 0, run.stderr
    assert ssm.calls_for("LookupEvents") == []
    assert STREAM not in run.records
    lines = [line for line in run.stderr.splitlines() if "aws_cloudtrail_endpoint_url" in line]
    assert len(lines) == 1
    assert "INFO" in lines[0]


def test_raw_event_only_when_asked(tmp_path, ssm):
    command = ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(days=1))
    event = ssm.trail.add_send_command_event("us-east-1", command)

    run = run_tap(tmp_path, aws_config(ssm, audit_raw_events=True))

    assert run.returncode == 0, run.stderr
    (record,) = run.records[STREAM]
    raw = json.loads(record["CloudTrailEvent"])
    assert raw["eventID"] == event.event_id
    assert raw["responseElements"]["command"]["commandId"] == command["CommandId"]


def test_logged_parameters_follow_the_ssm_commands_rules(tmp_path, ssm):
    secret = "hunter2-db-password-4a7f"
    command = ssm.add_command(
        "us-east-1",
        RequestedDateTime=now() - dt.timedelta(days=1),
        Parameters={"commands": [f"mysql -p{secret}"], "workingDirectory": [""]},
    )
    ssm.trail.add_send_command_event("us-east-1", command, log_parameters=True)

    run = run_tap(tmp_path, aws_config(ssm))

    assert run.returncode == 0, run.stderr
    commands = {r["CommandId"]: r for r in run.records["ssm_commands"]}
    (record,) = run.records[STREAM]
    # The same shape as ssm_commands' Parameters: name -> list of strings.
    assert record["Parameters"] == commands[command["CommandId"]]["Parameters"]
    assert secret not in run.stderr


def test_sample_data_events_match_the_commands(tmp_path, ssm):
    created = populate_ssm(
        ssm, ["us-east-1"], 60, now=dt.datetime.now(UTC), invocations=False, audit_events=True
    )
    events = ssm.trail.events("us-east-1")
    command_ids = {c["CommandId"] for c in created["us-east-1"]}
    sent = {e.detail["responseElements"]["command"]["commandId"] for e in events}
    assert sent < command_ids  # some runs have no audit event
    assert len(sent) == len(events)
    # Off by default: the existing fills are unchanged.
    populate_ssm(ssm, ["eu-west-1"], 10, now=dt.datetime.now(UTC), invocations=False)
    assert ssm.trail.events("eu-west-1") == []


def test_requested_by_falls_back_to_issuer_then_username():
    detail = {
        "userIdentity": {"sessionContext": {"sessionIssuer": {"arn": ISSUER_ARN}}},
        "requestParameters": {"commandId": "c-1", "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"},
    }
    event = {"EventId": "e", "Username": "u", "CloudTrailEvent": json.dumps(detail)}
    record = send_command_record(event, "us-east-1", raw=False)
    assert record["RequestedBy"] == ISSUER_ARN
    assert record["CommandId"] == "c-1"
    assert record["Parameters"] is None
    assert send_command_record({"Username": "u"}, "r", raw=True)["RequestedBy"] == "u"
    broken = send_command_record({"CloudTrailEvent": "{not json"}, "r", raw=True)
    assert broken["RequestedBy"] is None
    assert broken["CloudTrailEvent"] == "{not json"


def test_settings_errors_name_the_setting():
    errors = settings_errors(
        {"aws_cloudtrail_endpoint_url": "127.0.0.1:9000", "tencent_cloudaudit_endpoint_url": "x"}
    )
    assert len(errors) == 2
    assert errors[0].startswith("aws_cloudtrail_endpoint_url")
    assert errors[1].startswith("tencent_cloudaudit_endpoint_url")


def test_out_of_range_rate_is_refused_before_any_call(tmp_path, ssm):
    run = run_tap(tmp_path, aws_config(ssm, cloudtrail_requests_per_second=3))

    assert run.returncode == 1
    assert "cloudtrail_requests_per_second" in run.stderr
    assert ssm.calls == []
