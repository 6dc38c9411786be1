"""The SSM ``Command`` record: defaults, validation and wire form.

Stored commands keep timestamps as timezone-aware UTC datetimes; on the wire
(AWS JSON 1.1) they become epoch seconds with millisecond precision, as real SSM
sends them (e.g. ``1582244543.188``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .fields import FieldNames
from .jsonwire import JsonWriter
from .store import clone

# Every member of botocore's "Command" shape (service model "ssm"), in model order.
COMMAND_FIELDS = (
    "CommandId",
    "DocumentName",
    "DocumentVersion",
    "Comment",
    "ExpiresAfter",
    "Parameters",
    "InstanceIds",
    "Targets",
    "RequestedDateTime",
    "Status",
    "StatusDetails",
    "OutputS3Region",
    "OutputS3BucketName",
    "OutputS3KeyPrefix",
    "MaxConcurrency",
    "MaxErrors",
    "TargetCount",
    "CompletedCount",
    "ErrorCount",
    "DeliveryTimedOutCount",
    "ServiceRole",
    "NotificationConfig",
    "CloudWatchOutputConfig",
    "TimeoutSeconds",
    "AlarmConfiguration",
    "TriggeredAlarms",
)
_COMMAND_NAMES = FieldNames("SSM Command", COMMAND_FIELDS)
TIMESTAMP_FIELDS = ("RequestedDateTime", "ExpiresAfter")
COMMAND_STATUSES = (
    "Pending",
    "InProgress",
    "Success",
    "Cancelled",
    "Failed",
    "TimedOut",
    "Cancelling",
)
EXECUTING_STATUSES = frozenset({"Pending", "InProgress", "Cancelling"})
COMPLETE_STATUSES = frozenset(COMMAND_STATUSES) - EXECUTING_STATUSES
COMMAND_ID_LENGTH = 36
DEFAULT_INSTANCE_ID = "i-0123456789abcdef0"


def utc_millis(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC, truncated to whole milliseconds.

    The wire carries milliseconds only, so storing more would make a stored value
    differ from what a client reads back.

    Args:
        value: A timezone-aware datetime.

    Returns:
        The same instant in UTC, without sub-millisecond digits.

    Raises:
        ValueError: If the datetime is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {value!r}")
    utc = value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


# Rejects names that are not members of the Command shape (catches test typos).
check_field_names = _COMMAND_NAMES.check


def normalise_fields(fields: dict[str, Any], *, copy: bool = True) -> dict[str, Any]:
    """Validate field names and bring timestamps to stored form.

    Args:
        fields: Command members by name.
        copy: Deep-copy the values; False hands the caller's objects over to the store.

    Returns:
        The normalised members (a new dict either way).
    """
    check_field_names(fields)
    result = clone(fields) if copy else dict(fields)
    for name in TIMESTAMP_FIELDS:
        if isinstance(result.get(name), datetime):
            result[name] = utc_millis(result[name])
    return result


def new_command(
    region: str,
    fields: dict[str, Any],
    now: datetime,
    *,
    copy: bool = True,
) -> dict[str, Any]:
    """Build a complete stored command from defaults plus the given fields.

    A field given as None is stored as None and left out of the wire form, the way
    real SSM omits members it has no value for.

    Args:
        region: The command's region (default for OutputS3Region).
        fields: Overrides, by Command member name.
        now: Default RequestedDateTime.
        copy: Deep-copy the given values (False: the store takes them over).

    Returns:
        The stored command.
    """
    given = normalise_fields(fields, copy=copy)
    if len(given) == len(COMMAND_FIELDS):
        # Every member given (bulk sample data): no defaults to build.
        command = {name: given[name] for name in COMMAND_FIELDS}
    else:
        command = _with_defaults(region, given, now)
    if len(command["CommandId"]) != COMMAND_ID_LENGTH:
        raise ValueError(
            f"CommandId must be {COMMAND_ID_LENGTH} characters: {command['CommandId']!r}"
        )
    return command


def _with_defaults(region: str, given: dict[str, Any], now: datetime) -> dict[str, Any]:
    requested = given.get("RequestedDateTime") or utc_millis(now)
    instance_ids = given.get("InstanceIds", [DEFAULT_INSTANCE_ID])
    status = given.get("Status", "Success")
    target_count = len(instance_ids or [])
    finished = status in COMPLETE_STATUSES
    timeout_seconds = given.get("TimeoutSeconds", 3600)
    defaults: dict[str, Any] = {
        "CommandId": str(uuid.uuid4()),
        "DocumentName": "AWS-RunShellScript",
        "DocumentVersion": "$DEFAULT",
        "Comment": "",
        "ExpiresAfter": requested + timedelta(seconds=timeout_seconds),
        "Parameters": {"commands": ["echo hello"]},
        "InstanceIds": instance_ids,
        "Targets": [],
        "RequestedDateTime": requested,
        "Status": status,
        "StatusDetails": status,
        "OutputS3Region": region,
        "OutputS3BucketName": "",
        "OutputS3KeyPrefix": "",
        "MaxConcurrency": "50",
        "MaxErrors": "0",
        "TargetCount": target_count,
        "CompletedCount": target_count if finished else 0,
        "ErrorCount": target_count if status in {"Failed", "TimedOut"} else 0,
        "DeliveryTimedOutCount": 0,
        "ServiceRole": "",
        "NotificationConfig": {
            "NotificationArn": "",
            "NotificationEvents": [],
            "NotificationType": "",
        },
        "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        "TimeoutSeconds": timeout_seconds,
        "AlarmConfiguration": {
            "IgnorePollAlarmFailure": False,
            "Alarms": [{"Name": "emulator-alarm"}],
        },
        "TriggeredAlarms": [{"Name": "emulator-alarm", "State": "UNKNOWN"}],
    }
    return {name: given.get(name, defaults[name]) for name in COMMAND_FIELDS}


def epoch_millis(value: datetime) -> float:
    """Epoch seconds with millisecond precision, as SSM puts timestamps on the wire."""
    return round(value.timestamp(), 3)


def to_wire(command: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of a stored command (None members omitted; a copy)."""
    wire: dict[str, Any] = {}
    for name in COMMAND_FIELDS:
        value = command.get(name)
        if value is None:
            continue
        wire[name] = epoch_millis(value) if isinstance(value, datetime) else clone(value)
    return wire


def json_default(value: Any) -> Any:
    """A ``json.dumps`` ``default`` that renders datetimes as SSM does (epoch seconds)."""
    if isinstance(value, datetime):
        return epoch_millis(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_WRITER = JsonWriter(json_default)


def render_command(command: dict[str, Any]) -> bytes:
    """The serialised wire form of a stored command: ``json.dumps(to_wire(command))``.

    Encodes the stored dict itself (timestamps via :func:`json_default`) instead of
    building a copy first; None members are left out, as :func:`to_wire` does.
    """
    if len(command) != len(COMMAND_FIELDS):
        return _WRITER(to_wire(command))
    if None in command.values():
        command = {name: value for name, value in command.items() if value is not None}
    return _WRITER(command)
