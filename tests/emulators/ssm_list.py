"""ListCommands and ListCommandInvocations semantics: validation, filters, NextToken paging.

Both actions share the parameters (CommandId, InstanceId, MaxResults, NextToken,
Filters) and their rules; ListCommandInvocations adds Details and accepts the
invocation statuses (and the StatusDetails values AWS documents) in a Status filter.

Matching and ordering are the store's job (see ``store.py``): a query is reduced to
predicates, InvokedAfter/InvokedBefore bounds and an optional CommandId, and a page
is a slice of the cached result order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .ssm_invocations import (
    INVOCATION_DETAIL_FILTER_VALUES,
    INVOCATION_EXECUTING_STATUSES,
    INVOCATION_STATUSES,
)
from .ssm_model import (
    COMMAND_ID_LENGTH,
    COMMAND_STATUSES,
    COMPLETE_STATUSES,
    EXECUTING_STATUSES,
)

if TYPE_CHECKING:
    from .store import Window

MAX_RESULTS_LIMIT = 50
DEFAULT_PAGE_SIZE = 50
MAX_FILTERS = 5
FILTER_KEYS = ("InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName")
INSTANCE_ID_PATTERN = re.compile(r"(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)")
Command = dict[str, Any]
Predicate = Callable[[Command], bool]


class SsmApiError(Exception):
    """An SSM error answer: ``{"__type": code, "message": message}`` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ListQuery:
    """Validated ListCommands / ListCommandInvocations parameters.

    Attributes:
        page_size: MaxResults.
        offset: Where the page starts in the query's result order (from NextToken).
        fingerprint: Identifies the query's filters (region included).
        predicates: Conditions besides the time bounds and the CommandId.
        invoked_after: RequestedDateTime >= this (the latest InvokedAfter), or None.
        invoked_before: RequestedDateTime <= this (the earliest InvokedBefore), or None.
        command_id: Only this CommandId, or None.
        details: ListCommandInvocations' Details (False for ListCommands).
    """

    page_size: int
    offset: int
    fingerprint: str
    predicates: tuple[Predicate, ...]
    invoked_after: datetime | None = None
    invoked_before: datetime | None = None
    command_id: str | None = None
    details: bool = False


@dataclass
class _Criteria:
    predicates: list[Predicate] = field(default_factory=list)
    after: datetime | None = None
    before: datetime | None = None
    command_id: str | None = None


def _validation_error(value: Any, where: str, constraint: str) -> SsmApiError:
    # Mirrors the wording of AWS's Coral validation messages.
    return SsmApiError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{where}' "
        f"failed to satisfy constraint: {constraint}",
    )


def _serialization_error(message: str) -> SsmApiError:
    # What AWS answers when a member has the wrong JSON type.
    return SsmApiError("SerializationException", message)


def parse_filter_time(value: str) -> datetime:
    """Parse an ISO 8601 filter date; a value without offset is taken as UTC.

    Raises:
        ValueError: When the value is not a date.
    """
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _add_filter(key: Any, value: Any, criteria: _Criteria, *, invocations: bool) -> None:
    if key not in FILTER_KEYS:
        raise SsmApiError(
            "InvalidFilterKey",
            f"The filter key {key!r} is not valid. Valid keys: {list(FILTER_KEYS)}",
        )
    if not isinstance(value, str) or not value:
        raise SsmApiError(
            "InvalidFilterValue", f"The filter value {value!r} for key {key} is not valid."
        )
    if key in ("InvokedAfter", "InvokedBefore"):
        try:
            moment = parse_filter_time(value)
        except ValueError:
            raise SsmApiError(
                "InvalidFilterValue", f"The filter value {value!r} is not a valid date."
            ) from None
        # Several bounds of one kind combine with AND: the tightest one wins.
        if key == "InvokedAfter":
            criteria.after = moment if criteria.after is None else max(criteria.after, moment)
        else:
            criteria.before = moment if criteria.before is None else min(criteria.before, moment)
        return
    criteria.predicates.append(
        _invocation_filter_predicate(key, value) if invocations else _filter_predicate(key, value)
    )


def _invocation_filter_predicate(key: str, value: str) -> Predicate:
    if key == "Status":
        if value in INVOCATION_STATUSES:
            return lambda c: bool(c["Status"] == value)
        if value in INVOCATION_DETAIL_FILTER_VALUES:
            return lambda c: bool(c["StatusDetails"] == value)
        raise SsmApiError(
            "InvalidFilterValue",
            f"The filter value {value!r} is not a valid command invocation status.",
        )
    if key == "ExecutionStage":
        if value == "Executing":
            return lambda c: c["Status"] in INVOCATION_EXECUTING_STATUSES
        if value == "Complete":
            return lambda c: c["Status"] not in INVOCATION_EXECUTING_STATUSES
        raise SsmApiError(
            "InvalidFilterValue", f"The filter value {value!r} is not a valid execution stage."
        )
    return lambda c: bool(c["DocumentName"] == value)


def _filter_predicate(key: str, value: str) -> Predicate:
    if key == "Status":
        if value not in COMMAND_STATUSES:
            raise SsmApiError(
                "InvalidFilterValue", f"The filter value {value!r} is not a valid command status."
            )
        return lambda c: bool(c["Status"] == value)
    if key == "ExecutionStage":
        stages = {"Executing": EXECUTING_STATUSES, "Complete": COMPLETE_STATUSES}
        if value not in stages:
            raise SsmApiError(
                "InvalidFilterValue", f"The filter value {value!r} is not a valid execution stage."
            )
        statuses = stages[value]
        return lambda c: c["Status"] in statuses
    return lambda c: bool(c["DocumentName"] == value)


def _page_size(params: dict[str, Any]) -> int:
    size = params.get("MaxResults")
    if size is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(size, bool) or not isinstance(size, int):
        raise _serialization_error(f"MaxResults must be an integer, got {size!r}")
    if size < 1:
        raise _validation_error(
            size, "maxResults", "Member must have value greater than or equal to 1"
        )
    if size > MAX_RESULTS_LIMIT:
        raise _validation_error(
            size, "maxResults", f"Member must have value less than or equal to {MAX_RESULTS_LIMIT}"
        )
    return size


def _criteria(params: dict[str, Any], *, invocations: bool = False) -> _Criteria:
    criteria = _Criteria()
    command_id = params.get("CommandId")
    if command_id is not None:
        if not isinstance(command_id, str) or len(command_id) != COMMAND_ID_LENGTH:
            raise SsmApiError("InvalidCommandId", f"The command ID {command_id!r} is not valid.")
        criteria.command_id = command_id
    instance_id = params.get("InstanceId")
    if instance_id is not None:
        if not isinstance(instance_id, str) or not INSTANCE_ID_PATTERN.match(instance_id):
            raise SsmApiError("InvalidInstanceId", f"The instance ID {instance_id!r} is not valid.")
        if invocations:
            criteria.predicates.append(lambda c: c["InstanceId"] == instance_id)
        else:
            criteria.predicates.append(lambda c: instance_id in (c["InstanceIds"] or []))
    filters = params.get("Filters")
    if filters is not None:
        _add_filters(filters, criteria, invocations=invocations)
    return criteria


def _add_filters(filters: Any, criteria: _Criteria, *, invocations: bool) -> None:
    if not isinstance(filters, list):
        raise _serialization_error("Filters must be a list")
    if not 1 <= len(filters) <= MAX_FILTERS:
        bound = (
            "greater than or equal to 1" if not filters else f"less than or equal to {MAX_FILTERS}"
        )
        raise _validation_error(filters, "filters", f"Member must have length {bound}")
    for item in filters:
        if not isinstance(item, dict):
            raise _serialization_error("each filter must be an object with key and value")
        _add_filter(item.get("key"), item.get("value"), criteria, invocations=invocations)


def _fingerprint(region: str, params: dict[str, Any], action: str = "ListCommands") -> str:
    # A token is only good for the query (and action) that produced it, as with real
    # AWS tokens. Details does not change what matches, so it may change between pages.
    scope = {name: params.get(name) for name in ("CommandId", "InstanceId", "Filters")}
    if action != "ListCommands":
        scope["action"] = action
    text = json.dumps({"region": region, **scope}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(offset: int, fingerprint: str) -> str:
    """An opaque NextToken for a page starting at ``offset``."""
    raw = json.dumps({"offset": offset, "query": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: Any, fingerprint: str) -> int:
    invalid = SsmApiError("InvalidNextToken", "The specified token is not valid.")
    if not isinstance(token, str):
        raise invalid
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(decoded, dict) or decoded.get("query") != fingerprint:
        raise invalid
    offset = decoded.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid
    return offset


def parse_list_query(
    region: str, params: dict[str, Any], *, invocations: bool = False
) -> ListQuery:
    """Validate ListCommands (or ListCommandInvocations) parameters in AWS's order.

    Args:
        region: The region being listed (tokens are bound to it).
        params: The decoded JSON body.
        invocations: Validate for ListCommandInvocations (adds Details; the Status
            filter takes invocation statuses; InstanceId matches the invocation's).

    Returns:
        The validated query.

    Raises:
        SsmApiError: On any invalid parameter.
    """
    page_size = _page_size(params)
    criteria = _criteria(params, invocations=invocations)
    details = params.get("Details", False) if invocations else False
    if details is None:
        details = False
    if not isinstance(details, bool):
        raise _serialization_error(f"Details must be a boolean, got {details!r}")
    action = "ListCommandInvocations" if invocations else "ListCommands"
    fingerprint = _fingerprint(region, params, action)
    token = params.get("NextToken")
    offset = 0 if token is None else _decode_token(token, fingerprint)
    return ListQuery(
        page_size,
        offset,
        fingerprint,
        tuple(criteria.predicates),
        criteria.after,
        criteria.before,
        criteria.command_id,
        details,
    )


def list_page(
    matching: Window,
    query: ListQuery,
    render: Callable[[Command], bytes],
    result_key: str = "Commands",
) -> bytes:
    """Answer one ListCommands (or ListCommandInvocations) page.

    Args:
        matching: Every record the query matches, in the emulator's result order.
        query: The validated query.
        render: Serialises one stored record.
        result_key: "Commands" or "CommandInvocations".

    Returns:
        The JSON body, byte for byte what ``json.dumps`` gives for the result list and,
        when more remain, ``NextToken``.
    """
    end = query.offset + query.page_size
    commands = b", ".join(render(c) for c in matching.page(query.offset, query.page_size))
    body = b'{"' + result_key.encode() + b'": [' + commands + b"]"
    if end < len(matching):
        body += b', "NextToken": ' + json.dumps(encode_token(end, query.fingerprint)).encode()
    return body + b"}"
