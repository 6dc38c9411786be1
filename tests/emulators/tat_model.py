"""The TAT ``Command`` record: defaults, validation and wire form.

Stored commands keep CreatedTime/UpdatedTime as timezone-aware UTC datetimes
(whole seconds); on the wire they are ISO 8601 strings whose suffix follows a
"timestamp style": "+00:00" (what TAT usually sends), "Z" (also seen), or any
"+HH:MM"/"-HH:MM" offset, the instant being rendered in that offset.
"""

from __future__ import annotations

import base64
import random
import re
import string
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

from .fields import FieldNames
from .jsonwire import JsonWriter
from .store import clone

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
_COMMAND_NAMES = FieldNames("TAT Command", COMMAND_FIELDS)
TIMESTAMP_FIELDS = ("CreatedTime", "UpdatedTime")
COMMAND_ID_PATTERN = re.compile(r"^cmd-[a-z0-9]{8}$")
DEFAULT_TIMESTAMP_STYLE = "+00:00"
_OFFSET_STYLE = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_STYLE_ZONES: dict[str, tzinfo] = {}
_WRITERS: dict[str, JsonWriter] = {}
_FOUR_DIGIT_YEAR = 1000
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


def _style_zone(style: str) -> tzinfo:
    zone = _STYLE_ZONES.get(style)
    if zone is None:
        if style == "Z":
            zone = UTC
        else:
            match = _OFFSET_STYLE.match(style)
            if match is None:
                raise ValueError(f"bad timestamp style {style!r}")
            sign = -1 if match[1] == "-" else 1
            zone = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
        _STYLE_ZONES[style] = zone
    return zone


def format_timestamp(value: datetime, style: str) -> str:
    """Render a stored timestamp in a style, e.g. "2020-11-02T10:48:11+08:00"."""
    if style == DEFAULT_TIMESTAMP_STYLE and value.tzinfo is UTC and not value.microsecond:
        # The common case (stored UTC, default style): isoformat says it all.
        text = value.isoformat()
        if value.year >= _FOUR_DIGIT_YEAR:
            return text
    local = value.astimezone(_style_zone(style))
    # isoformat is several times faster than strftime, and gives the same first 19
    # characters for years from 1000 on (strftime does not zero-pad smaller years).
    if local.year >= _FOUR_DIGIT_YEAR:
        text = local.isoformat(timespec="seconds")[:19]
    else:
        text = local.strftime("%Y-%m-%dT%H:%M:%S")
    return text + style


# Rejects names that are not attributes of the Command model (catches test typos).
check_field_names = _COMMAND_NAMES.check


def normalise_fields(fields: dict[str, Any], *, copy: bool = True) -> dict[str, Any]:
    """Validate field names and bring timestamps to stored form.

    Args:
        fields: Command attributes by name.
        copy: Deep-copy the values; False hands the caller's objects over to the store.

    Returns:
        The normalised attributes (a new dict either way).

    Raises:
        ValueError: On an unknown field name (catches test typos).
    """
    check_field_names(fields)
    result = clone(fields) if copy else dict(fields)
    for name in TIMESTAMP_FIELDS:
        if isinstance(result.get(name), datetime):
            result[name] = utc_seconds(result[name])
    return result


def new_command(fields: dict[str, Any], now: datetime, *, copy: bool = True) -> dict[str, Any]:
    """Build a complete stored command from defaults plus the given fields.

    Args:
        fields: Overrides, by Command attribute name.
        now: Default CreatedTime.
        copy: Deep-copy the given values (False: the store takes them over).

    Returns:
        The stored command.
    """
    given = normalise_fields(fields, copy=copy)
    if len(given) == len(COMMAND_FIELDS) and given["CommandId"] and given["CreatedTime"]:
        # Every attribute given (bulk sample data): no defaults to build.
        command = {name: given[name] for name in COMMAND_FIELDS}
    else:
        command = _with_defaults(given, now)
    if not COMMAND_ID_PATTERN.match(command["CommandId"]):
        raise ValueError(f"CommandId must look like cmd-xxxxxxxx: {command['CommandId']!r}")
    return command


def _with_defaults(given: dict[str, Any], now: datetime) -> dict[str, Any]:
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
    return {name: given.get(name, defaults[name]) for name in COMMAND_FIELDS}


def to_wire(command: dict[str, Any], style: str) -> dict[str, Any]:
    """The JSON-ready form of a stored command, timestamps in the given style (a copy)."""
    wire: dict[str, Any] = {}
    for name in COMMAND_FIELDS:
        value = command.get(name)
        wire[name] = format_timestamp(value, style) if isinstance(value, datetime) else clone(value)
    return wire


def json_default(style: str) -> Callable[[Any], Any]:
    """A ``json.dumps`` ``default`` that renders datetimes in a timestamp style."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return format_timestamp(value, style)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    return default


def render_command(command: dict[str, Any], style: str) -> bytes:
    """The serialised wire form of a stored command: ``json.dumps(to_wire(command, style))``.

    Encodes the stored dict itself (timestamps through the style's ``default``)
    instead of building a copy first.
    """
    writer = _WRITERS.get(style)
    if writer is None:
        writer = _WRITERS[style] = JsonWriter(json_default(check_timestamp_style(style)))
    if len(command) != len(COMMAND_FIELDS):
        return writer(to_wire(command, style))
    return writer(command)
