"""The audit-trail streams against the emulators: records, keys, bookmarks, late delivery,
paging, throttling, the endpoint rule, raw events, secrets and settings."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import pytest

from tap_cloudcommands.aws.audit import send_command_record
from tap_cloudcommands.settings import settings_errors
from tap_cloudcommands.tencent.audit import tat_audit_record
from tap_cloudcommands.timestamps import parse_timestamp
from tests.conftest import emulator_config
from tests.emulators import EMULATOR_TENCENT_ACCOUNT_ID, Fault, populate_ssm, populate_tat
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


# ------------------------------------------------------------------ Tencent CloudAudit
TAT_STREAM = "tat_audit_events"


def tencent_config(tat, **extra):
    config = emulator_config(None, tat) | {"tencent_cloudaudit_endpoint_url": tat.url}
    return config | extra


def audit_lookups(tat):
    return [c for c in tat.calls_for("LookUpEvents") if c.error_code is None]


def invoke_event(tat, when, invocation_id, **extra):
    return tat.audit.add_event(
        event_name=extra.pop("event_name", "InvokeCommand"),
        event_time=when,
        request_parameters={"CommandId": "cmd-abcd1234", "InstanceIds": ["ins-1", "ins-2"]},
        response_elements={"InvocationId": invocation_id},
        **extra,
    )


def test_tat_audit_records_keys_and_bookmark(tmp_path, tat):
    when = now() - dt.timedelta(days=40)
    invoked = invoke_event(tat, when, "inv-aaaa1111", event_region="ap-singapore")
    ran = tat.audit.add_event(
        event_name="RunCommand",
        event_time=when + dt.timedelta(hours=1),
        principal_id="4611686018427397919",
        username="roleUser",
        identity_type="AssumedRole",
        request_parameters={"Content": "ZWNobyBoaQ==", "InstanceIds": ["ins-3"]},
        response_elements={"CommandId": "cmd-temp0001", "InvocationId": "inv-bbbb2222"},
    )
    cancelled = tat.audit.add_event(
        event_name="CancelInvocation",
        event_time=when + dt.timedelta(hours=2),
        request_parameters={"InvocationId": "inv-aaaa1111"},
    )
    # Not a run: never asked for.
    tat.audit.add_event(event_name="DescribeInvocations", event_time=when)

    started = dt.datetime.now(UTC)
    run = run_tap(tmp_path, tencent_config(tat))

    assert run.returncode == 0, run.stderr
    records = {r["EventId"]: r for r in run.records[TAT_STREAM]}
    assert set(records) == {invoked.event_id, ran.event_id, cancelled.event_id}
    first = records[invoked.event_id]
    assert first["Region"] == "ap-guangzhou"  # the CloudAudit region queried
    assert first["EventRegion"] == "ap-singapore"
    assert first["EventTime"] == when.isoformat(timespec="microseconds")
    assert first["InvocationId"] == "inv-aaaa1111"
    assert first["CommandId"] == "cmd-abcd1234"
    assert first["InstanceIds"] == ["ins-1", "ins-2"]
    assert first["RequestedBy"] == "100000000011"
    assert first["PrincipalId"] == "100000000011"
    assert first["EventAccountId"] == "100000000001"
    assert first["ErrorCode"] == 0
    assert first["UserAgent"] == "TencentCloud-SDK-Python/3.1.106"
    assert first["SourceIPAddress"] == "203.0.113.20"
    assert first["CloudAuditEvent"] is None
    assert first["AccountId"] == EMULATOR_TENCENT_ACCOUNT_ID  # the partition's account
    assert records[ran.event_id]["InvocationId"] == "inv-bbbb2222"
    assert records[ran.event_id]["RequestedBy"] == "4611686018427397919"
    assert records[cancelled.event_id]["InvocationId"] == "inv-aaaa1111"

    calls = audit_lookups(tat)
    names = {c.params["LookupAttributes"][0]["AttributeValue"] for c in calls}
    assert names == {"RunCommand", "InvokeCommand", "CreateInvoker", "CancelInvocation"}
    for call in calls:
        assert call.params["MaxResults"] == 50
        assert call.params["EndTime"] - call.params["StartTime"] <= 7 * 86_400
        assert call.params["StartTime"] >= (started - dt.timedelta(days=90)).timestamp()
    (bookmark,) = run.bookmarks(TAT_STREAM).values()
    assert parse_timestamp(bookmark) <= started - dt.timedelta(seconds=900)


@pytest.mark.parametrize(("delay_seconds", "found_later"), [(900, True), (0, False)])
def test_tat_late_delivered_event_arrives_in_a_later_sync(
    tmp_path, tat, delay_seconds, found_later
):
    late = invoke_event(
        tat, now() - dt.timedelta(minutes=7), "inv-late0001", delay=dt.timedelta(days=1)
    )
    config = tencent_config(tat, cloudaudit_delivery_delay_seconds=delay_seconds)
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    assert TAT_STREAM not in first.records

    tat.audit.deliver(late.event_id)
    second = run_tap(tmp_path, config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    emitted = [r["InvocationId"] for r in second.records.get(TAT_STREAM, [])]
    assert (emitted == ["inv-late0001"]) is found_later


def test_tat_paging_stops_at_list_over(tmp_path, tat):
    base = now() - dt.timedelta(days=1)
    ids = {
        invoke_event(tat, base + dt.timedelta(seconds=i), f"inv-{i:08d}").event_id
        for i in range(120)
    }

    run = run_tap(tmp_path, tencent_config(tat))

    assert run.returncode == 0, run.stderr
    assert sorted(r["EventId"] for r in run.records[TAT_STREAM]) == sorted(ids)
    invokes = [
        c
        for c in audit_lookups(tat)
        if c.params["LookupAttributes"][0]["AttributeValue"] == "InvokeCommand"
        and c.params["EndTime"] >= base.timestamp()
    ]
    # The last page still carries a NextToken; ListOver ends the list.
    assert len(invokes) == 3


def test_tat_throttling_is_retried(tmp_path, tat):
    invoke_event(tat, now() - dt.timedelta(days=1), "inv-thr00001")
    tat.inject(Fault("throttle", count=2, action="LookUpEvents"))

    run = run_tap(tmp_path, tencent_config(tat))

    assert run.returncode == 0, run.stderr
    assert [r["InvocationId"] for r in run.records[TAT_STREAM]] == ["inv-thr00001"]
    throttled = [c for c in tat.calls_for("LookUpEvents") if c.error_code == "RequestLimitExceeded"]
    assert len(throttled) == 2


def test_tat_no_call_to_a_host_the_user_did_not_configure(tmp_path, tat):
    invoke_event(tat, now() - dt.timedelta(days=1), "inv-none0001")

    run = run_tap(tmp_path, emulator_config(None, tat))

    assert run.returncode == 0, run.stderr
    assert tat.calls_for("LookUpEvents") == []
    lines = [line for line in run.stderr.splitlines() if "tencent_cloudaudit_endpoint_url" in line]
    assert len(lines) == 1
    assert "INFO" in lines[0]


def test_tat_raw_event_only_when_asked(tmp_path, tat):
    event = invoke_event(tat, now() - dt.timedelta(days=1), "inv-raw00001")

    run = run_tap(tmp_path, tencent_config(tat, audit_raw_events=True))

    assert run.returncode == 0, run.stderr
    (record,) = run.records[TAT_STREAM]
    assert json.loads(record["CloudAuditEvent"])["eventId"] == event.event_id


def test_tat_sample_data_events_match_the_invocations(tat):
    populate_tat(tat, ["ap-guangzhou"], 40, now=dt.datetime.now(UTC), audit_events=True)
    invocation_ids = {i["InvocationId"] for i in tat.invocations("ap-guangzhou")}
    audited = {json.loads(e.detail["responseElements"])["InvocationId"] for e in tat.audit.events()}
    assert audited
    assert audited < invocation_ids  # some runs have no audit event


def test_tat_audit_record_parses_objects_and_wrapped_responses():
    detail = {
        "userIdentity": {"userName": "ops"},
        "responseElements": {"Response": {"InvocationId": "inv-x", "RequestId": "r"}},
        "requestParameters": {"InstanceIds": ["ins-9"]},
    }
    event = {"EventId": "e", "EventTime": "1700000000", "CloudAuditEvent": json.dumps(detail)}
    record = tat_audit_record(event, "ap-guangzhou", raw=False)
    assert record["InvocationId"] == "inv-x"
    assert record["RequestedBy"] == "ops"
    assert record["EventTime"] == 1_700_000_000
    assert tat_audit_record({"Username": "root"}, "r", raw=False)["RequestedBy"] == "root"


# ------------------------------------------------------- the emulators, through the SDKs
def cloudtrail_client(ssm):
    import boto3
    from botocore.config import Config

    from tests.emulators import EMULATOR_AWS_ACCESS_KEY_ID, EMULATOR_AWS_SECRET_ACCESS_KEY

    return boto3.client(
        "cloudtrail",
        region_name="us-east-1",
        endpoint_url=ssm.url,
        aws_access_key_id=EMULATOR_AWS_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_AWS_SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_cloudtrail_emulator_validates_as_the_reference_says(ssm):
    from botocore.exceptions import ClientError

    client = cloudtrail_client(ssm)
    start = now() - dt.timedelta(days=1)
    for kwargs, code in [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "SendCommand"},
                    {"AttributeKey": "Username", "AttributeValue": "alice"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        (
            {"StartTime": start, "EndTime": start - dt.timedelta(hours=1)},
            "InvalidTimeRangeException",
        ),
        ({"StartTime": now() - dt.timedelta(days=91)}, "InvalidTimeRangeException"),
        ({"NextToken": "bm90IGEgdG9rZW4="}, "InvalidNextTokenException"),
    ]:
        with pytest.raises(ClientError) as caught:
            client.lookup_events(**kwargs)
        assert caught.value.response["Error"]["Code"] == code, kwargs


def test_cloudtrail_emulator_filters_by_attribute_and_time(ssm):
    client = cloudtrail_client(ssm)
    base = now() - dt.timedelta(hours=5)
    inside = ssm.trail.add_event("us-east-1", event_name="SendCommand", event_time=base)
    ssm.trail.add_event("us-east-1", event_name="SendCommand", event_time=base, username="bob")
    ssm.trail.add_event(
        "us-east-1", event_name="SendCommand", event_time=base - dt.timedelta(hours=2)
    )
    ssm.trail.add_event("eu-west-1", event_name="SendCommand", event_time=base)

    answer = client.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}],
        StartTime=base - dt.timedelta(minutes=1),
        EndTime=base + dt.timedelta(minutes=1),
    )

    assert [e["EventId"] for e in answer["Events"]] == [inside.event_id]


def test_cloudaudit_emulator_validates_as_the_reference_says(tat):
    from tencentcloud.cloudaudit.v20190319 import cloudaudit_client, models
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    from tests.emulators import EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY

    profile = ClientProfile(
        httpProfile=HttpProfile(endpoint=tat.url.split("//")[1], protocol="http")
    )
    client = cloudaudit_client.CloudauditClient(
        credential.Credential(EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY),
        "ap-guangzhou",
        profile,
    )
    end = int(now().timestamp())
    for params, code in [
        ({"StartTime": end - 100, "EndTime": end, "MaxResults": 51}, "MaxResult"),
        ({"StartTime": end, "EndTime": end - 100}, "Time"),
        ({"StartTime": end - 31 * 86_400, "EndTime": end}, "Time"),
        ({"EndTime": end}, "MissingParameter"),
    ]:
        request = models.LookUpEventsRequest()
        request.from_json_string(json.dumps(params))
        with pytest.raises(TencentCloudSDKException) as caught:
            client.LookUpEvents(request)
        assert code in caught.value.code, params
    invoke_event(tat, now() - dt.timedelta(hours=1), "inv-sdk00001")
    request = models.LookUpEventsRequest()
    request.from_json_string(json.dumps({"StartTime": end - 7200, "EndTime": end}))
    answer = client.LookUpEvents(request)
    assert [e.EventName for e in answer.Events] == ["InvokeCommand"]
    assert answer.ListOver is True


def test_first_sync_starts_inside_the_retention_whatever_start_date_says(tmp_path, ssm):
    old = (now() - dt.timedelta(days=200)).isoformat().replace("+00:00", "Z")
    command = ssm.add_command("us-east-1", RequestedDateTime=now() - dt.timedelta(days=2))
    ssm.trail.add_send_command_event("us-east-1", command)

    run = run_tap(tmp_path, aws_config(ssm, aws_regions=["us-east-1"], start_date=old))

    # The emulator refuses a StartTime older than 90 days, as the tap must not send one.
    assert run.returncode == 0, run.stderr
    assert len(run.records[STREAM]) == 1


def test_a_refused_permission_is_one_line_naming_it(tmp_path, ssm):
    ssm.inject(Fault("auth", count=5, action="LookupEvents"))

    run = run_tap(tmp_path, aws_config(ssm, aws_regions=["us-east-1"]))

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "LookupEvents" in last
    assert "cloudtrail:LookupEvents" in last
    assert len(ssm.calls_for("LookupEvents")) == 1  # not retried
    # The command streams before it were synced and their state written.
    assert "ssm_commands" in run.final_state["bookmarks"]


def test_cloudaudit_windows_cover_the_query_without_gaps():
    from tap_cloudcommands.tap import TapCloudCommands
    from tap_cloudcommands.tencent.audit import TATAuditEventsStream

    tap = TapCloudCommands(config={}, validate_config=False)
    stream = tap.streams[TAT_STREAM]
    assert isinstance(stream, TATAuditEventsStream)
    start = dt.datetime(2026, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    end = start + dt.timedelta(days=89, hours=3)
    windows = stream.windows(start, end)
    assert windows[0][0] <= start.timestamp()
    assert windows[-1][1] >= end.timestamp()
    assert all(b[0] == a[1] for a, b in itertools.pairwise(windows))
    assert all(0 < high - low <= 7 * 86_400 for low, high in windows)


def test_tat_calls_keep_to_the_rate_setting(tmp_path, tat):
    invoke_event(tat, now() - dt.timedelta(days=30), "inv-rate0001")
    tat.rate_limit_per_second = 5
    config = tencent_config(tat, cloudaudit_requests_per_second=5, tencent_max_attempts=1)
    catalog = catalog_selecting(tmp_path, config, TAT_STREAM)

    run = run_tap(tmp_path, config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert [r["InvocationId"] for r in run.records[TAT_STREAM]] == ["inv-rate0001"]
    # 4 event names x 13 windows of 7 days over the 90 days kept.
    assert len(audit_lookups(tat)) == 52
    assert tat.max_requests_per_second("ap-guangzhou", "LookUpEvents") <= 5


def test_tat_refused_permission_is_one_line_naming_it(tmp_path, tat):
    tat.inject(Fault("auth", count=5, action="LookUpEvents"))

    run = run_tap(tmp_path, tencent_config(tat))

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "LookUpEvents" in last
    assert "cloudaudit:LookUpEvents" in last
    assert len(tat.calls_for("LookUpEvents")) == 1
