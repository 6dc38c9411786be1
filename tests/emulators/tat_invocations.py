"""TAT execution history: ``Invocation`` and ``InvocationTask`` records.

An invocation (``inv-xxxxxxxx``) is one run of a command on one or more instances;
each instance gets an invocation task (``invt-xxxxxxxx``). Stored records keep
every attribute of the SDK models (tencentcloud.tat.v20201028.models ``Invocation``,
``InvocationTaskBasicInfo``, ``InvocationTask``, ``TaskResult``, ``CommandDocument``),
timestamps as aware UTC datetimes (whole seconds) and a task's output as raw bytes
(``TaskResult.Output``); on the wire the output is base64, and DescribeInvocationTasks
sends ``""`` instead unless ``HideOutput`` is false (its default is true). A
timestamp stored as None goes out as JSON null (the SDK documents EndTime,
StartTime and the Exec times as possibly null).
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from .fields import FieldNames
from .jsonwire import JsonWriter
from .store import clone
from .tat_model import check_timestamp_style, format_timestamp, utc_seconds

# Every attribute of models.Invocation, in model order.
INVOCATION_FIELDS = (
    "InvocationId",
    "CommandId",
    "CommandName",
    "InvocationStatus",
    "InvocationTaskBasicInfoSet",
    "Description",
    "StartTime",
    "EndTime",
    "CreatedTime",
    "UpdatedTime",
    "Parameters",
    "DefaultParameters",
    "InstanceKind",
    "Username",
    "InvocationSource",
    "CommandContent",
    "CommandType",
    "Timeout",
    "WorkingDirectory",
    "OutputCOSBucketUrl",
    "OutputCOSKeyPrefix",
)
# Every attribute of models.InvocationTaskBasicInfo.
TASK_BASIC_FIELDS = ("InvocationTaskId", "TaskStatus", "InstanceId")
# Every attribute of models.InvocationTask, in model order.
TASK_FIELDS = (
    "InvocationId",
    "InvocationTaskId",
    "CommandId",
    "TaskStatus",
    "InstanceId",
    "TaskResult",
    "StartTime",
    "EndTime",
    "CreatedTime",
    "UpdatedTime",
    "CommandDocument",
    "ErrorInfo",
    "InvocationSource",
    "CommandName",
)
# Every attribute of models.TaskResult.
TASK_RESULT_FIELDS = (
    "ExitCode",
    "Output",
    "ExecStartTime",
    "ExecEndTime",
    "Dropped",
    "OutputUrl",
    "OutputUploadCOSErrorInfo",
)
# Every attribute of models.CommandDocument.
COMMAND_DOCUMENT_FIELDS = (
    "Content",
    "CommandType",
    "Timeout",
    "WorkingDirectory",
    "Username",
    "OutputCOSBucketUrl",
    "OutputCOSKeyPrefix",
)
INVOCATION_TIMESTAMPS = ("StartTime", "EndTime", "CreatedTime", "UpdatedTime")
TASK_TIMESTAMPS = ("StartTime", "EndTime", "CreatedTime", "UpdatedTime")
RESULT_TIMESTAMPS = ("ExecStartTime", "ExecEndTime")
INVOCATION_STATUSES = (
    "PENDING",
    "RUNNING",
    "CANCELLING",
    "SUCCESS",
    "TIMEOUT",
    "FAILED",
    "CANCELLED",
    "PARTIAL_FAILED",
    "PARTIAL_CANCELLED",
)
TASK_STATUSES = (
    "PENDING",
    "DELIVERING",
    "DELIVER_DELAYED",
    "DELIVER_FAILED",
    "START_FAILED",
    "RUNNING",
    "SUCCESS",
    "FAILED",
    "TIMEOUT",
    "TASK_TIMEOUT",
    "CANCELLING",
    "CANCELLED",
    "TERMINATED",
)
# Task statuses before the command has finished on the instance.
UNFINISHED_TASK_STATUSES = frozenset(
    {"PENDING", "DELIVERING", "DELIVER_DELAYED", "RUNNING", "CANCELLING"}
)
# Task statuses in which the command never started (no exec times, no exit code).
NOT_STARTED_TASK_STATUSES = frozenset(
    {"PENDING", "DELIVERING", "DELIVER_DELAYED", "DELIVER_FAILED", "START_FAILED", "CANCELLED"}
)
_FAILED = frozenset({"FAILED", "DELIVER_FAILED", "START_FAILED"})
_TIMED_OUT = frozenset({"TIMEOUT", "TASK_TIMEOUT"})
_CANCELLED = frozenset({"CANCELLED", "TERMINATED"})
# TaskResult.Output holds at most 24 KB; Dropped counts the bytes cut off.
MAX_OUTPUT_BYTES = 24 * 1024
# Members an invocation takes from its stored command (invocation name: command name).
FROM_COMMAND = {
    "CommandName": "CommandName",
    "CommandContent": "Content",
    "CommandType": "CommandType",
    "Timeout": "Timeout",
    "WorkingDirectory": "WorkingDirectory",
    "Username": "Username",
    "DefaultParameters": "DefaultParameters",
    "OutputCOSBucketUrl": "OutputCOSBucketUrl",
    "OutputCOSKeyPrefix": "OutputCOSKeyPrefix",
}
# CommandDocument member: the invocation member it copies.
DOCUMENT_FROM_INVOCATION = {
    "Content": "CommandContent",
    "CommandType": "CommandType",
    "Timeout": "Timeout",
    "WorkingDirectory": "WorkingDirectory",
    "Username": "Username",
    "OutputCOSBucketUrl": "OutputCOSBucketUrl",
    "OutputCOSKeyPrefix": "OutputCOSKeyPrefix",
}
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ids = random.SystemRandom()
INVOCATION_ID_PATTERN = re.compile(r"^inv-[a-z0-9]{8}$")
TASK_ID_PATTERN = re.compile(r"^invt-[a-z0-9]{8}$")


def new_id(prefix: str) -> str:
    """A fresh TAT-style id: prefix, "-" and 8 lower-case letters or digits."""
    return prefix + "-" + "".join(_ids.choice(_ID_ALPHABET) for _ in range(8))


_INVOCATION_NAMES = FieldNames("TAT Invocation", INVOCATION_FIELDS)
_TASK_NAMES = FieldNames("TAT InvocationTask", TASK_FIELDS)
_DOCUMENT_NAMES = FieldNames("TAT CommandDocument", COMMAND_DOCUMENT_FIELDS)
_RESULT_NAMES = FieldNames("TAT TaskResult", TASK_RESULT_FIELDS)


def _seconds(record: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = record.get(name)
        # Already stored form (UTC, whole seconds): the common case of bulk sample data.
        if isinstance(value, datetime) and (value.tzinfo is not UTC or value.microsecond):
            record[name] = utc_seconds(value)


def output_bytes(value: Any) -> bytes:
    """Stored form of a task output: bytes as given; str is taken as the wire's base64."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if value is None or value == "":
        return b""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a str TaskResult.Output must be base64; pass bytes") from None
    raise ValueError(f"TaskResult.Output must be bytes or base64 text, got {type(value).__name__}")


def invocation_status(task_statuses: list[str]) -> str:
    """The InvocationStatus TAT reports for tasks in these statuses.

    No task, or all PENDING: PENDING. Any task still going: RUNNING (CANCELLING when
    one is being cancelled). All finished: SUCCESS, FAILED, TIMEOUT or CANCELLED when
    they agree; PARTIAL_CANCELLED when some succeeded and the rest were cancelled;
    PARTIAL_FAILED when some succeeded and others failed or timed out; FAILED for any
    other mix.
    """
    statuses = set(task_statuses)
    if not statuses or statuses == {"PENDING"}:
        return "PENDING"
    if "CANCELLING" in statuses:
        return "CANCELLING"
    if statuses & UNFINISHED_TASK_STATUSES:
        return "RUNNING"
    if statuses == {"SUCCESS"}:
        return "SUCCESS"
    if statuses <= _CANCELLED:
        return "CANCELLED"
    if statuses <= _TIMED_OUT:
        return "TIMEOUT"
    if statuses <= _FAILED:
        return "FAILED"
    if "SUCCESS" in statuses:
        return "PARTIAL_CANCELLED" if statuses - {"SUCCESS"} <= _CANCELLED else "PARTIAL_FAILED"
    return "FAILED"


def exit_code(status: str) -> int:
    """A TaskResult.ExitCode consistent with a task status (0 unless it failed)."""
    if status == "FAILED":
        return 1
    if status in ("TIMEOUT", "TASK_TIMEOUT", "TERMINATED"):
        return -1
    return 0


def error_info(status: str) -> str:
    """The ErrorInfo TAT gives a task in this status ("" when it did not fail)."""
    return {
        "FAILED": "",
        "DELIVER_FAILED": "Agent is offline, the task could not be delivered.",
        "START_FAILED": "Failed to start the command: the user does not exist.",
        "TIMEOUT": "The command timed out.",
        "TASK_TIMEOUT": "The agent did not respond in time.",
        "TERMINATED": "The command was terminated by the user.",
    }.get(status, "")


# ---------------------------------------------------------------- invocations
def new_invocation(
    fields: dict[str, Any], now: datetime, command: dict[str, Any] | None, *, copy: bool = True
) -> dict[str, Any]:
    """A complete stored invocation (InvocationTaskBasicInfoSet and status are set later).

    Args:
        fields: Invocation attributes; missing ones come from ``command`` (see
            FROM_COMMAND) when given, else from fixed defaults.
        now: Default CreatedTime.
        command: The stored command of the invocation's CommandId, if any.
        copy: Deep-copy the given values.
    """
    _INVOCATION_NAMES.check(fields)
    given = clone(fields) if copy else dict(fields)
    _seconds(given, INVOCATION_TIMESTAMPS)
    created = given.get("CreatedTime") or utc_seconds(now)
    defaults: dict[str, Any] = {
        "InvocationId": given.get("InvocationId") or new_id("inv"),
        "CommandId": "",
        "CommandName": "",
        "InvocationStatus": None,
        "InvocationTaskBasicInfoSet": [],
        "Description": "",
        "StartTime": created,
        "EndTime": None,
        "CreatedTime": created,
        "UpdatedTime": created,
        "Parameters": "{}",
        "DefaultParameters": "{}",
        "InstanceKind": "CVM",
        "Username": "root",
        "InvocationSource": "USER",
        "CommandContent": base64.b64encode(b"echo hello").decode(),
        "CommandType": "SHELL",
        "Timeout": 60,
        "WorkingDirectory": "/root",
        "OutputCOSBucketUrl": "",
        "OutputCOSKeyPrefix": "",
    }
    if command is not None:
        for name, source in FROM_COMMAND.items():
            defaults[name] = clone(command[source])
    invocation = {name: given.get(name, defaults[name]) for name in INVOCATION_FIELDS}
    if not INVOCATION_ID_PATTERN.match(str(invocation["InvocationId"])):
        raise ValueError(
            f"InvocationId must look like inv-xxxxxxxx: {invocation['InvocationId']!r}"
        )
    return invocation


def command_document(invocation: dict[str, Any]) -> dict[str, Any]:
    """The CommandDocument of an invocation's tasks."""
    return {name: invocation[source] for name, source in DOCUMENT_FROM_INVOCATION.items()}


def new_task(
    fields: dict[str, Any], invocation: dict[str, Any], *, copy: bool = True
) -> dict[str, Any]:
    """A complete stored task of an invocation.

    ``fields`` may carry ``output=bytes`` (not a model attribute) as a shortcut for
    TaskResult.Output. Missing attributes: InvocationId, CommandId, CommandName,
    CreatedTime, InvocationSource and CommandDocument from the invocation; times,
    TaskResult (ExitCode from TaskStatus) and ErrorInfo consistent with TaskStatus.
    Output longer than 24 KB is cut, Dropped counting the bytes cut off.
    """
    fields = dict(fields)
    raw_output = fields.pop("output", None)
    _TASK_NAMES.check(fields)
    given = clone(fields) if copy else fields
    _seconds(given, TASK_TIMESTAMPS)
    status = given.get("TaskStatus", "SUCCESS")
    created = given.get("CreatedTime") or invocation["CreatedTime"]
    started = status not in ("PENDING", "DELIVERING", "DELIVER_DELAYED", "CANCELLED")
    start = given.get("StartTime", created + timedelta(seconds=1) if started else None)
    finished = status not in UNFINISHED_TASK_STATUSES
    end_default = (start or created) + timedelta(seconds=2) if finished else None
    end = given.get("EndTime", end_default)
    defaults: dict[str, Any] = {
        "InvocationId": invocation["InvocationId"],
        "InvocationTaskId": given.get("InvocationTaskId") or new_id("invt"),
        "CommandId": invocation["CommandId"],
        "TaskStatus": status,
        "InstanceId": given.get("InstanceId") or "ins-" + new_id("x")[2:],
        "TaskResult": None,
        "StartTime": start,
        "EndTime": end,
        "CreatedTime": created,
        "UpdatedTime": end or start or created,
        "CommandDocument": command_document(invocation),
        "ErrorInfo": error_info(status),
        "InvocationSource": invocation["InvocationSource"],
        "CommandName": invocation["CommandName"],
    }
    task = {name: given.get(name, defaults[name]) for name in TASK_FIELDS}
    if not TASK_ID_PATTERN.match(str(task["InvocationTaskId"])):
        raise ValueError(
            f"InvocationTaskId must look like invt-xxxxxxxx: {task['InvocationTaskId']!r}"
        )
    if task["InvocationId"] != invocation["InvocationId"]:
        raise ValueError("a task's InvocationId must be its invocation's")
    task["TaskResult"] = task_result(given.get("TaskResult"), task, raw_output)
    document = task["CommandDocument"]
    if isinstance(document, dict):
        _DOCUMENT_NAMES.check(document)
        task["CommandDocument"] = {
            **command_document(invocation),
            **document,
        }
    return task


def task_result(
    given: dict[str, Any] | None, task: dict[str, Any], raw_output: bytes | None = None
) -> dict[str, Any]:
    """A complete TaskResult consistent with its task (given members win)."""
    given = dict(given or {})
    _RESULT_NAMES.check(given)
    _seconds(given, RESULT_TIMESTAMPS)
    status = task["TaskStatus"]
    ran = status not in NOT_STARTED_TASK_STATUSES
    finished = status not in UNFINISHED_TASK_STATUSES
    output = output_bytes(raw_output if raw_output is not None else given.get("Output"))
    dropped = given.get("Dropped", 0)
    if len(output) > MAX_OUTPUT_BYTES:
        if "Dropped" not in given:
            dropped = len(output) - MAX_OUTPUT_BYTES
        output = output[:MAX_OUTPUT_BYTES]
    defaults: dict[str, Any] = {
        "ExitCode": exit_code(status) if ran and finished else 0,
        "Output": output,
        "ExecStartTime": task["StartTime"] if ran else None,
        "ExecEndTime": task["EndTime"] if ran and finished else None,
        "Dropped": dropped,
        "OutputUrl": "",
        "OutputUploadCOSErrorInfo": "",
    }
    result = {name: given.get(name, defaults[name]) for name in TASK_RESULT_FIELDS}
    result["Output"] = output
    return result


def basic_info(task: dict[str, Any]) -> dict[str, Any]:
    """The task's InvocationTaskBasicInfo."""
    return {name: task[name] for name in TASK_BASIC_FIELDS}


def refresh_invocation(
    invocation: dict[str, Any], tasks: list[dict[str, Any]], *, derive_status: bool = True
) -> dict[str, Any]:
    """The members an invocation must change to stay consistent with its tasks.

    InvocationTaskBasicInfoSet lists the tasks; InvocationStatus is derived from their
    statuses (when ``derive_status``); EndTime is the latest task EndTime once every
    task has finished (None before).
    """
    changes: dict[str, Any] = {"InvocationTaskBasicInfoSet": [basic_info(t) for t in tasks]}
    if derive_status:
        changes["InvocationStatus"] = invocation_status([t["TaskStatus"] for t in tasks])
    finished = tasks and all(t["TaskStatus"] not in UNFINISHED_TASK_STATUSES for t in tasks)
    ends = [t["EndTime"] for t in tasks if t["EndTime"] is not None]
    changes["EndTime"] = max(ends) if finished and ends else None
    return changes


# ------------------------------------------------------------------ wire form
_WRITERS: dict[str, JsonWriter] = {}


def _writer(style: str) -> JsonWriter:
    writer = _WRITERS.get(style)
    if writer is None:
        check_timestamp_style(style)

        def default(value: Any) -> Any:
            if isinstance(value, datetime):
                return format_timestamp(value, style)
            if isinstance(value, bytes):
                return base64.b64encode(value).decode()
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

        writer = _WRITERS[style] = JsonWriter(default)
    return writer


def render_invocation(invocation: dict[str, Any], style: str) -> bytes:
    """The serialised wire form of a stored invocation (exactly the model's attributes)."""
    if len(invocation) != len(INVOCATION_FIELDS):
        invocation = {name: invocation.get(name) for name in INVOCATION_FIELDS}
    return _writer(style)(invocation)


def render_task(task: dict[str, Any], style: str, *, hide_output: bool) -> bytes:
    """The serialised wire form of a stored task; Output is "" when ``hide_output``."""
    view = {name: task.get(name) for name in TASK_FIELDS}
    result = view["TaskResult"]
    if isinstance(result, dict):
        result = {name: result.get(name) for name in TASK_RESULT_FIELDS}
        if hide_output:
            result["Output"] = ""
        view["TaskResult"] = result
    return _writer(style)(view)
