"""The SSM ``CommandInvocation`` record (one per command and managed node): defaults,
validation and wire form.

Stored invocations keep every member of botocore's ``CommandInvocation`` shape;
``CommandPlugins`` holds the full ``CommandPlugin`` records, and a plugin's
``Output`` may be longer than the API returns. On the wire (ListCommandInvocations):

- ``CommandPlugins`` is ``[]`` unless the request says ``Details: true``, as AWS does;
- a plugin's ``Output`` is cut to its first 2,500 characters (the shape's ``max``);
- timestamps are epoch seconds with millisecond precision, as in ``Command``;
- a member stored as None is left out (as SSM omits members it has no value for).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .fields import FieldNames
from .jsonwire import JsonWriter
from .ssm_model import COMMAND_ID_LENGTH, DEFAULT_INSTANCE_ID, json_default, utc_millis
from .store import clone

# Every member of botocore's "CommandInvocation" shape (service model "ssm"), in model order.
INVOCATION_FIELDS = (
    "CommandId",
    "InstanceId",
    "InstanceName",
    "Comment",
    "DocumentName",
    "DocumentVersion",
    "RequestedDateTime",
    "Status",
    "StatusDetails",
    "TraceOutput",
    "StandardOutputUrl",
    "StandardErrorUrl",
    "CommandPlugins",
    "ServiceRole",
    "NotificationConfig",
    "CloudWatchOutputConfig",
)
# Every member of botocore's "CommandPlugin" shape, in model order.
PLUGIN_FIELDS = (
    "Name",
    "Status",
    "StatusDetails",
    "ResponseCode",
    "ResponseStartDateTime",
    "ResponseFinishDateTime",
    "Output",
    "StandardOutputUrl",
    "StandardErrorUrl",
    "OutputS3Region",
    "OutputS3BucketName",
    "OutputS3KeyPrefix",
)
_INVOCATION_MEMBERS = FieldNames("SSM CommandInvocation", INVOCATION_FIELDS)
_PLUGIN_MEMBERS = FieldNames("SSM CommandPlugin", PLUGIN_FIELDS)
PLUGIN_TIMESTAMP_FIELDS = ("ResponseStartDateTime", "ResponseFinishDateTime")
# CommandInvocationStatus enum.
INVOCATION_STATUSES = (
    "Pending",
    "InProgress",
    "Delayed",
    "Success",
    "Cancelled",
    "TimedOut",
    "Failed",
    "Cancelling",
)
# CommandPluginStatus enum (no Delayed, no Cancelling).
PLUGIN_STATUSES = ("Pending", "InProgress", "Success", "TimedOut", "Cancelled", "Failed")
INVOCATION_EXECUTING_STATUSES = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
# Status filter values the CommandFilter docs list for ListCommandInvocations beyond the
# Status enum; they name StatusDetails values, so they match StatusDetails.
INVOCATION_DETAIL_FILTER_VALUES = frozenset(
    {
        "AccessDenied",
        "DeliveryTimedOut",
        "ExecutionTimedOut",
        "Undeliverable",
        "InvalidPlatform",
        "Terminated",
    }
)
# The Status each StatusDetails value goes with (anything else: StatusDetails == Status).
DETAIL_STATUS = {
    "DeliveryTimedOut": "TimedOut",
    "ExecutionTimedOut": "TimedOut",
    "AccessDenied": "Failed",
    "Undeliverable": "Failed",
    "InvalidPlatform": "Failed",
    "Terminated": "Failed",
}
# How an invocation counts towards its command's CompletedCount / ErrorCount.
FINISHED_STATUSES = frozenset({"Success", "Failed", "TimedOut"})
ERROR_STATUSES = frozenset({"Failed", "TimedOut"})
MAX_PLUGIN_OUTPUT = 2500
# Members an invocation takes from its command when the command is stored.
INHERITED_FROM_COMMAND = (
    "Comment",
    "DocumentName",
    "DocumentVersion",
    "RequestedDateTime",
    "ServiceRole",
    "NotificationConfig",
    "CloudWatchOutputConfig",
)
_PLUGIN_NAMES = {
    "AWS-RunShellScript": "aws:runShellScript",
    "AWS-RunPowerShellScript": "aws:runPowerShellScript",
    "AWS-ConfigureAWSPackage": "configurePackage",
    "AWS-ApplyPatchBaseline": "PatchWindows",
    "AWS-RunPatchBaseline": "PatchLinux",
}


def plugin_name(document: str) -> str:
    """The plugin (step) name a document's invocation reports."""
    return _PLUGIN_NAMES.get(document, "aws:runShellScript")


def plugin_status(status: str) -> str:
    """The CommandPluginStatus matching an invocation status."""
    if status == "Delayed":
        return "Pending"
    if status == "Cancelling":
        return "InProgress"
    return status


def response_code(status: str) -> int:
    """The plugin ResponseCode SSM reports: 0 on success, -1 while not finished."""
    if status == "Success":
        return 0
    if status in ("Failed", "TimedOut"):
        return 1
    return -1


# Reject names that are not members of CommandInvocation / CommandPlugin (test typos).
check_field_names = _INVOCATION_MEMBERS.check
check_plugin_names = _PLUGIN_MEMBERS.check


def _millis(value: datetime) -> datetime:
    # Already stored form (UTC, whole milliseconds): the common case of bulk sample data.
    if value.tzinfo is UTC and not value.microsecond % 1000:
        return value
    return utc_millis(value)


def normalise_fields(fields: dict[str, Any], *, copy: bool = True) -> dict[str, Any]:
    """Validate names (plugins too) and bring timestamps to stored form (a new dict)."""
    check_field_names(fields)
    result = clone(fields) if copy else dict(fields)
    if isinstance(result.get("RequestedDateTime"), datetime):
        result["RequestedDateTime"] = _millis(result["RequestedDateTime"])
    plugins = result.get("CommandPlugins")
    if plugins is not None:
        if not isinstance(plugins, list) or not all(isinstance(p, dict) for p in plugins):
            raise ValueError("CommandPlugins must be a list of CommandPlugin dicts")
        for plugin in plugins:
            check_plugin_names(plugin)
            for name in PLUGIN_TIMESTAMP_FIELDS:
                if isinstance(plugin.get(name), datetime):
                    plugin[name] = _millis(plugin[name])
    return result


def default_plugin(invocation: dict[str, Any], region: str, **given: Any) -> dict[str, Any]:
    """A CommandPlugin consistent with its invocation, with ``given`` members on top."""
    status = plugin_status(invocation["Status"])
    requested = invocation["RequestedDateTime"]
    started = status != "Pending" and isinstance(requested, datetime)
    finished = status in FINISHED_STATUSES or status == "Cancelled"
    start = requested + timedelta(seconds=1) if started else None
    details = invocation["StatusDetails"] if status == invocation["Status"] else status
    defaults: dict[str, Any] = {
        "Name": plugin_name(invocation["DocumentName"]),
        "Status": status,
        "StatusDetails": details,
        "ResponseCode": response_code(status),
        "ResponseStartDateTime": start,
        "ResponseFinishDateTime": start + timedelta(seconds=2) if start and finished else None,
        "Output": "" if status in ("Pending", "InProgress") else f"{status.lower()}\n",
        "StandardOutputUrl": invocation["StandardOutputUrl"],
        "StandardErrorUrl": invocation["StandardErrorUrl"],
        "OutputS3Region": region,
        "OutputS3BucketName": "",
        "OutputS3KeyPrefix": "",
    }
    return {name: given.get(name, defaults[name]) for name in PLUGIN_FIELDS}


def new_invocation(
    region: str,
    fields: dict[str, Any],
    now: datetime,
    command: dict[str, Any] | None = None,
    *,
    copy: bool = True,
) -> dict[str, Any]:
    """Build a complete stored invocation from defaults plus the given fields.

    Args:
        region: The invocation's region.
        fields: Overrides, by CommandInvocation member name (plugins may be partial).
        now: Default RequestedDateTime when there is no command to take it from.
        command: The stored command of the same CommandId, if any: members the caller
            left out (Comment, DocumentName, ... see INHERITED_FROM_COMMAND) come from it.
        copy: Deep-copy the given values (False: the store takes them over).

    Returns:
        The stored invocation.
    """
    given = normalise_fields(fields, copy=copy)
    if len(given) == len(INVOCATION_FIELDS):
        # Every member given (bulk sample data): no defaults to build.
        invocation = {name: given[name] for name in INVOCATION_FIELDS}
    else:
        invocation = _with_defaults(region, given, now, command)
    command_id = invocation["CommandId"]
    if not isinstance(command_id, str) or len(command_id) != COMMAND_ID_LENGTH:
        raise ValueError(f"CommandId must be {COMMAND_ID_LENGTH} characters: {command_id!r}")
    return invocation


def _with_defaults(
    region: str, given: dict[str, Any], now: datetime, command: dict[str, Any] | None
) -> dict[str, Any]:
    inherited = {name: command[name] for name in INHERITED_FROM_COMMAND} if command else {}
    status = given.get("Status", "Success")
    details = given.get("StatusDetails", status)
    defaults: dict[str, Any] = {
        "CommandId": given.get("CommandId") or str(uuid.uuid4()),
        "InstanceId": DEFAULT_INSTANCE_ID,
        "InstanceName": "",
        "Comment": "",
        "DocumentName": "AWS-RunShellScript",
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": utc_millis(now),
        "Status": status,
        "StatusDetails": details,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": None,  # built below, from the finished invocation
        "ServiceRole": "",
        "NotificationConfig": {
            "NotificationArn": "",
            "NotificationEvents": [],
            "NotificationType": "",
        },
        "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
    }
    defaults.update(clone(inherited))
    invocation = {name: given.get(name, defaults[name]) for name in INVOCATION_FIELDS}
    plugins = given.get("CommandPlugins")
    if plugins is None:
        invocation["CommandPlugins"] = [default_plugin(invocation, region)]
    else:
        invocation["CommandPlugins"] = [default_plugin(invocation, region, **p) for p in plugins]
    return invocation


def _wire_plugin(plugin: dict[str, Any]) -> dict[str, Any]:
    output = plugin.get("Output")
    if isinstance(output, str) and len(output) > MAX_PLUGIN_OUTPUT:
        plugin = {**plugin, "Output": output[:MAX_PLUGIN_OUTPUT]}
    if None in plugin.values():
        plugin = {name: value for name, value in plugin.items() if value is not None}
    return plugin


def wire_view(invocation: dict[str, Any], *, details: bool) -> dict[str, Any]:
    """The JSON-ready view of a stored invocation (shares values; not a deep copy)."""
    view = {
        name: invocation.get(name) for name in INVOCATION_FIELDS if invocation.get(name) is not None
    }
    view["CommandPlugins"] = (
        [_wire_plugin(p) for p in invocation.get("CommandPlugins") or []] if details else []
    )
    return view


_WRITER = JsonWriter(json_default)


def render_invocation(invocation: dict[str, Any], *, details: bool) -> bytes:
    """The serialised wire form of a stored invocation (see the module docstring)."""
    return _WRITER(wire_view(invocation, details=details))


def command_counts(invocations: list[dict[str, Any]]) -> dict[str, int]:
    """A command's TargetCount/CompletedCount/ErrorCount/DeliveryTimedOutCount from its
    invocations: completed = Success, Failed or TimedOut; errors = Failed or TimedOut.
    """
    return {
        "TargetCount": len(invocations),
        "CompletedCount": sum(i["Status"] in FINISHED_STATUSES for i in invocations),
        "ErrorCount": sum(i["Status"] in ERROR_STATUSES for i in invocations),
        "DeliveryTimedOutCount": sum(i["StatusDetails"] == "DeliveryTimedOut" for i in invocations),
    }


def invocation_statuses(command_status: str, count: int) -> list[tuple[str, str]]:
    """(Status, StatusDetails) of ``count`` invocations consistent with a command status.

    Success: all Success. Failed: the first Failed, the rest Success. TimedOut: the first
    ExecutionTimedOut. Cancelled: all Cancelled. InProgress: the first Success (when
    there are several), the rest InProgress. Pending and Cancelling: all alike.
    """
    if count <= 0:
        return []
    rest = [("Success", "Success")] * (count - 1)
    if command_status == "Success":
        return [("Success", "Success")] * count
    if command_status == "Failed":
        return [("Failed", "Failed"), *rest]
    if command_status == "TimedOut":
        return [("TimedOut", "ExecutionTimedOut"), *rest]
    if command_status == "InProgress":
        if count == 1:
            return [("InProgress", "InProgress")]
        return [("Success", "Success")] + [("InProgress", "InProgress")] * (count - 1)
    status = command_status if command_status in INVOCATION_STATUSES else "Success"
    return [(status, status)] * count
