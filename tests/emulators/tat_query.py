"""DescribeCommands, DescribeInvocations and DescribeInvocationTasks semantics:
parameter validation, filters and Offset/Limit paging.

The three actions share their rules (an id list XOR Filters, at most 10 filters of
1..5 values, Limit 1..100 default 20, Offset >= 0); a :class:`DescribeSpec` says what
differs (the id parameter, its pattern, the filter names, extra parameters).

Matching and ordering are the store's job (see ``store.py``); a page is a slice of
the cached result order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .tat_invocations import INVOCATION_ID_PATTERN, TASK_ID_PATTERN
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
        groups: Values of the spec's group filter (e.g. the invocation-id of tasks), so
            the candidates are a group lookup; None = any.
        hide_output: DescribeInvocationTasks' HideOutput (default true).
    """

    limit: int
    offset: int
    predicates: tuple[Predicate, ...]
    ids: frozenset[str] | None = None
    view_key: str = ""
    groups: frozenset[str] | None = None
    hide_output: bool = True


@dataclass(frozen=True)
class DescribeSpec:
    """What one Describe* action accepts.

    Attributes:
        ids_param: The id-list parameter (e.g. "CommandIds").
        id_field: The record member those ids name.
        id_pattern: What a valid id looks like.
        invalid_id_code: The error code of an invalid id.
        filter_predicate: Builds a filter's predicate (raises on an unknown name).
        id_filter: The filter naming ``id_field`` (bounds the candidates), if any.
        group_filter: The filter naming the store's group field, if any.
        booleans: Extra boolean parameters and their defaults (e.g. HideOutput).
    """

    ids_param: str
    id_field: str
    id_pattern: re.Pattern[str]
    invalid_id_code: str
    filter_predicate: Callable[[str, list[str]], Predicate]
    id_filter: str | None = None
    group_filter: str | None = None
    booleans: dict[str, bool] = field(default_factory=dict)

    @property
    def known_parameters(self) -> frozenset[str]:
        return frozenset({self.ids_param, "Filters", "Limit", "Offset", *self.booleans})


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


def _filters(
    raw: Any, filter_predicate: Callable[[str, list[str]], Predicate] | None = None
) -> list[Predicate]:
    build = filter_predicate or _filter_predicate
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
        predicates.append(build(name, values))
    return predicates


def parse_describe_query(params: dict[str, Any], spec: DescribeSpec | None = None) -> DescribeQuery:
    """Validate Describe* parameters (DescribeCommands' when no spec is given).

    Args:
        params: The decoded JSON body.
        spec: What the action accepts.

    Returns:
        The validated query.

    Raises:
        TatApiError: On any invalid parameter.
    """
    spec = spec or COMMANDS_SPEC
    unknown = sorted(set(params) - spec.known_parameters)
    if unknown:
        raise TatApiError("UnknownParameter", f"The parameter `{unknown[0]}` is not recognized.")
    limit, offset = _paging(params)
    booleans = _booleans(params, spec)
    id_list, filters = params.get(spec.ids_param), params.get("Filters")
    if id_list is not None and filters is not None:
        raise TatApiError(
            "InvalidParameter.ConflictParameter",
            f"`{spec.ids_param}` and `Filters` cannot be specified at the same time.",
        )
    predicates: list[Predicate] = []
    ids: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    if id_list is not None:
        predicates.append(_id_list(id_list, spec))
        ids = frozenset(id_list)
    if filters is not None:
        predicates.extend(_filters(filters, spec.filter_predicate))
        # Every filter must hold, so any id (or group) filter bounds the candidates.
        for item in filters:
            values = frozenset(item["Values"])
            if item["Name"] == spec.id_filter:
                ids = values if ids is None else ids & values
            elif item["Name"] == spec.group_filter:
                groups = values if groups is None else groups & values
    view_key = json.dumps(filters, sort_keys=True) if filters is not None else ""
    return DescribeQuery(
        limit,
        offset,
        tuple(predicates),
        ids,
        view_key,
        groups,
        booleans.get("HideOutput", True),
    )


def _paging(params: dict[str, Any]) -> tuple[int, int]:
    limit = _integer(params, "Limit", DEFAULT_LIMIT)
    offset = _integer(params, "Offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise TatApiError(
            "InvalidParameterValue", f"`Limit` must be between 1 and {MAX_LIMIT}, got {limit}."
        )
    if offset < 0:
        raise TatApiError("InvalidParameterValue", f"`Offset` must not be negative, got {offset}.")
    return limit, offset


def _booleans(params: dict[str, Any], spec: DescribeSpec) -> dict[str, bool]:
    booleans = {}
    for name, default in spec.booleans.items():
        value = params.get(name)
        if value is None:
            value = default
        if not isinstance(value, bool):
            raise TatApiError(
                "InvalidParameter",
                f"The value type of parameter `{name}` is invalid, expected Boolean.",
            )
        booleans[name] = value
    return booleans


def _id_list(raw: Any, spec: DescribeSpec) -> Predicate:
    name = spec.ids_param
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise TatApiError(
            "InvalidParameter", f"The value type of parameter `{name}` is invalid, expected Array."
        )
    if len(raw) > MAX_COMMAND_IDS:
        raise TatApiError(
            "InvalidParameterValue", f"`{name}` can hold at most {MAX_COMMAND_IDS} ids."
        )
    for value in raw:
        if not spec.id_pattern.match(value):
            raise TatApiError(spec.invalid_id_code, f"Invalid {spec.id_field} `{value}`.")
    wanted = set(raw)
    field_name = spec.id_field
    return lambda c: c[field_name] in wanted


COMMANDS_SPEC = DescribeSpec(
    ids_param="CommandIds",
    id_field="CommandId",
    id_pattern=COMMAND_ID_PATTERN,
    invalid_id_code="InvalidParameterValue.InvalidCommandId",
    filter_predicate=_filter_predicate,
    id_filter="command-id",
)


def describe_page(
    matching: Window,
    query: DescribeQuery,
    render: Callable[[Command], bytes],
    request_id: str,
    set_name: str = "CommandSet",
) -> bytes:
    """Answer one Describe* page.

    Args:
        matching: Every record the query matches, in the emulator's result order.
        query: The validated query.
        render: Serialises one stored record.
        request_id: The answer's RequestId.
        set_name: "CommandSet", "InvocationSet" or "InvocationTaskSet".

    Returns:
        The JSON body, byte for byte what ``json.dumps`` gives for
        ``{"Response": {"TotalCount": ..., set_name: [...], "RequestId": ...}}``.
    """
    commands = b", ".join(render(c) for c in matching.page(query.offset, query.limit))
    return b"".join(
        (
            b'{"Response": {"TotalCount": ',
            str(len(matching)).encode(),
            b', "' + set_name.encode() + b'": [',
            commands,
            b'], "RequestId": ',
            json.dumps(request_id).encode(),
            b"}}",
        )
    )


def _unknown_filter(name: str) -> TatApiError:
    return TatApiError(
        "InvalidParameterValue.InvalidFilter", f"The filter `{name}` is not supported."
    )


def invocations_spec(created_by: Callable[[Command], str]) -> DescribeSpec:
    """DescribeInvocations: InvocationIds, or filters invocation-id, command-id,
    command-created-by (TAT | USER, the invoked command's CreatedBy, told by
    ``created_by``) and instance-kind (CVM | LIGHTHOUSE).
    """

    def predicate(name: str, values: list[str]) -> Predicate:
        wanted = set(values)
        if name == "invocation-id":
            return lambda i: i["InvocationId"] in wanted
        if name == "command-id":
            return lambda i: i["CommandId"] in wanted
        if name == "command-created-by":
            return lambda i: created_by(i) in wanted
        if name == "instance-kind":
            return lambda i: i["InstanceKind"] in wanted
        raise _unknown_filter(name)

    return DescribeSpec(
        ids_param="InvocationIds",
        id_field="InvocationId",
        id_pattern=INVOCATION_ID_PATTERN,
        invalid_id_code="InvalidParameterValue.InvalidInvocationId",
        filter_predicate=predicate,
        id_filter="invocation-id",
        group_filter="command-id",
    )


def _task_predicate(name: str, values: list[str]) -> Predicate:
    wanted = set(values)
    members = {
        "invocation-task-id": "InvocationTaskId",
        "invocation-id": "InvocationId",
        "instance-id": "InstanceId",
        "command-id": "CommandId",
    }
    if name not in members:
        raise _unknown_filter(name)
    member = members[name]
    return lambda t: t[member] in wanted


# DescribeInvocationTasks: InvocationTaskIds, or filters invocation-task-id,
# invocation-id, instance-id, command-id; HideOutput defaults to true.
TASKS_SPEC = DescribeSpec(
    ids_param="InvocationTaskIds",
    id_field="InvocationTaskId",
    id_pattern=TASK_ID_PATTERN,
    invalid_id_code="InvalidParameterValue.InvalidInvocationTaskId",
    filter_predicate=_task_predicate,
    id_filter="invocation-task-id",
    group_filter="invocation-id",
    booleans={"HideOutput": True},
)
