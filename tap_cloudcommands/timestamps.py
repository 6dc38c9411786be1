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


def parse_timestamp(value: object) -> dt.datetime:
    """Return an aware UTC datetime for a timestamp in any form the clouds send.

    Args:
        value: A ``datetime`` (boto3 gives ``tzlocal()`` ones), epoch seconds, or an
            ISO 8601 / RFC 3339 string with ``Z``, an offset, or no zone (taken as UTC).

    Returns:
        The same instant in UTC.

    Raises:
        ValueError: If the value is not a timestamp.
    """
    if isinstance(value, dt.datetime):
        parsed = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            msg = f"timestamp out of range: {value!r}"
            raise ValueError(msg) from exc
    elif isinstance(value, str):
        try:
            parsed_any = pendulum.parse(value, tz="UTC")
        except (pendulum.parsing.exceptions.ParserError, ValueError) as exc:
            msg = f"not a timestamp: {value!r}"
            raise ValueError(msg) from exc
        if not isinstance(parsed_any, dt.datetime):
            msg = f"not a date and time: {value!r}"
            raise ValueError(msg)  # noqa: TRY004 - callers handle one error type
        parsed = parsed_any
    else:
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004 - callers handle one error type
    try:
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


def format_timestamp(value: dt.datetime) -> str:
    """Format an aware datetime as fixed-width RFC 3339 in UTC.

    Args:
        value: An aware datetime.

    Returns:
        For example ``2021-05-12T02:49:04.000000+00:00``.
    """
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def normalize_timestamp(value: object) -> str:
    """Parse a timestamp and format it as fixed-width RFC 3339 in UTC.

    Args:
        value: Anything :func:`parse_timestamp` accepts.

    Returns:
        The formatted UTC timestamp.
    """
    return format_timestamp(parse_timestamp(value))
