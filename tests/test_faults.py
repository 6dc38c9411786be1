"""Fault injection: for each scenario, what a user's warehouse ends up with (the union of
every run's records) against the emulators' truth. Each test adds a row to the table the
run prints at its end (scenario, runs, records expected, records delivered, result).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time

import pytest

from tap_cloudcommands.timestamps import format_timestamp, parse_timestamp
from tests.conftest import emulator_config
from tests.emulators import Fault, populate_ssm, populate_tat
from tests.tap_runner import run_tap, run_tap_killed_after

UTC = dt.UTC
AWS_REGIONS = ["us-east-1", "eu-west-1"]
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]


def an_hour_ago_ms() -> dt.datetime:
    moment = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def fill(ssm, tat, *, ssm_per_region=0, tat_per_region=0, regions=None):
    """Commands spread over the last days, all in a final status."""
    base = dt.datetime.now(UTC) - dt.timedelta(days=6)
    for index, region in enumerate(regions or AWS_REGIONS):
        for i in range(ssm_per_region):
            ssm.add_command(
                region,
                RequestedDateTime=base + dt.timedelta(minutes=7 * i + index),
                Status="Success",
            )
    for index, region in enumerate(regions or TENCENT_REGIONS):
        for i in range(tat_per_region):
            moment = base + dt.timedelta(minutes=11 * i + index)
            tat.add_command(region, CreatedTime=moment, UpdatedTime=moment)


def truth(ssm=None, tat=None):
    keys = set()
    if ssm is not None:
        for region in [*AWS_REGIONS, "ap-southeast-1"]:
            keys |= {("ssm_commands", region, c["CommandId"]) for c in ssm.commands(region)}
    if tat is not None:
        for region in TENCENT_REGIONS:
            keys |= {("tat_commands", region, c["CommandId"]) for c in tat.commands(region)}
    return keys


# The API's own key fields of each stream (Region aside), joined by "/".
RECORD_KEYS = {
    "ssm_commands": ("CommandId",),
    "ssm_command_invocations": ("CommandId", "InstanceId"),
    "tat_commands": ("CommandId",),
    "tat_invocations": ("InvocationId",),
    "tat_invocation_tasks": ("InvocationTaskId",),
}


def record_key(stream, record):
    return (stream, record["Region"], "/".join(record[k] for k in RECORD_KEYS[stream]))


def history_truth(ssm, tat):
    keys = set()
    for region in AWS_REGIONS:
        for item in ssm.invocations(region):
            keys.add(record_key("ssm_command_invocations", {"Region": region, **item}))
    for region in TENCENT_REGIONS:
        for item in tat.invocations(region):
            keys.add(record_key("tat_invocations", {"Region": region, **item}))
        for item in tat.invocation_tasks(region):
            keys.add(record_key("tat_invocation_tasks", {"Region": region, **item}))
    return keys


def delivered(*runs):
    return {
        record_key(m["stream"], m["record"])
        for run in runs
        for m in run.messages
        if m["type"] == "RECORD"
    }


def check_union(report, scenario, runs, expected_keys, *, ok=True):
    got = delivered(*runs) & expected_keys
    report(
        scenario,
        runs=len(runs),
        expected=len(expected_keys),
        delivered=len(got),
        ok=ok and got == expected_keys,
    )
    assert got == expected_keys
    assert ok


def test_throttling_storm_of_30_percent_delivers_everything(tmp_path, ssm, tat, report):
    fill(ssm, tat, ssm_per_region=260, tat_per_region=430)
    ssm_storm = ssm.inject_ratio(Fault("throttle", action="ListCommands"), 0.3, seed=7)
    tat_storm = tat.inject_ratio(Fault("throttle", action="DescribeCommands"), 0.3, seed=11)
    config = emulator_config(ssm, tat) | {"aws_max_attempts": 10, "tencent_max_attempts": 10}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert ssm_storm.hits > 0 and tat_storm.hits > 0
    check_union(report, "throttling storm, 30% of calls (both clouds)", [run], truth(ssm, tat))


def test_throttling_storm_on_execution_history_delivers_everything(tmp_path, ssm, tat, report):
    moment = dt.datetime.now(UTC)
    populate_ssm(ssm, AWS_REGIONS, 40, now=moment)
    populate_tat(tat, TENCENT_REGIONS, 60, now=moment)
    storms = [
        ssm.inject_ratio(Fault("throttle", action="ListCommandInvocations"), 0.3, seed=3),
        tat.inject_ratio(Fault("throttle", action="DescribeInvocations"), 0.3, seed=5),
        tat.inject_ratio(Fault("throttle", action="DescribeInvocationTasks"), 0.3, seed=9),
    ]
    config = emulator_config(ssm, tat) | {
        "aws_max_attempts": 10,
        "tencent_max_attempts": 10,
        "ssm_page_size": 10,
        "tat_page_size": 10,
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert all(storm.hits > 0 for storm in storms)
    check_union(
        report,
        "throttling storm, 30% of execution-history calls (both clouds, 10 a page)",
        [run],
        history_truth(ssm, tat),
    )


@pytest.mark.parametrize("cloud", ["aws", "tencent"])
def test_throttling_that_never_stops_fails_in_bounded_time_and_keeps_state(
    tmp_path, ssm, tat, report, cloud
):
    fill(ssm, tat, ssm_per_region=10, tat_per_region=10)
    if cloud == "aws":
        ssm.inject(Fault("throttle", count=10_000, action="ListCommands"))
        config = emulator_config(ssm, None) | {"aws_max_attempts": 4}
        expected, stream = (
            r"AWS ListCommands in region (us-east-1|eu-west-1) failed: ThrottlingException",
            "ssm_commands",
        )
        calls = lambda region: ssm.calls_for("ListCommands", region)  # noqa: E731
        key = "RequestedDateTime"
    else:
        tat.inject(Fault("throttle", count=10_000, action="DescribeCommands"))
        config = emulator_config(None, tat) | {"tencent_max_attempts": 4}
        expected = (
            r"Tencent Cloud DescribeCommands in region (ap-guangzhou|ap-singapore) failed: "
            "RequestLimitExceeded"
        )
        stream = "tat_commands"
        calls = lambda region: tat.calls_for("DescribeCommands", region)  # noqa: E731
        key = "UpdatedTime"
    bookmark = format_timestamp(dt.datetime.now(UTC) - dt.timedelta(days=30))
    state = {
        "bookmarks": {
            stream: {
                "partitions": [
                    {
                        "context": {"Region": r},
                        "replication_key": key,
                        "replication_key_value": bookmark,
                    }
                    for r in (AWS_REGIONS if cloud == "aws" else TENCENT_REGIONS)
                ]
            }
        }
    }

    started = time.monotonic()
    run = run_tap(tmp_path, config, state=state)
    elapsed = time.monotonic() - started

    last = run.stderr.strip().splitlines()[-1]
    kept = all(
        p["replication_key_value"] == bookmark
        for s in run.states
        for p in s["bookmarks"][stream]["partitions"]
    )
    ok = run.returncode == 1 and re.match(f"tap-cloudcommands: error: {expected}", last)
    # Regions are read at the same time: the first region to fail (the one the error
    # names) fails after its 4 attempts, which stops the others; none makes more than 4.
    regions = AWS_REGIONS if cloud == "aws" else TENCENT_REGIONS
    attempts = [len(calls(region)) for region in regions]
    ok = ok and max(attempts) == 4 and elapsed < 60 and kept
    report(
        f"throttling that never stops ({cloud}): exit 1 after 4 attempts in {elapsed:.0f}s, "
        "state kept",
        runs=1,
        expected=0,
        delivered=len(delivered(run)),
        ok=ok,
    )
    assert run.returncode == 1
    assert re.match(f"tap-cloudcommands: error: {expected}", last), last
    assert max(attempts) == 4, attempts
    assert elapsed < 60
    assert kept


NETWORK_FAULTS = {
    "connection reset": Fault("drop", count=2),
    "HTTP 500": Fault("server_error", status=500, count=2),
    "HTTP 503": Fault("server_error", status=503, count=2),
    "truncated JSON": Fault("malformed", count=2),
    "timeout (answer after 3 s, timeout 1 s)": Fault("slow", delay=3.0, count=2),
}


@pytest.mark.parametrize("cloud", ["aws", "tencent"])
@pytest.mark.parametrize("name", list(NETWORK_FAULTS))
def test_network_faults_are_retried(tmp_path, ssm, tat, report, cloud, name):
    fault = NETWORK_FAULTS[name]
    fill(
        ssm,
        tat,
        ssm_per_region=120,
        tat_per_region=250,
        regions=["us-east-1"] if cloud == "aws" else ["ap-guangzhou"],
    )
    emulator = ssm if cloud == "aws" else tat
    action = "ListCommands" if cloud == "aws" else "DescribeCommands"
    emulator.inject(
        Fault(fault.kind, count=fault.count, status=fault.status, delay=fault.delay, action=action)
    )
    config = (
        emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}
        if cloud == "aws"
        else emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}
    ) | {"request_timeout_seconds": 1, "aws_max_attempts": 5, "tencent_max_attempts": 5}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr[-3000:]
    # A slow answer is logged once the emulator has finished waiting, after the tap gave up.
    deadline = time.monotonic() + fault.delay + 2
    while len(emulator.calls_for(action)) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(emulator.calls_for(action)) == 3 + 2  # three pages, two faulty answers
    check_union(
        report,
        f"{name}, twice ({cloud})",
        [run],
        truth(ssm if cloud == "aws" else None, tat if cloud == "tencent" else None),
    )


@pytest.mark.parametrize(
    ("cloud", "fault", "code"),
    [
        # On the data calls: the account's STS GetCallerIdentity comes first and works.
        (
            "aws",
            Fault("server_error", status=503, count=10_000, action="ListCommands"),
            "ServiceUnavailable",
        ),
        ("aws", Fault("drop", count=10_000, action="ListCommands"), "ConnectionClosedError"),
        (
            "tencent",
            Fault("server_error", status=503, count=10_000, action="DescribeCommands"),
            "ServerNetworkError",
        ),
        (
            "tencent",
            Fault("malformed", count=10_000, action="DescribeCommands"),
            "MalformedResponse",
        ),
    ],
)
def test_network_faults_that_persist_name_cloud_region_and_operation(
    tmp_path, ssm, tat, report, cloud, fault, code
):
    fill(ssm, tat, ssm_per_region=3, tat_per_region=3)
    emulator = ssm if cloud == "aws" else tat
    emulator.inject(fault)
    config = (emulator_config(ssm, None) if cloud == "aws" else emulator_config(None, tat)) | {
        "aws_max_attempts": 3,
        "tencent_max_attempts": 3,
    }
    # Streams sync in the tap's order: ssm_commands first. Regions are read at the same
    # time: the error names the first to fail.
    where = (
        "AWS ListCommands in region (us-east-1|eu-west-1)"
        if cloud == "aws"
        else "Tencent Cloud DescribeCommands in region (ap-guangzhou|ap-singapore)"
    )

    run = run_tap(tmp_path, config)

    last = run.stderr.strip().splitlines()[-1]
    ok = run.returncode == 1 and re.search(f"{where} failed: {code}", last) is not None
    report(
        f"persistent {fault.kind} {fault.status if fault.kind == 'server_error' else ''} "
        f"({cloud}): one-line error",
        runs=1,
        expected=0,
        delivered=0,
        ok=ok,
    )
    assert run.returncode == 1
    assert re.search(f"{where} failed: {code}", last), last


def bookmark_never_passes_an_unemitted_record(runs, emulator_truth):
    """Every STATE: each region's bookmark lies at or below every record not yet emitted."""
    emitted: set[tuple[str, str, str]] = set()
    for run in runs:
        for message in run.messages:
            if message["type"] == "RECORD":
                r = message["record"]
                emitted.add((message["stream"], r["Region"], r["CommandId"]))
            elif message["type"] == "STATE":
                for stream, stream_state in message["value"]["bookmarks"].items():
                    for partition in stream_state.get("partitions", []):
                        value = partition.get("replication_key_value")
                        if value is None:
                            continue
                        region = partition["context"]["Region"]
                        for (s, reg, cid), moment in emulator_truth.items():
                            if s == stream and reg == region and (s, reg, cid) not in emitted:
                                assert moment >= parse_timestamp(value), (
                                    f"bookmark {value} of {stream}/{region} passed {cid}"
                                )


def test_killed_mid_sync_then_resumed_from_the_last_state(tmp_path, ssm, tat, report):
    fill(ssm, tat, ssm_per_region=150, tat_per_region=160)
    config = emulator_config(ssm, tat)
    moments = {
        ("ssm_commands", r, c["CommandId"]): c["RequestedDateTime"]
        for r in AWS_REGIONS
        for c in ssm.commands(r)
    }
    moments |= {
        ("tat_commands", r, c["CommandId"]): c["UpdatedTime"]
        for r in TENCENT_REGIONS
        for c in tat.commands(r)
    }

    first = run_tap_killed_after(tmp_path, config, 220)  # inside eu-west-1
    second = run_tap_killed_after(tmp_path, config, 230, state=first.final_state)  # in TAT
    third = run_tap(tmp_path, config, state=second.final_state)

    assert first.returncode == -9 and second.returncode == -9
    assert third.returncode == 0, third.stderr[-3000:]
    bookmark_never_passes_an_unemitted_record([first, second, third], moments)
    check_union(
        report,
        "SIGKILL after 220 records, again after 230, then resumed",
        [first, second, third],
        truth(ssm, tat),
    )


def test_lists_that_change_during_the_scan_lose_nothing(tmp_path, ssm, tat, report):
    fill(ssm, tat, ssm_per_region=130, tat_per_region=260)

    def churn(call):
        if call.action == "ListCommands":
            ssm.add_command(call.region, RequestedDateTime=dt.datetime.now(UTC), Status="Pending")
        elif call.action == "DescribeCommands":
            newest = max(tat.commands(call.region), key=lambda c: c["CreatedTime"])
            tat.delete_command(call.region, newest["CommandId"])
            # New commands are stamped by the cloud's clock as they are created.
            moment = dt.datetime.now(UTC)
            tat.add_command(call.region, CreatedTime=moment, UpdatedTime=moment)
            tat.add_command(call.region, CreatedTime=moment, UpdatedTime=moment)

    ssm.after_response = churn
    tat.after_response = churn
    config = emulator_config(ssm, tat)
    first = run_tap(tmp_path, config)
    ssm.after_response = tat.after_response = None
    second = run_tap(tmp_path, config, state=first.final_state)

    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    check_union(
        report,
        "inserts and deletes between pages (TAT), new commands mid-scan (SSM)",
        [first, second],
        truth(ssm, tat),
    )


def test_late_status_change_is_delivered(tmp_path, ssm, report):
    fill(ssm, None, ssm_per_region=40)
    moment = an_hour_ago_ms() - dt.timedelta(hours=5)
    running = [
        ssm.add_command(r, RequestedDateTime=moment, Status="InProgress")["CommandId"]
        for r in AWS_REGIONS
    ]
    config = emulator_config(ssm, None)
    first = run_tap(tmp_path, config)
    for region, command_id in zip(AWS_REGIONS, running, strict=True):
        ssm.update_command(region, command_id, Status="Success")
    second = run_tap(tmp_path, config, state=first.final_state)

    latest = {}
    for run in (first, second):
        for record in run.records.get("ssm_commands", []):
            latest[record["CommandId"]] = record["Status"]
    finished = sum(latest.get(c) == "Success" for c in running)
    report(
        "late status change: InProgress at sync 1, Success at sync 2",
        runs=2,
        expected=len(running),
        delivered=finished,
        ok=finished == len(running),
    )
    assert finished == len(running)
    check_union(report, "late status change: every command", [first, second], truth(ssm))


def test_odd_timestamps_and_types_still_match_the_schema(tmp_path, ssm, tat, report):
    plus8 = dt.timezone(dt.timedelta(hours=8))
    base = dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    tat_cases = {
        "z": ({"UpdatedTime": "2026-11-01T12:00:00Z"}, base),
        "utc": ({"UpdatedTime": "2026-11-01T12:00:00+00:00"}, base),
        "plus8": ({"UpdatedTime": "2026-11-01T20:00:00+08:00"}, base),
        "fraction": (
            {"UpdatedTime": "2026-11-01T12:00:00.250Z"},
            base + dt.timedelta(milliseconds=250),
        ),
        "types": (
            {
                "UpdatedTime": base.astimezone(plus8),
                "Timeout": "600",
                "EnableParameter": "true",
                "Tags": "not-a-list",
                "Scenes": None,
                "DefaultParameterConfs": [{"ParameterName": 1}],
            },
            base,
        ),
    }
    ids = {}
    for name, (fields, _) in tat_cases.items():
        ids[name] = tat.add_command("ap-guangzhou", CreatedTime=base, **fields)["CommandId"]
    odd_ssm = ssm.add_command(
        "us-east-1",
        RequestedDateTime=base,
        TargetCount="5",
        ErrorCount=None,
        Comment=None,
        InstanceIds=None,
        CloudWatchOutputConfig={"CloudWatchOutputEnabled": "false"},
    )
    config = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1"],
        "tencent_regions": ["ap-guangzhou"],
    }

    run = run_tap(tmp_path, config)
    catalog = json.loads(run_tap(tmp_path, config, args=["--discover"]).stdout)

    assert run.returncode == 0, run.stderr[-3000:]
    import jsonschema

    schemas = {s["tap_stream_id"]: s["schema"] for s in catalog["streams"]}
    invalid = []
    for message in run.messages:
        if message["type"] == "RECORD":
            validator = jsonschema.Draft7Validator(schemas[message["stream"]])
            invalid += [e.message for e in validator.iter_errors(message["record"])]
            for field in ("RequestedDateTime", "ExpiresAfter", "CreatedTime", "UpdatedTime"):
                if message["record"].get(field) is not None:
                    assert dt.datetime.fromisoformat(message["record"][field]).tzinfo == UTC
    tat_records = {r["CommandId"]: r for r in run.records["tat_commands"]}
    instants_right = all(
        parse_timestamp(tat_records[ids[name]]["UpdatedTime"]) == instant
        for name, (_, instant) in tat_cases.items()
    )
    [ssm_record] = run.records["ssm_commands"]
    report(
        "timestamps Z/+00:00/+08:00/fractional, fields null/missing/wrong type",
        runs=1,
        expected=len(tat_cases) + 1,
        delivered=len(tat_records) + 1,
        ok=not invalid and instants_right and len(tat_records) == len(tat_cases),
    )
    assert invalid == []
    assert instants_right
    assert tat_records[ids["types"]]["Timeout"] == 600
    assert tat_records[ids["types"]]["EnableParameter"] is True
    assert tat_records[ids["types"]]["Tags"] is None
    assert ssm_record["CommandId"] == odd_ssm["CommandId"]
    assert ssm_record["TargetCount"] == 5
    # A field the API leaves out stays out (a null column), never a made-up value.
    assert ssm_record.get("InstanceIds") is None
    assert ssm_record.get("ErrorCount") is None
    assert ssm_record["CloudWatchOutputConfig"] == {"CloudWatchOutputEnabled": False}


SECRETS = {
    "aws_access_key_id": "AKIAWRONGWRONGWRONG1",
    "aws_secret_access_key": "aws-s3cr3t-value-0001",
    "aws_session_token": "aws-session-token-lapsed-0001",
    "tencent_secret_key": "tencent-wrong-s3cr3t",
    "tencent_token": "tencent-token-lapsed-0001",
}
AUTH_CASES = {
    "wrong secret key (TAT verifies the signature)": (
        "tencent",
        {"tencent_secret_key": SECRETS["tencent_secret_key"]},
        "AuthFailure.SignatureFailure",
    ),
    "expired token (TAT)": (
        "tencent",
        {"tencent_token": SECRETS["tencent_token"]},
        "AuthFailure.TokenFailure",
    ),
    # The first AWS call is STS GetCallerIdentity (which account): STS's own codes.
    "unknown access key (AWS)": (
        "aws",
        {
            "aws_access_key_id": SECRETS["aws_access_key_id"],
            "aws_secret_access_key": SECRETS["aws_secret_access_key"],
        },
        "InvalidClientTokenId",
    ),
    "expired session token (AWS)": (
        "aws",
        {"aws_session_token": SECRETS["aws_session_token"]},
        "ExpiredToken",
    ),
    "assume-role denied (AWS)": (
        "aws",
        {
            "aws_assume_role_arn": "arn:aws:iam::123456789012:role/not-yours",
            "aws_assume_role_external_id": "external-id-s3cr3t",
        },
        "AccessDenied",
    ),
}


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_auth_failures_are_clear_not_retried_and_print_no_secret(
    tmp_path, ssm, tat, report, case, log_level
):
    cloud, override, code = AUTH_CASES[case]
    fill(ssm, tat, ssm_per_region=2, tat_per_region=2)
    ssm.valid_access_keys = {"AKIAEMULATOR00000000"}
    ssm.expired_session_tokens = {SECRETS["aws_session_token"]}
    ssm.assume_role_denied = True
    tat.tokens = set()  # any token is unknown, as a lapsed one is
    base = emulator_config(ssm, None) if cloud == "aws" else emulator_config(None, tat)
    regions = (
        {"aws_regions": ["us-east-1"], "tencent_regions": []}
        if cloud == "aws"
        else {"aws_regions": [], "tencent_regions": ["ap-guangzhou"]}
    )
    config = base | regions | override
    if cloud == "tencent" and "tencent_token" not in override:
        tat.tokens = None
    env = {"LOGLEVEL": log_level, "AWS_ENDPOINT_URL_STS": ssm.url}

    run = run_tap(tmp_path, config, env=env)

    last = run.stderr.strip().splitlines()[-1]
    calls = ssm.calls if cloud == "aws" else tat.calls
    hidden = [
        v
        for v in (
            *override.values(),
            config.get("tencent_secret_id"),
            config.get("aws_secret_access_key"),
        )
        if v and len(v) > 8 and not v.startswith("arn:") and v != "AKIAEMULATOR00000000"
    ]
    # The emulators' public fixed key ids are printed by nothing either.
    leaked = [v for v in (*hidden, "AKIAEMULATOR00000000") if v in run.stdout + run.stderr]
    ok = run.returncode == 1 and code in last and len(calls) == 1 and not leaked
    report(
        f"auth: {case}, log level {log_level}: one line, 1 call, no secret printed",
        runs=1,
        expected=0,
        delivered=0,
        ok=ok,
    )
    assert run.returncode == 1
    assert code in last and ("us-east-1" in last or "ap-guangzhou" in last), last
    assert len(calls) == 1, [c.action for c in calls]
    assert leaked == []


BAD_INPUTS = {
    "setting of the wrong type": ({"config": {"aws_max_attempts": "three"}}, "aws_max_attempts"),
    "unknown setting": (
        {"config": {"aws_region": "us-east-1"}},
        "unknown setting 'aws_region': did you mean 'aws_regions'?",
    ),
    "start_date in the future": (
        {"config": {"start_date": "2999-01-01T00:00:00Z"}},
        "in the future",
    ),
    "malformed JSON config": ({"raw_config": '{"aws_regions": ["us-east-1",]'}, "--config"),
    "malformed JSON state": ({"raw_state": '{"bookmarks": '}, "--state"),
    "state from another tap": (
        {"state": {"bookmarks": {"issues": {"since": "2024-01-01"}}}},
        "another tap's state",
    ),
    "state with a bookmark that is no timestamp": (
        {
            "state": {
                "bookmarks": {
                    "tat_commands": {
                        "partitions": [
                            {
                                "context": {"Region": "ap-guangzhou"},
                                "replication_key": "UpdatedTime",
                                "replication_key_value": "yesterday",
                            }
                        ]
                    }
                }
            }
        },
        "replication_key_value 'yesterday' is not a timestamp",
    ),
    "unknown stream in the catalog": (
        {"catalog_stream": "ssm_documents"},
        "catalog names streams this tap does not have",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_settings_state_and_catalog_are_one_clear_line(tmp_path, ssm, tat, report, case):
    spec, expected = BAD_INPUTS[case]
    fill(ssm, tat, ssm_per_region=2, tat_per_region=2)
    config = emulator_config(ssm, tat) | spec.get("config", {})
    args: list[str] = []
    state = spec.get("state")
    catalog = None
    if "raw_config" in spec or "raw_state" in spec:
        for name, raw in (("config", spec.get("raw_config")), ("state", spec.get("raw_state"))):
            if raw is not None:
                (tmp_path / f"{name}.raw.json").write_text(raw)
                args += [f"--{name}", str(tmp_path / f"{name}.raw.json")]
    if "catalog_stream" in spec:
        catalog = json.loads(run_tap(tmp_path, config, args=["--discover"]).stdout)
        renamed = dict(
            catalog["streams"][0],
            tap_stream_id=spec["catalog_stream"],
            stream=spec["catalog_stream"],
        )
        catalog["streams"].append(renamed)

    run = run_tap(tmp_path, config, state=state, catalog=catalog, args=args)

    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
    ok = (
        run.returncode != 0
        and any(expected in line for line in errors)
        and not run.states
        and not run.records
        and not ssm.calls
        and not tat.calls
    )
    report(
        f"bad input: {case}: one line, exit {run.returncode}, no state written",
        runs=1,
        expected=0,
        delivered=0,
        ok=ok,
    )
    assert run.returncode != 0
    assert any(expected in line for line in errors), run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.states == [] and run.records == {}
    assert ssm.calls == [] and tat.calls == []


def test_a_failing_region_stops_every_region_of_the_stream_at_once(tmp_path, tat, report):
    # The first region is large and slow to read; the last fails on its third page. Its
    # failure must stop every region's fetching (in flight, read ahead and queued) at
    # once, not when the sync reaches the failed region.
    regions = ["ap-guangzhou", "ap-singapore", "ap-tokyo"]
    base = dt.datetime.now(UTC) - dt.timedelta(days=6)
    for index, region in enumerate(regions):
        moments = [base + dt.timedelta(seconds=30 * i + index) for i in range(3000)]
        tat.add_commands(region, [{"CreatedTime": m, "UpdatedTime": m} for m in moments])
    tat.latency_seconds = 0.05
    failed_at: list[float] = []

    def fail_third_tokyo_page(call):
        tokyo = tat.calls_for("DescribeCommands", "ap-tokyo")
        if call.region == "ap-tokyo" and len(tokyo) == 3:
            tat.inject(Fault("auth", action="DescribeCommands", region="ap-tokyo"))
        if call.error_code and call.error_code.startswith("AuthFailure"):
            failed_at.append(call.at)

    tat.after_response = fail_third_tokyo_page
    config = emulator_config(None, tat) | {"tencent_regions": regions}

    run = run_tap(tmp_path, config)
    time.sleep(1.0)  # anything still in flight has arrived by now

    assert run.returncode == 1
    assert "DescribeCommands in region ap-tokyo failed: AuthFailure" in run.stderr
    assert failed_at, "the fault was never answered"
    # The failed call was answered 50 ms after it arrived; calls that arrive later than
    # that plus the other pages' own 50 ms could only be new ones.
    late = [c for c in tat.calls_for("DescribeCommands") if c.at > failed_at[0] + 0.2]
    total = len(tat.calls_for("DescribeCommands"))
    full_sync = 3 * math.ceil(3000 / 99)
    report(
        f"a region fails: all regions stop ({total} of {full_sync} calls, {len(late)} late)",
        runs=1,
        expected=0,
        delivered=0,
        ok=not late,
    )
    assert not late, [(c.region, c.params.get("Offset")) for c in late]
    # About half of a full sync's calls were made before the failure (45 of 93 on an idle
    # machine; a loaded one reads a little further before Tokyo's third page fails).
    assert total < full_sync * 2 / 3
