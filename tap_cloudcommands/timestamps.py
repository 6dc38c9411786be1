"""Parse the clouds' timestamps and emit them as one fixed RFC 3339 UTC form.

Every emitted timestamp has the same width (microseconds, ``+00:00``) because the SDK
compares bookmark values as strings: mixed forms such as ``...Z`` and ``...+00:00`` would
sort wrongly.
"""

from __future__ import annotations

import datetime as dt

import pendulum

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
CANONICAL_LENGTH = len("2021-05-12T02:49:04.000000+00:00")
SECONDS_Z_LENGTH = len("2021-05-12T02:49:04Z")
SECONDS_OFFSET_LENGTH = len("2021-05-12T02:49:04+00:00")


def parse_timestamp(value: object) -> dt.datetime:
    """Return an aware UTC datetime for a timestamp in any form the clouds send.

    Args:
        value: A ``datetime`` (boto3 gives ``tzlocal()`` ones), epoch seconds, or an
            ISO 8601 / RFC 3339 string with ``Z``, an offset, or no zone (taken as UTC).

    Returns:
        The same instant in UTC, as a plain ``datetime``.

    Raises:
        ValueError: If the value is not a timestamp, or not one a datetime can hold.
    """
    try:
        parsed = _to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        in_utc = parsed.astimezone(UTC)
    except (OverflowError, OSError) as exc:
        msg = f"timestamp out of range: {value!r}"
        raise ValueError(msg) from exc
    # A plain datetime: pendulum's DateTime drops a stdlib tzinfo in arithmetic.
    return dt.datetime(
        in_utc.year,
        in_utc.month,
        in_utc.day,
        in_utc.hour,
        in_utc.minute,
        in_utc.second,
        in_utc.microsecond,
        tzinfo=UTC,
    )


def _to_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - callers handle one error type
    try:
        # The stdlib reads the forms the APIs send (Z, offsets, fractions), and fast.
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        parsed = pendulum.parse(value, tz="UTC")
    except (pendulum.parsing.exceptions.ParserError, ValueError) as exc:
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg) from exc
    if not isinstance(parsed, dt.datetime):
        msg = f"not a date and time: {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - callers handle one error type
    return parsed


def format_timestamp(value: dt.datetime) -> str:
    """Format an aware datetime as fixed-width RFC 3339 in UTC.

    Args:
        value: An aware datetime.

    Returns:
        For example ``2021-05-12T02:49:04.000000+00:00``.
    """
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def instant_and_text(value: object) -> tuple[dt.datetime, str]:
    """Parse a timestamp once; return the instant and its fixed-width UTC text.

    Args:
        value: Anything :func:`parse_timestamp` accepts.

    Returns:
        The UTC instant and its text, e.g. ``2021-05-12T02:49:04.000000+00:00``.
    """
    if type(value) is str:
        # The hot path of every record: a UTC ISO string. The stdlib checks it; the text
        # of the usual forms is then cut, not formatted (several times faster).
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is UTC and value[10:11] == "T":
                if len(value) == CANONICAL_LENGTH and value[19] == ".":
                    return parsed, value
                if (len(value) == SECONDS_Z_LENGTH and value[19] == "Z") or (
                    len(value) == SECONDS_OFFSET_LENGTH and value[19:] == "+00:00"
                ):
                    return parsed, value[:19] + ".000000+00:00"
                return parsed, parsed.isoformat(timespec="microseconds")
    elif type(value) is dt.datetime and value.tzinfo is UTC:
        # What the tap's boto3 timestamp parser gives (see aws.utc_timestamp).
        return value, value.isoformat(timespec="microseconds")
    instant = parse_timestamp(value)
    return instant, instant.isoformat(timespec="microseconds")


def utc_now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(UTC)


def normalize_timestamp(value: object) -> str:
    """Parse a timestamp and format it as fixed-width RFC 3339 in UTC.

    Args:
        value: Anything :func:`parse_timestamp` accepts.

    Returns:
        The formatted UTC timestamp.
    """
    return format_timestamp(parse_timestamp(value))
