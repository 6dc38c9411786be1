"""The TAT ``Command`` record: defaults, validation and wire form.

Stored commands keep CreatedTime/UpdatedTime as timezone-aware UTC datetimes
(whole seconds); on the wire they are ISO 8601 strings whose suffix follows a
"timestamp style": "+00:00" (what TAT usually sends), "Z" (also seen), or any
"+HH:MM"/"-HH:MM" offset, the instant being rendered in that offset.
"""

from __future__ import annotations

import base64
import copy
import random
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Every attribute of tencentcloud.tat.v20201028.models.Command, in model order.
# The SDK warns ("fileds are useless") about any other member, so the wire form has exactly these.
COMMAND_FIELDS = (
    "CommandId",
    "CommandName",
    "Description",
    "Content",
    "CommandType",
    "WorkingDirectory",
    "Timeout",
    "CreatedTime",
    "UpdatedTime",
    "EnableParameter",
    "DefaultParameters",
    "DefaultParameterConfs",
    "Scenes",
    "FormattedDescription",
    "CreatedBy",
    "Tags",
    "Username",
    "OutputCOSBucketUrl",
    "OutputCOSKeyPrefix",
)
TIMESTAMP_FIELDS = ("CreatedTime", "UpdatedTime")
COMMAND_ID_PATTERN = re.compile(r"^cmd-[a-z0-9]{8}$")
DEFAULT_TIMESTAMP_STYLE = "+00:00"
_OFFSET_STYLE = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ids = random.SystemRandom()


def new_command_id() -> str:
    """A fresh id like TAT's: "cmd-" and 8 lower-case letters or digits."""
    return "cmd-" + "".join(_ids.choice(_ID_ALPHABET) for _ in range(8))


def utc_seconds(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC whole seconds (the wire's precision).

    Raises:
        ValueError: If the datetime is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC).replace(microsecond=0)


def check_timestamp_style(style: str) -> str:
    """Validate a timestamp style ("Z" or "+HH:MM"/"-HH:MM") and return it.

    Raises:
        ValueError: On anything else.
    """
    match = _OFFSET_STYLE.match(style)
    if style != "Z" and (match is None or int(match[2]) > 23 or int(match[3]) > 59):
        raise ValueError(f"timestamp style must be 'Z' or '+HH:MM'/'-HH:MM', got {style!r}")
    return style


def format_timestamp(value: datetime, style: str) -> str:
    """Render a stored timestamp in a style, e.g. "2020-11-02T10:48:11+08:00"."""
    if style == "Z":
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    match = _OFFSET_STYLE.match(style)
    if match is None:
        raise ValueError(f"bad timestamp style {style!r}")
    sign = -1 if match[1] == "-" else 1
    offset = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    return value.astimezone(offset).strftime("%Y-%m-%dT%H:%M:%S") + style


def normalise_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate field names and bring timestamps to stored form.

    Raises:
        ValueError: On an unknown field name (catches test typos).
    """
    unknown = sorted(set(fields) - set(COMMAND_FIELDS))
    if unknown:
        raise ValueError(f"unknown TAT Command field(s) {unknown}; known: {list(COMMAND_FIELDS)}")
    result = copy.deepcopy(fields)
    for name in TIMESTAMP_FIELDS:
        if isinstance(result.get(name), datetime):
            result[name] = utc_seconds(result[name])
    return result


def new_command(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Build a complete stored command from defaults plus the given fields.

    Args:
        fields: Overrides, by Command attribute name.
        now: Default CreatedTime.

    Returns:
        The stored command.
    """
    given = normalise_fields(fields)
    created = given.get("CreatedTime") or utc_seconds(now)
    command_id = given.get("CommandId") or new_command_id()
    defaults: dict[str, Any] = {
        "CommandId": command_id,
        "CommandName": f"emulator-{command_id[4:]}",
        "Description": "",
        "Content": base64.b64encode(b"echo hello").decode(),
        "CommandType": "SHELL",
        "WorkingDirectory": "/root",
        "Timeout": 60,
        "CreatedTime": created,
        "UpdatedTime": created,
        "EnableParameter": False,
        "DefaultParameters": "{}",
        "DefaultParameterConfs": [],
        "Scenes": [],
        "FormattedDescription": "",
        "CreatedBy": "USER",
        "Tags": [{"Key": "owner", "Value": "emulator"}],
        "Username": "root",
        "OutputCOSBucketUrl": "",
        "OutputCOSKeyPrefix": "",
    }
    command = {name: given.get(name, defaults[name]) for name in COMMAND_FIELDS}
    if not COMMAND_ID_PATTERN.match(command["CommandId"]):
        raise ValueError(f"CommandId must look like cmd-xxxxxxxx: {command['CommandId']!r}")
    return command


def to_wire(command: dict[str, Any], style: str) -> dict[str, Any]:
    """The JSON-ready form of a stored command, timestamps in the given style."""
    wire: dict[str, Any] = {}
    for name in COMMAND_FIELDS:
        value = command.get(name)
        wire[name] = (
            format_timestamp(value, style) if isinstance(value, datetime) else copy.deepcopy(value)
        )
    return wire
