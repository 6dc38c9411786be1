"""Execution history in the emulators, proven with the real boto3 and Tencent SDK clients.

SSM ListCommandInvocations; TAT DescribeInvocations and DescribeInvocationTasks.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.tat.v20201028 import models as tat_models

from tests.emulators import Fault, SSMEmulator, TATEmulator, populate_ssm, populate_tat
from tests.emulators.ssm_invocations import (
    INVOCATION_FIELDS,
    MAX_PLUGIN_OUTPUT,
    PLUGIN_FIELDS,
    command_counts,
)
from tests.emulators.tat_invocations import (
    COMMAND_DOCUMENT_FIELDS,
    MAX_OUTPUT_BYTES,
    TASK_FIELDS,
    TASK_RESULT_FIELDS,
    UNFINISHED_TASK_STATUSES,
)
from tests.emulators.tat_invocations import INVOCATION_FIELDS as TAT_INVOCATION_FIELDS
from tests.test_emulators import (
    REPO_ROOT,
    SHARED_LOADER,
    error_code,
    get_stats,
    make_ssm_client,
    make_tat_client,
)

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
US, EU = "us-east-1", "eu-west-1"
GUANGZHOU, SINGAPORE = "ap-guangzhou", "ap-singapore"
INSTANCES = ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"]
pytestmark = pytest.mark.usefixtures("isolated_sdk_environment")


def all_invocations(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every CommandInvocation ListCommandInvocations returns, following NextToken."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.list_command_invocations(**params)
        found += page["CommandInvocations"]
        if "NextToken" not in page:
            return found
        params["NextToken"] = page["NextToken"]


def keys(invocations: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["CommandId"], i["InstanceId"]) for i in invocations]


def tat_call(client: Any, action: str, **params: Any) -> dict[str, Any]:
    return dict(client.call_json(action, params)["Response"])


# ----------------------------------------------------------------- SSM: paging
def test_ssm_invocations_page_with_tokens_and_paginator(ssm_emulator: SSMEmulator) -> None:
    populate_ssm(ssm_emulator, [US, EU], 40, now=NOW)
    client = make_ssm_client(ssm_emulator)
    stored = ssm_emulator.invocations(US)
    assert len(stored) > 40

    listed = all_invocations(client, MaxResults=7)
    assert sorted(keys(listed)) == sorted(keys(stored))
    times = [i["RequestedDateTime"] for i in listed]
    assert times == sorted(times, reverse=True), "newest first, as ListCommands"
    calls = ssm_emulator.calls_for("ListCommandInvocations", US)
    assert len(calls) == -(-len(stored) // 7)
    assert {len(p["CommandInvocations"]) for p in [client.list_command_invocations()]} == {50}

    paginator = client.get_paginator("list_command_invocations")
    paged = [
        i
        for page in paginator.paginate(PaginationConfig={"PageSize": 13})
        for i in page["CommandInvocations"]
    ]
    assert keys(paged) == keys(listed)
    eu = make_ssm_client(ssm_emulator, EU)
    assert sorted(keys(all_invocations(eu))) == sorted(keys(ssm_emulator.invocations(EU)))

    ssm_emulator.order = "oldest_first"
    assert keys(all_invocations(client, MaxResults=50)) == keys(listed)[::-1]

    # Tokens are bound to their action and query, as with ListCommands.
    commands_token = client.list_commands(MaxResults=1)["NextToken"]
    invocations_token = client.list_command_invocations(MaxResults=1)["NextToken"]
    for bad in (commands_token, "garbage"):
        with pytest.raises(ClientError) as raised:
            client.list_command_invocations(NextToken=bad)
        assert error_code(raised.value) == "InvalidNextToken"
    with pytest.raises(ClientError) as other_query:
        client.list_command_invocations(NextToken=invocations_token, InstanceId=INSTANCES[0])
    assert error_code(other_query.value) == "InvalidNextToken"
    # Details does not change the matches, so it may change between pages.
    second = client.list_command_invocations(
        MaxResults=1, NextToken=invocations_token, Details=True
    )
    assert keys(second["CommandInvocations"]) == [keys(all_invocations(client))[1]]


def test_ssm_invocations_parameter_validation(ssm_emulator: SSMEmulator) -> None:
    client = make_ssm_client(ssm_emulator)
    unvalidated = make_ssm_client(ssm_emulator, config=Config(parameter_validation=False))
    cases = [
        (client, {"MaxResults": 51}, "ValidationException"),
        (unvalidated, {"MaxResults": 0}, "ValidationException"),
        (unvalidated, {"Filters": []}, "ValidationException"),
        (unvalidated, {"CommandId": "short"}, "InvalidCommandId"),
        (client, {"InstanceId": "i-bad"}, "InvalidInstanceId"),
        (client, {"Filters": [{"key": "Owner", "value": "me"}]}, "InvalidFilterKey"),
        (client, {"Filters": [{"key": "Status", "value": "Done"}]}, "InvalidFilterValue"),
        (client, {"Filters": [{"key": "InvokedAfter", "value": "never"}]}, "InvalidFilterValue"),
        (client, {"Filters": [{"key": "Status", "value": "Success"}] * 6}, "ValidationException"),
        (unvalidated, {"Details": "yes"}, "SerializationException"),
    ]
    for caller, params, code in cases:
        with pytest.raises(ClientError) as raised:
            caller.list_command_invocations(**params)
        assert error_code(raised.value) == code, params
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert {c.action for c in ssm_emulator.calls} == {"ListCommandInvocations"}


# ---------------------------------------------------------------- SSM: filters
def test_ssm_invocation_filters(ssm_emulator: SSMEmulator) -> None:
    base = datetime(2026, 10, 1, tzinfo=UTC)
    add = ssm_emulator.add_command_with_invocations
    early, _ = add(US, INSTANCES[:2], RequestedDateTime=base, DocumentName="AWS-RunPatchBaseline")
    failed, _ = add(US, INSTANCES, RequestedDateTime=base + timedelta(hours=1), Status="Failed")
    running, _ = add(
        US,
        INSTANCES[1:],
        RequestedDateTime=base + timedelta(hours=2),
        Status="InProgress",
        invocation_statuses=["Delayed", ("TimedOut", "DeliveryTimedOut")],
    )
    client = make_ssm_client(ssm_emulator)

    def listed(*filters: tuple[str, str], **params: Any) -> list[tuple[str, str]]:
        if filters:
            params["Filters"] = [{"key": k, "value": v} for k, v in filters]
        return keys(all_invocations(client, **params))

    # Ties (one command's invocations) break on (CommandId, InstanceId), reversed too.
    assert listed(CommandId=failed["CommandId"]) == [
        (failed["CommandId"], i) for i in reversed(INSTANCES)
    ]
    assert listed(InstanceId=INSTANCES[0]) == [
        (failed["CommandId"], INSTANCES[0]),
        (early["CommandId"], INSTANCES[0]),
    ]
    assert listed(("Status", "Failed")) == [(failed["CommandId"], INSTANCES[0])]
    assert listed(("Status", "Delayed")) == [(running["CommandId"], INSTANCES[1])]
    assert listed(("Status", "DeliveryTimedOut")) == [(running["CommandId"], INSTANCES[2])]
    assert listed(("Status", "TimedOut")) == [(running["CommandId"], INSTANCES[2])]
    assert listed(("ExecutionStage", "Executing")) == [(running["CommandId"], INSTANCES[1])]
    assert len(listed(("ExecutionStage", "Complete"))) == 6
    assert {c for c, _ in listed(("DocumentName", "AWS-RunPatchBaseline"))} == {early["CommandId"]}
    hour = ("InvokedAfter", "2026-10-01T01:00:00Z")
    assert {c for c, _ in listed(hour)} == {failed["CommandId"], running["CommandId"]}
    assert {c for c, _ in listed(hour, ("InvokedBefore", "2026-10-01T01:00:00Z"))} == {
        failed["CommandId"]
    }
    assert listed(CommandId=failed["CommandId"], InstanceId=INSTANCES[2]) == [
        (failed["CommandId"], INSTANCES[2])
    ]
    assert listed(CommandId="00000000-0000-4000-8000-000000000000") == []


# ---------------------------------------------------------- SSM: Details, output
def test_ssm_details_and_output_truncation(ssm_emulator: SSMEmulator) -> None:
    long_output = "".join(f"line {n:04d}\n" for n in range(400))  # 4,000 characters
    command = ssm_emulator.add_command(US, InstanceIds=[INSTANCES[0]])
    stored = ssm_emulator.add_invocation(
        US,
        CommandId=command["CommandId"],
        InstanceId=INSTANCES[0],
        CommandPlugins=[{"Output": long_output}],
    )
    assert stored["CommandPlugins"][0]["Output"] == long_output, "stored in full"
    assert stored["DocumentName"] == command["DocumentName"], "inherited from its command"
    client = make_ssm_client(ssm_emulator)

    summary = client.list_command_invocations()["CommandInvocations"][0]
    assert summary["CommandPlugins"] == []
    detailed = client.list_command_invocations(Details=True)["CommandInvocations"][0]
    plugin = detailed["CommandPlugins"][0]
    assert plugin["Output"] == long_output[:MAX_PLUGIN_OUTPUT]
    assert len(plugin["Output"]) == 2500
    assert plugin["Name"] == "aws:runShellScript"
    assert plugin["ResponseCode"] == 0
    assert client.list_command_invocations(Details=False)["CommandInvocations"][0] == summary

    # Sample data stores some outputs longer than the API returns.
    populate_ssm(ssm_emulator, [EU], 150, now=NOW)
    longest = max(
        (p["Output"] for i in ssm_emulator.invocations(EU) for p in i["CommandPlugins"]), key=len
    )
    assert len(longest) > MAX_PLUGIN_OUTPUT
    served = [
        p["Output"]
        for i in all_invocations(make_ssm_client(ssm_emulator, EU), Details=True)
        for p in i["CommandPlugins"]
    ]
    assert max(len(o) for o in served) == MAX_PLUGIN_OUTPUT
    assert longest[:MAX_PLUGIN_OUTPUT] in served


def test_ssm_every_model_member_is_served(ssm_emulator: SSMEmulator) -> None:
    model = SHARED_LOADER.load_service_model("ssm", "service-2")
    shapes = model["shapes"]
    invocation_members = list(shapes["CommandInvocation"]["members"])
    plugin_members = list(shapes["CommandPlugin"]["members"])
    assert invocation_members == list(INVOCATION_FIELDS)
    assert plugin_members == list(PLUGIN_FIELDS)

    ssm_emulator.add_command_with_invocations(US, INSTANCES[:1])
    answer = make_ssm_client(ssm_emulator).list_command_invocations(Details=True)
    invocation = answer["CommandInvocations"][0]
    assert set(invocation) == set(invocation_members)
    assert set(invocation["CommandPlugins"][0]) == set(plugin_members)
    assert invocation["RequestedDateTime"].tzinfo is not None
    assert invocation["CommandPlugins"][0]["ResponseFinishDateTime"].tzinfo is not None

    with pytest.raises(ValueError, match="unknown SSM CommandInvocation"):
        ssm_emulator.add_invocation(US, Stauts="Success")
    with pytest.raises(ValueError, match="unknown SSM CommandPlugin"):
        ssm_emulator.add_invocation(US, CommandPlugins=[{"Outptu": ""}])


# --------------------------------------------------------- SSM: test-side API
def test_ssm_command_with_invocations_and_updates(ssm_emulator: SSMEmulator) -> None:
    command, invocations = ssm_emulator.add_command_with_invocations(
        US, INSTANCES, Status="Failed", Comment="patch", ServiceRole="arn:aws:iam::1:role/r"
    )
    assert [i["Status"] for i in invocations] == ["Failed", "Success", "Success"]
    assert (command["TargetCount"], command["CompletedCount"], command["ErrorCount"]) == (3, 3, 1)
    assert command["InstanceIds"] == INSTANCES
    for invocation in invocations:
        for name in (
            "CommandId",
            "DocumentName",
            "DocumentVersion",
            "Comment",
            "RequestedDateTime",
            "ServiceRole",
            "NotificationConfig",
            "CloudWatchOutputConfig",
        ):
            assert invocation[name] == command[name], name
    assert command_counts(invocations) == {
        "TargetCount": 3,
        "CompletedCount": 3,
        "ErrorCount": 1,
        "DeliveryTimedOutCount": 0,
    }
    client = make_ssm_client(ssm_emulator)
    command_id = command["CommandId"]

    updated = ssm_emulator.update_invocation(US, command_id, INSTANCES[1], Status="Cancelled")
    assert updated["StatusDetails"] == "Cancelled"
    assert updated["CommandPlugins"][0]["Status"] == "Cancelled"
    listed = {
        i["InstanceId"]: i for i in all_invocations(client, CommandId=command_id, Details=True)
    }
    assert listed[INSTANCES[1]]["Status"] == "Cancelled"
    assert listed[INSTANCES[1]]["CommandPlugins"][0]["ResponseCode"] == -1

    ssm_emulator.delete_invocation(US, command_id, INSTANCES[2])
    assert keys(all_invocations(client, CommandId=command_id)) == [
        (command_id, INSTANCES[1]),
        (command_id, INSTANCES[0]),
    ]
    assert len(ssm_emulator.invocations(US)) == 2
    with pytest.raises(KeyError):
        ssm_emulator.delete_invocation(US, command_id, INSTANCES[2])
    with pytest.raises(ValueError, match="duplicate"):
        ssm_emulator.add_invocation(US, CommandId=command_id, InstanceId=INSTANCES[0])
    version = ssm_emulator.data_version
    ssm_emulator.add_command(US)
    assert ssm_emulator.data_version == version + 1
    assert len(ssm_emulator.invocations(US)) == 2, "add_command creates no invocations"


def test_ssm_sample_history_is_consistent() -> None:
    with SSMEmulator() as first, SSMEmulator() as second:
        commands = populate_ssm(first, [US], 200, now=NOW)[US]
        populate_ssm(second, [US], 200, now=NOW)
        assert first.invocations(US) == second.invocations(US), "deterministic"
        invocations = first.invocations(US)
        with SSMEmulator() as capped:
            populate_ssm(capped, [US], 200, now=NOW, invocations_per_region=100)
            some = capped.invocations(US)
        with SSMEmulator() as bare:
            populate_ssm(bare, [US], 20, now=NOW, invocations=False)
            assert bare.invocations(US) == []

    by_command: dict[str, list[dict[str, Any]]] = {}
    for invocation in invocations:
        by_command.setdefault(invocation["CommandId"], []).append(invocation)
    assert set(by_command) == {c["CommandId"] for c in commands}
    for command in commands:
        mine = by_command[command["CommandId"]]
        counts = command_counts(mine)
        assert counts == {
            name: command[name]
            for name in ("TargetCount", "CompletedCount", "ErrorCount", "DeliveryTimedOutCount")
        }
        if command["InstanceIds"]:
            assert [i["InstanceId"] for i in mine] == command["InstanceIds"]
        statuses = {i["Status"] for i in mine}
        if command["Status"] == "Success":
            assert statuses == {"Success"}
        if command["Status"] == "Failed":
            assert "Failed" in statuses
        if command["Status"] in ("InProgress", "Pending"):
            assert statuses & {"InProgress", "Pending", "Delayed"}
        for invocation in mine:
            assert invocation["RequestedDateTime"] == command["RequestedDateTime"]
            assert invocation["DocumentName"] == command["DocumentName"]
    assert len({i["Status"] for i in invocations}) >= 6

    # A cap keeps whole commands, newest first.
    assert 0 < len(some) <= 100
    newest = sorted(commands, key=lambda c: c["RequestedDateTime"], reverse=True)
    kept = {i["CommandId"] for i in some}
    assert kept == {c["CommandId"] for c in newest[: len(kept)]}


# --------------------------------------------------------------- SSM: faults
def test_ssm_invocations_faults_rate_limit_and_stats(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.add_command_with_invocations(US, INSTANCES)
    client = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    fault = ssm_emulator.inject(Fault("throttle", count=10, action="ListCommandInvocations"))
    client.list_commands()  # not this action: unaffected
    with pytest.raises(ClientError) as raised:
        client.list_command_invocations()
    assert error_code(raised.value) == "ThrottlingException"
    assert fault.count == 7
    ssm_emulator.clear_faults()
    ssm_emulator.inject(Fault("throttle", count=1, action="ListCommandInvocations"))
    assert len(client.list_command_invocations()["CommandInvocations"]) == 3, "retried"
    ssm_emulator.inject_ratio(Fault("server_error", status=503), 1.0)
    with pytest.raises(ClientError) as storm:
        client.list_command_invocations()
    assert error_code(storm.value) == "ServiceUnavailable"
    ssm_emulator.clear_faults()

    ssm_emulator.reset_calls()
    ssm_emulator.rate_limit_per_second = 2
    once = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    outcomes = []
    for _ in range(4):
        try:
            once.list_command_invocations()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error_code(error))
    once.list_commands()  # the limit is per region AND action
    assert outcomes[:2] == ["ok", "ok"]
    assert set(outcomes[2:]) == {"ThrottlingException"}
    assert ssm_emulator.calls[-1].status == 200
    stats = get_stats(ssm_emulator.url)
    assert stats["calls"] == {US: {"ListCommandInvocations": 4, "ListCommands": 1}}
    assert stats["max_requests_per_second"][US]["ListCommandInvocations"] == 4


# ------------------------------------------------------------ TAT: invocations
def test_tat_invocations_page_and_filter(tat_emulator: TATEmulator) -> None:
    populate_tat(tat_emulator, [GUANGZHOU, SINGAPORE], 30, now=NOW, invocations_per_region=45)
    client = make_tat_client(tat_emulator)
    stored = tat_emulator.invocations(GUANGZHOU)
    assert len(stored) == 45

    pages = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the SDK warns about unknown members
        for offset in (0, 20, 40):
            request = tat_models.DescribeInvocationsRequest()
            request.Offset, request.Limit = offset, 20
            pages.append(client.DescribeInvocations(request))
    assert [len(p.InvocationSet) for p in pages] == [20, 20, 5]
    assert {p.TotalCount for p in pages} == {45}
    listed = [i for p in pages for i in p.InvocationSet]
    assert sorted(i.InvocationId for i in listed) == sorted(i["InvocationId"] for i in stored)
    created = [datetime.fromisoformat(i.CreatedTime) for i in listed]
    assert created == sorted(created, reverse=True), "newest first"
    assert len(tat_call(client, "DescribeInvocations")["InvocationSet"]) == 20, "default Limit"

    def ids(*filters: tuple[str, list[str]]) -> set[str]:
        body = {"Filters": [{"Name": n, "Values": v} for n, v in filters], "Limit": 100}
        return {
            i["InvocationId"]
            for i in tat_call(client, "DescribeInvocations", **body)["InvocationSet"]
        }

    one = stored[0]
    assert ids(("invocation-id", [one["InvocationId"]])) == {one["InvocationId"]}
    assert ids(("command-id", [one["CommandId"]])) == {
        i["InvocationId"] for i in stored if i["CommandId"] == one["CommandId"]
    }
    kinds = Counter(i["InstanceKind"] for i in stored)
    assert len(ids(("instance-kind", ["LIGHTHOUSE"]))) == kinds["LIGHTHOUSE"]
    assert len(ids(("instance-kind", ["CVM", "LIGHTHOUSE"]))) == 45
    created_by = {c["CommandId"]: c["CreatedBy"] for c in tat_emulator.commands(GUANGZHOU)}
    public = {i["InvocationId"] for i in stored if created_by[i["CommandId"]] == "TAT"}
    assert ids(("command-created-by", ["TAT"])) == public
    assert ids(("command-created-by", ["USER"])) == {i["InvocationId"] for i in stored} - public
    tat_emulator.update_command(GUANGZHOU, one["CommandId"], CreatedBy="TAT")
    assert one["InvocationId"] in ids(("command-created-by", ["TAT"])), "views follow commands"

    request = tat_models.DescribeInvocationsRequest()
    request.InvocationIds = [stored[1]["InvocationId"], "inv-00000000"]
    assert [i.InvocationId for i in client.DescribeInvocations(request).InvocationSet] == [
        stored[1]["InvocationId"]
    ]
    for body, code in (
        ({"Limit": 101}, "InvalidParameterValue"),
        ({"Offset": -1}, "InvalidParameterValue"),
        ({"InvocationIds": ["cmd-12345678"]}, "InvalidParameterValue.InvalidInvocationId"),
        (
            {"Filters": [{"Name": "instance-id", "Values": ["x"]}]},
            "InvalidParameterValue.InvalidFilter",
        ),
        (
            {
                "InvocationIds": [one["InvocationId"]],
                "Filters": [{"Name": "command-id", "Values": ["cmd-12345678"]}],
            },
            "InvalidParameter.ConflictParameter",
        ),
        ({"HideOutput": False}, "UnknownParameter"),
        ({"Filters": [{"Name": "command-id", "Values": list("abcdef")}]}, "InvalidParameterValue"),
    ):
        with pytest.raises(TencentCloudSDKException) as raised:
            client.call_json("DescribeInvocations", body)
        assert raised.value.code == code, body


def test_tat_invocation_tasks_output_and_filters(tat_emulator: TATEmulator) -> None:
    command = tat_emulator.add_command(GUANGZHOU, CommandType="POWERSHELL", Timeout=300)
    raw = "执行成功\r\n".encode("gbk")  # not UTF-8
    long_output = b"x" * (MAX_OUTPUT_BYTES + 100)
    invocation = tat_emulator.add_invocation(
        GUANGZHOU,
        CommandId=command["CommandId"],
        CreatedTime=NOW,
        tasks=[
            {"InstanceId": "ins-aaaaaaaa", "output": raw},
            {"InstanceId": "ins-bbbbbbbb", "TaskStatus": "FAILED", "TaskResult": {"Output": b"e"}},
            {"InstanceId": "ins-cccccccc", "output": long_output},
        ],
    )
    tasks = tat_emulator.tasks_of(GUANGZHOU, invocation["InvocationId"])
    assert invocation["InvocationStatus"] == "PARTIAL_FAILED"
    assert [b["InvocationTaskId"] for b in invocation["InvocationTaskBasicInfoSet"]] == [
        t["InvocationTaskId"] for t in tasks
    ]
    assert tasks[2]["TaskResult"]["Dropped"] == 100
    client = make_tat_client(tat_emulator)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hidden = client.DescribeInvocationTasks(tat_models.DescribeInvocationTasksRequest())
        request = tat_models.DescribeInvocationTasksRequest()
        request.HideOutput = False
        shown = client.DescribeInvocationTasks(request)
    assert hidden.TotalCount == shown.TotalCount == 3
    assert {t.TaskResult.Output for t in hidden.InvocationTaskSet} == {""}, "HideOutput: true"
    outputs = {t.InstanceId: base64.b64decode(t.TaskResult.Output) for t in shown.InvocationTaskSet}
    assert outputs == {
        "ins-aaaaaaaa": raw,
        "ins-bbbbbbbb": b"e",
        "ins-cccccccc": long_output[:MAX_OUTPUT_BYTES],
    }
    failed = next(t for t in shown.InvocationTaskSet if t.TaskStatus == "FAILED")
    assert failed.TaskResult.ExitCode != 0
    assert failed.CommandDocument.CommandType == "POWERSHELL"
    assert failed.CommandDocument.Timeout == 300
    assert failed.CommandDocument.Content == command["Content"]

    def task_ids(**body: Any) -> list[str]:
        return [
            t["InvocationTaskId"]
            for t in tat_call(client, "DescribeInvocationTasks", **body)["InvocationTaskSet"]
        ]

    other = tat_emulator.add_invocation(GUANGZHOU, CreatedTime=NOW + timedelta(hours=1), tasks=[{}])
    other_task = other["InvocationTaskBasicInfoSet"][0]["InvocationTaskId"]
    assert task_ids()[0] == other_task, "newest first"
    everything = task_ids(Limit=100)
    assert len(everything) == 4
    assert task_ids(Limit=2, Offset=2) == everything[2:]
    assert sorted(everything[1:]) == sorted(t["InvocationTaskId"] for t in tasks), "ties by id"
    by_invocation = {"Filters": [{"Name": "invocation-id", "Values": [invocation["InvocationId"]]}]}
    assert sorted(task_ids(**by_invocation)) == sorted(t["InvocationTaskId"] for t in tasks)
    instance = {"Filters": [{"Name": "instance-id", "Values": ["ins-bbbbbbbb"]}]}
    assert task_ids(**instance) == [tasks[1]["InvocationTaskId"]]
    by_command = {"Filters": [{"Name": "command-id", "Values": [command["CommandId"]]}]}
    assert len(task_ids(**by_command)) == 3
    by_id = {"Filters": [{"Name": "invocation-task-id", "Values": [other_task]}]}
    assert task_ids(**by_id) == [other_task]
    assert task_ids(InvocationTaskIds=[other_task, "invt-00000000"]) == [other_task]
    for body, code in (
        ({"HideOutput": "no"}, "InvalidParameter"),
        ({"InvocationTaskIds": ["inv-12345678"]}, "InvalidParameterValue.InvalidInvocationTaskId"),
        (
            {"Filters": [{"Name": "command-created-by", "Values": ["TAT"]}]},
            "InvalidParameterValue.InvalidFilter",
        ),
        ({"InvocationTaskIds": [other_task], **instance}, "InvalidParameter.ConflictParameter"),
        ({"Limit": 0}, "InvalidParameterValue"),
    ):
        with pytest.raises(TencentCloudSDKException) as raised:
            client.call_json("DescribeInvocationTasks", body)
        assert raised.value.code == code, body


def test_tat_every_model_member_is_served(tat_emulator: TATEmulator) -> None:
    def attributes(model: type) -> set[str]:
        return {name[1:] for name in vars(model())}

    assert attributes(tat_models.Invocation) == set(TAT_INVOCATION_FIELDS)
    assert attributes(tat_models.InvocationTask) == set(TASK_FIELDS)
    assert attributes(tat_models.TaskResult) == set(TASK_RESULT_FIELDS)
    assert attributes(tat_models.CommandDocument) == set(COMMAND_DOCUMENT_FIELDS)
    command = tat_emulator.add_command(GUANGZHOU)
    tat_emulator.add_invocation(
        GUANGZHOU, CommandId=command["CommandId"], tasks=[{"output": b"ok", "ErrorInfo": "none"}]
    )
    client = make_tat_client(tat_emulator)
    invocation = tat_call(client, "DescribeInvocations")["InvocationSet"][0]
    task = tat_call(client, "DescribeInvocationTasks", HideOutput=False)["InvocationTaskSet"][0]
    assert set(invocation) == attributes(tat_models.Invocation)
    assert set(invocation["InvocationTaskBasicInfoSet"][0]) == attributes(
        tat_models.InvocationTaskBasicInfo
    )
    assert set(task) == attributes(tat_models.InvocationTask)
    assert set(task["TaskResult"]) == attributes(tat_models.TaskResult)
    assert set(task["CommandDocument"]) == attributes(tat_models.CommandDocument)
    # A finished task has a value for every member (None would be JSON null).
    assert None not in invocation.values()
    assert None not in task.values()
    assert None not in task["TaskResult"].values()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parsed = tat_models.InvocationTask()
        parsed._deserialize(task)
    assert parsed.TaskResult.Output == base64.b64encode(b"ok").decode()
    with pytest.raises(ValueError, match="unknown TAT InvocationTask"):
        tat_emulator.add_invocation(GUANGZHOU, tasks=[{"Status": "SUCCESS"}])
    with pytest.raises(ValueError, match="unknown TAT Invocation"):
        tat_emulator.add_invocation(GUANGZHOU, Status="SUCCESS")


def test_tat_update_task_keeps_invocation_consistent(tat_emulator: TATEmulator) -> None:
    invocation = tat_emulator.add_invocation(
        GUANGZHOU,
        CreatedTime=NOW,
        tasks=[{"TaskStatus": "SUCCESS"}, {"TaskStatus": "RUNNING"}],
    )
    invocation_id = invocation["InvocationId"]
    assert invocation["InvocationStatus"] == "RUNNING"
    assert invocation["EndTime"] is None
    running = invocation["InvocationTaskBasicInfoSet"][1]["InvocationTaskId"]
    before = tat_emulator.invocations(GUANGZHOU)[0]["UpdatedTime"]

    task = tat_emulator.update_task(GUANGZHOU, running, TaskStatus="FAILED", output=b"boom")
    assert task["TaskResult"]["ExitCode"] == 1
    assert task["TaskResult"]["Output"] == b"boom"
    assert task["EndTime"] is not None
    assert task["EndTime"] >= task["StartTime"]
    assert task["UpdatedTime"] >= before
    after = tat_emulator.invocations(GUANGZHOU)[0]
    assert after["InvocationStatus"] == "PARTIAL_FAILED"
    assert after["InvocationTaskBasicInfoSet"][1]["TaskStatus"] == "FAILED"
    assert after["UpdatedTime"] >= task["UpdatedTime"]
    assert after["EndTime"] == max(
        t["EndTime"] for t in tat_emulator.tasks_of(GUANGZHOU, invocation_id)
    )
    client = make_tat_client(tat_emulator)
    served = tat_call(client, "DescribeInvocations")["InvocationSet"][0]
    assert served["InvocationStatus"] == "PARTIAL_FAILED", "cached renderings are dropped"

    tat_emulator.update_task(GUANGZHOU, running, TaskStatus="SUCCESS")
    assert tat_emulator.invocations(GUANGZHOU)[0]["InvocationStatus"] == "SUCCESS"
    assert tat_emulator.tasks_of(GUANGZHOU, invocation_id)[1]["TaskResult"]["Output"] == b"boom"
    updated = tat_emulator.update_invocation(GUANGZHOU, invocation_id, Description="edited")
    assert updated["Description"] == "edited"
    assert updated["UpdatedTime"] > NOW

    tat_emulator.delete_invocation(GUANGZHOU, invocation_id)
    assert tat_emulator.invocations(GUANGZHOU) == []
    assert tat_emulator.invocation_tasks(GUANGZHOU) == []
    assert tat_call(client, "DescribeInvocationTasks")["TotalCount"] == 0


def test_tat_sample_history_is_consistent() -> None:
    with TATEmulator() as tat, TATEmulator() as again:
        commands = populate_tat(tat, [GUANGZHOU], 120, now=NOW, invocations_per_region=300)[
            GUANGZHOU
        ]
        populate_tat(again, [GUANGZHOU], 120, now=NOW, invocations_per_region=300)
        invocations = tat.invocations(GUANGZHOU)
        tasks = tat.invocation_tasks(GUANGZHOU)
        assert invocations == again.invocations(GUANGZHOU), "deterministic"
        assert tasks == again.invocation_tasks(GUANGZHOU)
        client = make_tat_client(tat)
        assert tat_call(client, "DescribeInvocations")["TotalCount"] == 300
        assert tat_call(client, "DescribeInvocationTasks")["TotalCount"] == len(tasks)
        with TATEmulator() as default, TATEmulator() as none:
            populate_tat(default, [GUANGZHOU], 50, now=NOW)
            populate_tat(none, [GUANGZHOU], 50, now=NOW, invocations_per_region=0)
            assert len(default.invocations(GUANGZHOU)) == 50
            assert none.invocations(GUANGZHOU) == []

    by_command = {c["CommandId"]: c for c in commands}
    by_invocation = {i["InvocationId"]: i for i in invocations}
    assert len(by_invocation) == 300
    for invocation in invocations:
        command = by_command[invocation["CommandId"]]
        assert invocation["CommandType"] == command["CommandType"]
        assert invocation["CommandContent"] == command["Content"]
        for name in ("Username", "WorkingDirectory", "Timeout", "CommandName"):
            assert invocation[name] == command[name], name
        assert command["CreatedTime"] <= invocation["CreatedTime"] <= NOW
        assert 1 <= len(invocation["InvocationTaskBasicInfoSet"]) <= 4
    listed = {b["InvocationTaskId"] for i in invocations for b in i["InvocationTaskBasicInfoSet"]}
    assert listed == {t["InvocationTaskId"] for t in tasks}
    for task in tasks:
        invocation = by_invocation[task["InvocationId"]]
        assert basic(task) in invocation["InvocationTaskBasicInfoSet"]
        assert task["CreatedTime"] == invocation["CreatedTime"]
        assert task["CommandDocument"]["Content"] == invocation["CommandContent"]
        for moment in (task["StartTime"], task["EndTime"]):
            if moment is not None:
                assert invocation["CreatedTime"] <= moment
                assert invocation["EndTime"] is None or moment <= invocation["EndTime"]
        result = task["TaskResult"]
        if task["TaskStatus"] == "SUCCESS":
            assert result["ExitCode"] == 0
        if task["TaskStatus"] == "FAILED":
            assert result["ExitCode"] != 0
        if task["TaskStatus"] in UNFINISHED_TASK_STATUSES:
            assert task["EndTime"] is None
            assert invocation["EndTime"] is None
    statuses = Counter(t["TaskStatus"] for t in tasks)
    assert statuses["SUCCESS"] > len(tasks) / 2
    assert {"FAILED", "TIMEOUT"} <= set(statuses)
    outputs = [t["TaskResult"]["Output"] for t in tasks]
    assert any(not _utf8(o) for o in outputs), "some output is not UTF-8"
    assert any(t["TaskResult"]["Dropped"] > 0 for t in tasks), "some output was cut at 24 KB"
    assert {i["InstanceKind"] for i in invocations} == {"CVM", "LIGHTHOUSE"}


def basic(task: dict[str, Any]) -> dict[str, Any]:
    return {n: task[n] for n in ("InvocationTaskId", "TaskStatus", "InstanceId")}


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ----------------------------------------------------- TAT: auth, faults, rates
def test_tat_history_signature_faults_and_rate_limit(tat_emulator: TATEmulator) -> None:
    tat_emulator.add_invocation(GUANGZHOU, tasks=[{}])
    wrong = make_tat_client(tat_emulator, secret_key="wrong-key")
    for action in ("DescribeInvocations", "DescribeInvocationTasks"):
        with pytest.raises(TencentCloudSDKException) as raised:
            wrong.call_json(action, {})
        assert raised.value.code == "AuthFailure.SignatureFailure", action

    client = make_tat_client(tat_emulator)
    tat_emulator.inject(Fault("throttle", action="DescribeInvocationTasks"))
    assert tat_call(client, "DescribeInvocations")["TotalCount"] == 1, "other action unaffected"
    with pytest.raises(TencentCloudSDKException) as throttled:
        client.DescribeInvocationTasks(tat_models.DescribeInvocationTasksRequest())
    assert throttled.value.code == "RequestLimitExceeded"
    tat_emulator.inject(Fault("internal", action="DescribeInvocations"))
    with pytest.raises(TencentCloudSDKException) as internal:
        client.DescribeInvocations(tat_models.DescribeInvocationsRequest())
    assert internal.value.code == "InternalError"

    tat_emulator.reset_calls()
    tat_emulator.rate_limit_per_second = 3
    outcomes = []
    for _ in range(5):
        try:
            tat_call(client, "DescribeInvocationTasks")
            outcomes.append("ok")
        except TencentCloudSDKException as error:
            outcomes.append(error.code)
    assert tat_call(client, "DescribeInvocations")["TotalCount"] == 1, "per region and action"
    assert outcomes[:3] == ["ok"] * 3
    assert set(outcomes[3:]) == {"RequestLimitExceeded"}
    stats = get_stats(tat_emulator.url)
    assert stats["calls"] == {GUANGZHOU: {"DescribeInvocationTasks": 5, "DescribeInvocations": 1}}
    assert tat_emulator.max_requests_per_second(GUANGZHOU, "DescribeInvocationTasks") == 5


def test_tat_history_timestamp_styles(tat_emulator: TATEmulator) -> None:
    created = datetime(2020, 11, 2, 2, 48, 11, tzinfo=UTC)
    tat_emulator.add_invocation(GUANGZHOU, CreatedTime=created, tasks=[{}])
    tat_emulator.add_invocation(
        GUANGZHOU, CreatedTime=created, tasks=[{}], timestamp_style="+08:00"
    )
    client = make_tat_client(tat_emulator)
    times = {i["CreatedTime"] for i in tat_call(client, "DescribeInvocations")["InvocationSet"]}
    assert times == {"2020-11-02T02:48:11+00:00", "2020-11-02T10:48:11+08:00"}
    tasks = tat_call(client, "DescribeInvocationTasks")["InvocationTaskSet"]
    assert {t["CreatedTime"] for t in tasks} == times, "tasks follow their invocation"
    tat_emulator.timestamp_style = "Z"
    assert "2020-11-02T02:48:11Z" in {
        i["CreatedTime"] for i in tat_call(client, "DescribeInvocations")["InvocationSet"]
    }


# ------------------------------------------------------------------------- CLI
def test_cli_history_flags(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators",
            "--per-region",
            "6",
            "--regions",
            US,
            "--tat-regions",
            GUANGZHOU,
            "--no-ssm-invocations",
            "--tat-invocations-per-region",
            "9",
            "--tat-max-tasks",
            "1",
            "--ready-file",
            str(ready_file),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        urls = json.loads(ready_file.read_text())
        ssm_client = make_ssm_client(_Url(urls["ssm"]))  # type: ignore[arg-type]
        assert ssm_client.list_command_invocations()["CommandInvocations"] == []
        assert len(ssm_client.list_commands()["Commands"]) == 6
        tat = make_tat_client(_Url(urls["tat"]))  # type: ignore[arg-type]
        assert tat_call(tat, "DescribeInvocations")["TotalCount"] == 9
        assert tat_call(tat, "DescribeInvocationTasks")["TotalCount"] == 9
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "history: ssm invocations=0; tat invocations=9 tasks=9" in output


class _Url:
    """Enough of an emulator (url, port) for the client helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
