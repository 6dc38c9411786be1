"""DescribeCommands semantics: parameter validation, filters and Offset/Limit paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .tat_model import COMMAND_ID_PATTERN

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
    """Validated DescribeCommands parameters."""

    limit: int
    offset: int
    predicates: tuple[Predicate, ...]


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
    if command_ids is not None:
        predicates.append(_command_ids(command_ids))
    if filters is not None:
        predicates.extend(_filters(filters))
    return DescribeQuery(limit, offset, tuple(predicates))


def describe_commands(
    commands: list[Command],
    query: DescribeQuery,
    sort: Callable[[list[Command]], list[Command]],
    to_wire: Callable[[Command], dict[str, Any]],
) -> dict[str, Any]:
    """Answer one DescribeCommands page (without RequestId).

    Args:
        commands: Every stored command of the region.
        query: The validated query.
        sort: Puts matching commands in the emulator's configured order.
        to_wire: Renders one stored command.

    Returns:
        ``TotalCount`` (all matches) and ``CommandSet`` (this page).
    """
    matching = sort([c for c in commands if all(p(c) for p in query.predicates)])
    page = matching[query.offset : query.offset + query.limit]
    return {"TotalCount": len(matching), "CommandSet": [to_wire(c) for c in page]}
