"""Execution-history streams against the emulators: SSM invocations, TAT invocations and tasks."""

from __future__ import annotations

import base64
import datetime as dt
import math

from tests.conftest import emulator_config
from tests.tap_runner import run_tap

UTC = dt.UTC
INSTANCES = ["i-0aaa00000000000a1", "i-0aaa00000000000a2", "i-0aaa00000000000a3"]


def now() -> dt.datetime:
    current = dt.datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def invocation_keys(run, region):
    return sorted(
        (r["CommandId"], r["InstanceId"])
        for r in run.records.get("ssm_command_invocations", [])
        if r["Region"] == region
    )


def test_ssm_invocations_are_listed_directly_and_page_by_page(tmp_path, ssm):
    base = now() - dt.timedelta(days=3)
    expected = []
    for i in range(40):
        _, invocations = ssm.add_command_with_invocations(
            "us-east-1",
            INSTANCES,
            RequestedDateTime=base + dt.timedelta(minutes=i),
            Status="Success",
        )
        expected += [(v["CommandId"], v["InstanceId"]) for v in invocations]
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert invocation_keys(run, "us-east-1") == sorted(expected)
    calls = ssm.calls_for("ListCommandInvocations", "us-east-1")
    # 120 invocations, 50 a page: three calls, never one per command.
    assert len(calls) == math.ceil(120 / 50)
    assert {c.params.get("MaxResults") for c in calls} == {50}
    assert {c.params.get("Details") for c in calls} == {False}
    assert "CommandId" not in calls[0].params
    records = run.records["ssm_command_invocations"]
    assert all(r["CommandPlugins"] == [] for r in records)
    assert all(r["RequestedDateTime"].endswith("+00:00") for r in records)


def test_ssm_invocation_details_bring_typed_plugins_in_utc(tmp_path, ssm):
    requested = now() - dt.timedelta(hours=2)
    ssm.add_command_with_invocations(
        "us-east-1", INSTANCES[:1], RequestedDateTime=requested, Status="Failed"
    )
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "ssm_invocation_details": True,
    }

    run = run_tap(tmp_path, config, env={"TZ": "Asia/Shanghai"})

    assert run.returncode == 0, run.stderr
    [call] = ssm.calls_for("ListCommandInvocations", "us-east-1")
    assert call.params["Details"] is True
    [record] = run.records["ssm_command_invocations"]
    [truth] = ssm.invocations("us-east-1")
    assert record["Status"] == "Failed"
    assert record["CommandPlugins"], "Details=true returns the plugins"
    for plugin, expected in zip(record["CommandPlugins"], truth["CommandPlugins"], strict=True):
        assert plugin["Name"] == expected["Name"]
        assert plugin["ResponseCode"] == expected["ResponseCode"]
        assert isinstance(plugin["ResponseCode"], int)
        for field in ("ResponseStartDateTime", "ResponseFinishDateTime"):
            if expected.get(field) is not None:
                assert plugin[field].endswith("+00:00")
                assert dt.datetime.fromisoformat(plugin[field]) == expected[field]
        assert len(plugin["Output"] or "") <= 2500


def test_a_running_ssm_invocation_is_read_again_until_it_ends(tmp_path, ssm):
    requested = now() - dt.timedelta(hours=1)
    command, invocations = ssm.add_command_with_invocations(
        "us-east-1",
        INSTANCES[:2],
        invocation_statuses=["Success", "InProgress"],
        RequestedDateTime=requested,
        Status="InProgress",
    )
    running = next(v for v in invocations if v["Status"] == "InProgress")
    finished_later = requested + dt.timedelta(minutes=10)
    ssm.add_command_with_invocations(
        "us-east-1", INSTANCES[:1], RequestedDateTime=finished_later, Status="Success"
    )
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}

    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    # The bookmark moves on; the command with a running invocation is followed by id.
    [partition] = first.final_state["bookmarks"]["ssm_command_invocations"]["partitions"]
    assert list(partition["pending_commands"]) == [command["CommandId"]]

    ssm.update_invocation(
        "us-east-1", command["CommandId"], running["InstanceId"], Status="Success"
    )
    ssm.update_command("us-east-1", command["CommandId"], Status="Success")
    second = run_tap(tmp_path, config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    again = {
        r["InstanceId"]: r["Status"]
        for r in second.records["ssm_command_invocations"]
        if r["CommandId"] == command["CommandId"]
    }
    assert again[running["InstanceId"]] == "Success"
    # Only that command's invocations were read again (by CommandId); all final now.
    assert {r["CommandId"] for r in second.records["ssm_command_invocations"]} == {
        command["CommandId"]
    }
    # ssm_commands saw the command end earlier in this sync: no longer followed.
    [partition] = second.final_state["bookmarks"]["ssm_command_invocations"]["partitions"]
    assert partition["pending_commands"] == {}
    assert finished_later < dt.datetime.fromisoformat(partition["replication_key_value"])


def test_an_invocation_created_as_its_command_ends_is_still_read(tmp_path, ssm):
    # SSM may add an invocation to a running command (rate control, a new tag target)
    # stamped with the command's RequestedDateTime, behind the bookmark. Here it appears,
    # and the command ends, right after the invocations stream read the command in sync
    # 2: sync 3's ssm_commands sees the command final and stops following it, so the
    # invocations stream must read it once more then.
    requested = now() - dt.timedelta(hours=1)
    command, _ = ssm.add_command_with_invocations(
        "us-east-1",
        INSTANCES[:1],
        invocation_statuses=["Success"],
        RequestedDateTime=requested,
        Status="InProgress",
    )
    command_id = command["CommandId"]
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1"]}
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    # Commands sync first: the invocations stream follows what they saw running.
    assert [m["stream"] for m in first.messages if m["type"] == "SCHEMA"][:2] == [
        "ssm_commands",
        "ssm_command_invocations",
    ]

    def late_invocation_then_end(call):
        if call.action == "ListCommandInvocations" and call.params.get("CommandId") == command_id:
            ssm.after_response = None
            ssm.add_invocation(
                "us-east-1", CommandId=command_id, InstanceId=INSTANCES[1], Status="Success"
            )
            ssm.update_command("us-east-1", command_id, Status="Success")

    ssm.after_response = late_invocation_then_end
    second = run_tap(tmp_path, config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert ssm.after_response is None  # the invocations stream read the command by id
    third = run_tap(tmp_path, config, state=second.final_state)
    assert third.returncode == 0, third.stderr
    assert [r["Status"] for r in third.records["ssm_commands"]] == ["Success"]
    late = [r for r in third.records["ssm_command_invocations"] if r["InstanceId"] == INSTANCES[1]]
    assert [r["Status"] for r in late] == ["Success"]
    # Read after it ended, the command is no longer followed by either stream.
    for stream in ("ssm_commands", "ssm_command_invocations"):
        [partition] = third.final_state["bookmarks"][stream]["partitions"]
        assert partition["pending_commands"] == {}, stream


def add_tat_run(tat, region, *, at, statuses, output=b"done\n"):
    command = tat.add_command(region, CreatedTime=at, UpdatedTime=at)
    return tat.add_invocation(
        region,
        CommandId=command["CommandId"],
        CreatedTime=at,
        UpdatedTime=at,
        tasks=[
            {"InstanceId": instance, "TaskStatus": status, "output": output}
            for instance, status in zip(INSTANCES, statuses, strict=False)
        ],
    )


def test_tat_invocations_and_tasks_are_synced_and_follow_updates(tmp_path, tat):
    base = now() - dt.timedelta(days=1)
    for i in range(130):
        add_tat_run(
            tat,
            "ap-guangzhou",
            at=base + dt.timedelta(minutes=i),
            statuses=["SUCCESS", "FAILED"] if i % 2 else ["RUNNING"],
        )
    config = emulator_config(None, tat) | {"tencent_regions": ["ap-guangzhou"]}

    first = run_tap(tmp_path, config)

    assert first.returncode == 0, first.stderr
    invocations = {i["InvocationId"]: i for i in tat.invocations("ap-guangzhou")}
    tasks = {t["InvocationTaskId"]: t for t in tat.invocation_tasks("ap-guangzhou")}
    assert {r["InvocationId"] for r in first.records["tat_invocations"]} == set(invocations)
    assert {r["InvocationTaskId"] for r in first.records["tat_invocation_tasks"]} == set(tasks)
    assert len(tasks) == 65 * 2 + 65
    assert len(tat.calls_for("DescribeInvocations", "ap-guangzhou")) == 2
    assert len(tat.calls_for("DescribeInvocationTasks", "ap-guangzhou")) == 2
    calls = tat.calls_for("DescribeInvocationTasks", "ap-guangzhou")
    assert {c.params.get("HideOutput") for c in calls} == {True}
    record = first.records["tat_invocation_tasks"][0]
    truth = tasks[record["InvocationTaskId"]]
    assert record["TaskResult"]["Output"] is None
    assert record["TaskResult"]["ExitCode"] == truth["TaskResult"]["ExitCode"]
    assert record["CommandDocument"]["Content"] == truth["CommandDocument"]["Content"]
    assert record["UpdatedTime"].endswith("+00:00")
    [basic] = invocations[first.records["tat_invocations"][0]["InvocationId"]][
        "InvocationTaskBasicInfoSet"
    ][:1]
    assert set(basic) == {"InvocationTaskId", "TaskStatus", "InstanceId"}

    # A running task finishes: only it (and its invocation) come again.
    running = next(t for t in tasks.values() if t["TaskStatus"] == "RUNNING")
    tat.update_task("ap-guangzhou", running["InvocationTaskId"], TaskStatus="SUCCESS")
    second = run_tap(tmp_path, config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    # Besides the finished task, only the records on the old bookmark come again
    # (delivery is at-least-once at the boundary).
    for stream, key in (
        ("tat_invocation_tasks", "InvocationTaskId"),
        ("tat_invocations", "InvocationId"),
    ):
        boundary = first.bookmarks(stream)["ap-guangzhou"]
        again = {r[key]: r for r in second.records[stream]}
        changed = running[key]
        assert changed in again, stream
        assert all(r["UpdatedTime"] == boundary for k, r in again.items() if k != changed)
        assert len(again) < 5, stream
    [finished] = [
        r
        for r in second.records["tat_invocation_tasks"]
        if r["InvocationTaskId"] == running["InvocationTaskId"]
    ]
    assert finished["TaskStatus"] == "SUCCESS"


def test_tat_task_output_is_decoded_when_text_and_capped(tmp_path, tat):
    at = now() - dt.timedelta(hours=1)
    text = add_tat_run(tat, "ap-guangzhou", at=at, statuses=["SUCCESS"], output="héllo\n".encode())
    binary = add_tat_run(
        tat,
        "ap-guangzhou",
        at=at + dt.timedelta(minutes=1),
        statuses=["FAILED"],
        output=b"\xff\xfe\x00",
    )
    long = add_tat_run(
        tat,
        "ap-guangzhou",
        at=at + dt.timedelta(minutes=2),
        statuses=["SUCCESS"],
        output=b"y" * 500,
    )
    config = emulator_config(None, tat) | {
        "tencent_regions": ["ap-guangzhou"],
        "tat_task_output": True,
        "tat_task_output_max_chars": 100,
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    calls = tat.calls_for("DescribeInvocationTasks", "ap-guangzhou")
    assert {c.params.get("HideOutput") for c in calls} == {False}
    results = {r["InvocationId"]: r["TaskResult"] for r in run.records["tat_invocation_tasks"]}
    assert results[text["InvocationId"]]["Output"] == "héllo\n"
    assert results[text["InvocationId"]]["OutputEncoding"] == "text"
    assert results[text["InvocationId"]]["OutputCapped"] is False
    assert results[binary["InvocationId"]]["Output"] == base64.b64encode(b"\xff\xfe\x00").decode()
    assert results[binary["InvocationId"]]["OutputEncoding"] == "base64"
    assert results[binary["InvocationId"]]["ExitCode"] != 0
    assert results[long["InvocationId"]]["Output"] == "y" * 100
    assert results[long["InvocationId"]]["OutputCapped"] is True


def test_the_tap_s_boto3_clients_parse_timestamps_into_utc(ssm, monkeypatch):
    import logging
    import time

    from tap_cloudcommands.aws.connector import LIST_COMMAND_INVOCATIONS, AWSConnector

    ssm.add_command_with_invocations(
        "us-east-1", INSTANCES[:1], RequestedDateTime=now(), Status="Success"
    )
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        connector = AWSConnector(emulator_config(ssm, None), logging.getLogger("test"))
        [page] = connector.list_pages(
            "us-east-1", LIST_COMMAND_INVOCATIONS, invoked_after=None, extra={"Details": True}
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    [invocation] = page
    # botocore's default would give tzlocal() (+08:00 here); the tap's parser gives UTC.
    assert invocation["RequestedDateTime"].tzinfo is UTC
    started = [p["ResponseStartDateTime"] for p in invocation["CommandPlugins"]]
    assert started and all(value.tzinfo is UTC for value in started)
