"""DescribeCommands semantics: parameter validation, filters and Offset/Limit paging.

Matching and ordering are the store's job (see ``store.py``); a page is a slice of
the cached result order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .tat_model import COMMAND_ID_PATTERN

if TYPE_CHECKING:
    from .store import Window

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_COMMAND_IDS = 100
MAX_FILTERS = 10
MAX_FILTER_VALUES = 5
KNOWN_PARAMETERS = frozenset({"CommandIds", "Filters", "Limit", "Offset"})
TAG_FILTER_PREFIX = "tag:"
Command = dict[str, Any]
Predicate = Callable[[Command], bool]


class TatApiError(Exception):
    """A TAT error answer: ``Response.Error.{Code, Message}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DescribeQuery:
    """Validated DescribeCommands parameters.

    Attributes:
        limit: Page size.
        offset: Where the page starts in the result order.
        predicates: Conditions every match meets.
        ids: The CommandIds the query is limited to (CommandIds or a command-id
            filter), so matches are looked up instead of scanned; None = any.
        view_key: Identifies the filters, for the store's view cache.
    """

    limit: int
    offset: int
    predicates: tuple[Predicate, ...]
    ids: frozenset[str] | None = None
    view_key: str = ""


def _tags(command: Command) -> list[dict[str, Any]]:
    return list(command.get("Tags") or [])


def _filter_predicate(name: str, values: list[str]) -> Predicate:
    wanted = set(values)
    simple: dict[str, Callable[[Command], bool]] = {
        "command-id": lambda c: c["CommandId"] in wanted,
        "command-name": lambda c: c["CommandName"] in wanted,
        "command-type": lambda c: c["CommandType"] in wanted,
        "created-by": lambda c: c["CreatedBy"] in wanted,
        "scene-id": lambda c: bool(wanted.intersection(c.get("Scenes") or [])),
        "tag-key": lambda c: any(t.get("Key") in wanted for t in _tags(c)),
        "tag-value": lambda c: any(t.get("Value") in wanted for t in _tags(c)),
    }
    if name in simple:
        return simple[name]
    if name.startswith(TAG_FILTER_PREFIX) and len(name) > len(TAG_FILTER_PREFIX):
        key = name[len(TAG_FILTER_PREFIX) :]
        return lambda c: any(t.get("Key") == key and t.get("Value") in wanted for t in _tags(c))
    raise TatApiError(
        "InvalidParameterValue.InvalidFilter", f"The filter `{name}` is not supported."
    )


def _integer(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TatApiError(
            "InvalidParameter",
            f"The value type of parameter `{name}` is invalid, expected Integer.",
        )
    return value


def _filters(raw: Any) -> list[Predicate]:
    if not isinstance(raw, list):
        raise TatApiError(
            "InvalidParameter", "The value type of parameter `Filters` is invalid, expected Array."
        )
    if len(raw) > MAX_FILTERS:
        raise TatApiError(
            "InvalidParameterValue", f"`Filters` can hold at most {MAX_FILTERS} filters."
        )
    predicates = []
    for item in raw:
        name = item.get("Name") if isinstance(item, dict) else None
        values = item.get("Values") if isinstance(item, dict) else None
        if (
            not isinstance(name, str)
            or not isinstance(values, list)
            or not all(isinstance(v, str) for v in values)
        ):
            raise TatApiError(
                "InvalidParameter", "Each filter needs a string `Name` and a string array `Values`."
            )
        if not 1 <= len(values) <= MAX_FILTER_VALUES:
            raise TatApiError(
                "InvalidParameterValue",
                f"`Filters.Values` must hold 1 to {MAX_FILTER_VALUES} values.",
            )
        predicates.append(_filter_predicate(name, values))
    return predicates


def _command_ids(raw: Any) -> Predicate:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise TatApiError(
            "InvalidParameter",
            "The value type of parameter `CommandIds` is invalid, expected Array.",
        )
    if len(raw) > MAX_COMMAND_IDS:
        raise TatApiError(
            "InvalidParameterValue", f"`CommandIds` can hold at most {MAX_COMMAND_IDS} ids."
        )
    for command_id in raw:
        if not COMMAND_ID_PATTERN.match(command_id):
            raise TatApiError(
                "InvalidParameterValue.InvalidCommandId", f"Invalid CommandId `{command_id}`."
            )
    wanted = set(raw)
    return lambda c: c["CommandId"] in wanted


def parse_describe_query(params: dict[str, Any]) -> DescribeQuery:
    """Validate DescribeCommands parameters.

    Args:
        params: The decoded JSON body.

    Returns:
        The validated query.

    Raises:
        TatApiError: On any invalid parameter.
    """
    unknown = sorted(set(params) - KNOWN_PARAMETERS)
    if unknown:
        raise TatApiError("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    limit = _integer(params, "Limit", DEFAULT_LIMIT)
    offset = _integer(params, "Offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise TatApiError(
            "InvalidParameterValue", f"`Limit` must be between 1 and {MAX_LIMIT}, got {limit}."
        )
    if offset < 0:
        raise TatApiError("InvalidParameterValue", f"`Offset` must not be negative, got {offset}.")
    command_ids, filters = params.get("CommandIds"), params.get("Filters")
    if command_ids is not None and filters is not None:
        raise TatApiError(
            "InvalidParameter.ConflictParameter",
            "`CommandIds` and `Filters` cannot be specified at the same time.",
        )
    predicates: list[Predicate] = []
    ids: frozenset[str] | None = None
    if command_ids is not None:
        predicates.append(_command_ids(command_ids))
        ids = frozenset(command_ids)
    if filters is not None:
        predicates.extend(_filters(filters))
        # Every filter must hold, so any command-id filter bounds the candidates.
        for item in filters:
            if item["Name"] == "command-id":
                values = frozenset(item["Values"])
                ids = values if ids is None else ids & values
    view_key = json.dumps(filters, sort_keys=True) if filters is not None else ""
    return DescribeQuery(limit, offset, tuple(predicates), ids, view_key)


def describe_page(
    matching: Window,
    query: DescribeQuery,
    render: Callable[[Command], bytes],
    request_id: str,
) -> bytes:
    """Answer one DescribeCommands page.

    Args:
        matching: Every command the query matches, in the emulator's result order.
        query: The validated query.
        render: Serialises one stored command (see :func:`tat_model.wire_view`).
        request_id: The answer's RequestId.

    Returns:
        The JSON body, byte for byte what ``json.dumps`` gives for
        ``{"Response": {"TotalCount": ..., "CommandSet": [...], "RequestId": ...}}``.
    """
    commands = b", ".join(render(c) for c in matching.page(query.offset, query.limit))
    return b"".join(
        (
            b'{"Response": {"TotalCount": ',
            str(len(matching)).encode(),
            b', "CommandSet": [',
            commands,
            b'], "RequestId": ',
            json.dumps(request_id).encode(),
            b"}}",
        )
    )
