"""Command storage shared by the emulators: regions, data versions and cached orders.

A page must not cost a sort of the whole region: with 200,000 commands one sort
takes more than half a second. So the store keeps, per region:

- the commands in result order, built once and then maintained in place (bisect
  insert/remove) while the order is by time, or rebuilt lazily for "shuffled";
- filtered subsets in result order, cached until the region's data version moves
  (every add, update and delete bumps it);
- time bounds (SSM InvokedAfter/InvokedBefore) as a bisect on the time order, so
  they need neither a scan nor a cache.

A page is then a slice of a cached list: O(page). Each command's serialised wire
form is cached too (per timestamp style), dropped when the command changes, so
reading the same data again costs little more than joining bytes. The store is not
thread-safe on its own; the emulator's lock guards every call.
"""

from __future__ import annotations

import contextlib
import copy
import gc
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, TypeVar, cast

__all__ = ["CommandStore", "Window", "clone", "gc_paused"]

Command = dict[str, Any]
T = TypeVar("T")
Predicate = Callable[[Command], bool]
Sort = Callable[[list[Command]], list[Command]]

TIME_ORDERS = frozenset({"newest_first", "oldest_first"})
# A batch larger than this is not bisected into a built order: re-sorting later is cheaper.
_INCREMENTAL_BATCH = 256
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime, date, time, timedelta})


def clone(value: T) -> T:
    """A deep copy of JSON-like data (dicts, lists, scalars, datetimes), fast.

    ``copy.deepcopy`` keeps a memo and dispatches per type, which dominates filling an
    emulator with 200,000 commands. Immutable leaves are shared; anything unusual
    falls back to ``copy.deepcopy``.

    Args:
        value: The value to copy.

    Returns:
        An independent copy.
    """
    kind = type(value)
    if kind is dict:
        return cast("T", {key: clone(item) for key, item in value.items()})  # type: ignore[attr-defined]
    if kind is list:
        return cast("T", [clone(item) for item in value])  # type: ignore[attr-defined]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many containers.

    Filling (or copying) a region allocates millions of dicts and lists and frees none:
    every automatic collection would walk all of them again, turning linear work
    quadratic. The data is acyclic, so nothing is lost by collecting later.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class Window:
    """A run of an ordered list, read in result order without copying it.

    Attributes:
        records: The backing list (ascending by time, or already in result order).
        start: First index of the run.
        stop: One past the last index of the run.
        descending: Read from ``stop - 1`` down to ``start`` (newest first).
    """

    records: Sequence[Command]
    start: int
    stop: int
    descending: bool

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def page(self, offset: int, size: int) -> list[Command]:
        """The ``size`` records from ``offset`` on, in result order."""
        if offset >= len(self) or size <= 0:
            return []
        if self.descending:
            high = self.stop - offset
            return list(reversed(self.records[max(self.start, high - size) : high]))
        low = self.start + offset
        return list(self.records[low : min(self.stop, low + size)])


@dataclass
class _Ordered:
    """One region's commands, in the order a query reads them."""

    order: tuple[str, int]  # (order, order_seed) it was built for
    # Ascending by (timestamp, CommandId) for the time orders; result order for "shuffled".
    records: list[Command]


class CommandStore:
    """Records (commands, invocations, tasks) by region and id, with cached orders and views.

    The record id is one member (``id_field="CommandId"``, the default) or several
    (``id_field=("CommandId", "InstanceId")`` gives tuple keys), so one class serves
    every kind of record. An optional ``group_field`` keeps an index from that
    member's value to the ids holding it (e.g. an invocation's tasks), so a query
    limited to one group is a lookup, not a scan.

    Attributes:
        timestamp_field: The member results are ordered by (with the id breaking ties).
        key: Extracts a record's id (a string, or a tuple for a composite id).
        group_field: The indexed member, or None.
        version: Bumped on every change in any region.
    """

    def __init__(
        self,
        timestamp_field: str,
        *,
        id_field: str | tuple[str, ...] = "CommandId",
        group_field: str | None = None,
        view_cache_size: int = 32,
    ) -> None:
        """Create an empty store.

        Args:
            timestamp_field: The member results are ordered by.
            id_field: The member (or members, for a composite id) that identify a record.
            group_field: A member to index (record ids by its value), or None.
            view_cache_size: How many filtered views to keep (least recently used go).
        """
        self.timestamp_field = timestamp_field
        self.id_field = id_field
        fields = (id_field,) if isinstance(id_field, str) else tuple(id_field)
        self.key: Callable[[Command], Hashable] = itemgetter(*fields)
        self.group_field = group_field
        self.version = 0
        self._regions: dict[str, dict[Hashable, Command]] = {}
        self._groups: dict[str, dict[Any, dict[Hashable, None]]] = {}
        self._versions: dict[str, int] = {}
        self._ordered: dict[str, _Ordered] = {}
        self._views: OrderedDict[tuple[str, Hashable], tuple[int, tuple[str, int], list[Command]]]
        self._views = OrderedDict()
        self._view_cache_size = view_cache_size
        self._fragments: dict[tuple[str, Hashable], tuple[Hashable, bytes]] = {}

    # ---------------------------------------------------------------- data
    def sort_key(self, command: Command) -> tuple[Any, Any]:
        """The ascending time-order key of a record: (timestamp, id)."""
        return (command[self.timestamp_field], self.key(command))

    def region_version(self, region: str) -> int:
        """The region's data version (moves on every add, update and delete there)."""
        return self._versions.get(region, 0)

    def regions(self) -> list[str]:
        """Regions that ever held a command."""
        return list(self._regions)

    def records(self, region: str) -> list[Command]:
        """The region's stored commands (not copies), in insertion order."""
        return list(self._regions.get(region, {}).values())

    def count(self, region: str) -> int:
        """How many commands the region holds."""
        return len(self._regions.get(region, {}))

    def has(self, region: str, command_id: Hashable) -> bool:
        """Tell whether the region holds that record."""
        return command_id in self._regions.get(region, {})

    def group(self, region: str, value: Any) -> list[Hashable]:
        """Ids of the records whose ``group_field`` is ``value``, in insertion order."""
        return list(self._groups.get(region, {}).get(value, ()))

    def get(self, region: str, command_id: Hashable) -> Command:
        """The stored command (not a copy).

        Raises:
            KeyError: If there is no such command.
        """
        return self._regions.get(region, {})[command_id]

    def add_new(self, region: str, records: Sequence[Command]) -> None:
        """Store records whose ids are all new, or none of them.

        A record whose id is already stored, or given twice in the batch, stops the add.

        Raises:
            ValueError: On a duplicate id.
        """
        seen: set[Hashable] = set()
        for record in records:
            key = self.key(record)
            if key in seen or self.has(region, key):
                raise ValueError(f"duplicate {self.id_field} {key} in {region}")
            seen.add(key)
        self.add(region, records)

    def add(self, region: str, commands: Sequence[Command]) -> None:
        """Store new commands (the caller has checked their ids are new)."""
        store = self._regions.setdefault(region, {})
        key = self.key
        for command in commands:
            store[key(command)] = command
        if self.group_field is not None:
            groups = self._groups.setdefault(region, {})
            field = self.group_field
            for command in commands:
                groups.setdefault(command[field], {})[key(command)] = None
        if len(commands) > _INCREMENTAL_BATCH:
            self._ordered.pop(region, None)
        else:
            self._keep_ordered(region, lambda records: self._insert(records, commands))
        self._bump(region)

    def update(self, region: str, command_id: Hashable, changes: dict[str, Any]) -> Command:
        """Apply changes to a stored command.

        Raises:
            KeyError: If there is no such command.
        """
        command = self._regions.get(region, {})[command_id]
        if any(name in changes and changes[name] != command.get(name) for name in self._id_fields):
            raise ValueError(f"{self.id_field} cannot change")
        field = self.timestamp_field
        moves = field in changes and changes[field] != command.get(field)
        if moves:
            self._keep_ordered(region, lambda records: self._remove(records, command))
        regroup = self.group_field is not None and self.group_field in changes
        if regroup:
            self._ungroup(region, command_id, command)
        command.update(changes)
        if regroup:
            group = command[cast("str", self.group_field)]
            self._groups.setdefault(region, {}).setdefault(group, {})[command_id] = None
        self._fragments.pop((region, command_id), None)
        if moves:
            self._keep_ordered(region, lambda records: self._insert(records, [command]))
        self._bump(region)
        return command

    def delete(self, region: str, command_id: Hashable) -> Command:
        """Remove a stored command.

        Raises:
            KeyError: If there is no such command.
        """
        command = self._regions.get(region, {})[command_id]
        self._keep_ordered(region, lambda records: self._remove(records, command))
        del self._regions[region][command_id]
        if self.group_field is not None:
            self._ungroup(region, command_id, command)
        self._fragments.pop((region, command_id), None)
        self._bump(region)
        return command

    @property
    def _id_fields(self) -> tuple[str, ...]:
        return (self.id_field,) if isinstance(self.id_field, str) else tuple(self.id_field)

    def _ungroup(self, region: str, command_id: Hashable, command: Command) -> None:
        groups = self._groups.get(region, {})
        members = groups.get(command[cast("str", self.group_field)])
        if members is not None:
            members.pop(command_id, None)
            if not members:
                del groups[command[cast("str", self.group_field)]]

    def fragment(
        self, region: str, command: Command, variant: Hashable, render: Callable[[], bytes]
    ) -> bytes:
        """The command's serialised wire form, rendered once per variant and reused.

        Args:
            region: The command's region.
            command: The stored command.
            variant: What else the rendering depends on (e.g. the timestamp style).
            render: Renders it when the cache has no current copy.

        Returns:
            The serialised form.
        """
        key = (region, self.key(command))
        cached = self._fragments.get(key)
        if cached is not None and cached[0] == variant:
            return cached[1]
        rendered = render()
        self._fragments[key] = (variant, rendered)
        return rendered

    def _bump(self, region: str) -> None:
        self.version += 1
        self._versions[region] = self._versions.get(region, 0) + 1
        for key in [k for k in self._views if k[0] == region]:
            del self._views[key]

    def _keep_ordered(self, region: str, change: Callable[[list[Command]], None]) -> None:
        # Apply a change to a built time order in place; any other built order is
        # simply forgotten and rebuilt by the next query.
        ordered = self._ordered.get(region)
        if ordered is None:
            return
        if ordered.order[0] not in TIME_ORDERS:
            del self._ordered[region]
            return
        try:
            change(ordered.records)
        except (TypeError, ValueError):
            # Odd timestamps (None, strings) cannot be bisected: forget the order, and
            # let the next query rebuild it (and fail there, as an emulator error).
            del self._ordered[region]

    def _insert(self, records: list[Command], commands: Iterable[Command]) -> None:
        for command in commands:
            insort(records, command, key=self.sort_key)

    def _remove(self, records: list[Command], command: Command) -> None:
        index = bisect_left(records, self.sort_key(command), key=self.sort_key)
        if index >= len(records) or records[index] is not command:
            raise ValueError("command not found where its key says")
        del records[index]

    # ------------------------------------------------------------- queries
    def ordered(self, region: str, order: str, seed: int, sort: Sort) -> _Ordered:
        """The region's commands for an order, built (once) if needed.

        Args:
            region: The region.
            order: "newest_first", "oldest_first" or "shuffled".
            seed: The shuffle seed.
            sort: Puts records in the emulator's result order (used for "shuffled").
        """
        wanted = (order, seed)
        ordered = self._ordered.get(region)
        if ordered is None or ordered.order != wanted:
            records = self.records(region)
            if order in TIME_ORDERS:
                records.sort(key=self.sort_key)
            else:
                records = sort(records)
            ordered = _Ordered(wanted, records)
            self._ordered[region] = ordered
        return ordered

    def window(
        self,
        region: str,
        *,
        order: str,
        seed: int,
        sort: Sort,
        view_key: Hashable,
        predicates: Sequence[Predicate] = (),
        after: Any = None,
        before: Any = None,
        ids: Iterable[Hashable] | None = None,
    ) -> Window:
        """The commands a query matches, in result order, without a per-call sort.

        Args:
            region: The region.
            order: The emulator's result order.
            seed: The emulator's shuffle seed.
            sort: Puts records in the emulator's result order.
            view_key: Identifies the query's filters, for the view cache.
            predicates: Conditions every match meets (besides the time bounds).
            after: Only commands whose timestamp is >= this.
            before: Only commands whose timestamp is <= this.
            ids: Only records with these ids (looked up directly; no cache needed).

        Returns:
            The matches, ready to be paged.
        """
        bounds = _bound_predicates(self.timestamp_field, after, before)
        if ids is not None:
            store = self._regions.get(region, {})
            found = [store[i] for i in dict.fromkeys(ids) if i in store]
            checks = (*predicates, *bounds)
            matching = sort([c for c in found if all(p(c) for p in checks)])
            return Window(matching, 0, len(matching), descending=False)
        if order not in TIME_ORDERS:
            if not predicates and not bounds:
                records = self.ordered(region, order, seed, sort).records
                return Window(records, 0, len(records), descending=False)
            checks = (*predicates, *bounds)
            matching = self._view(
                region,
                (view_key, after, before),
                (order, seed),
                lambda: sort([c for c in self.records(region) if all(p(c) for p in checks)]),
            )
            return Window(matching, 0, len(matching), descending=False)

        records = self.ordered(region, order, seed, sort).records
        moment = itemgetter(self.timestamp_field)
        low = 0 if after is None else bisect_left(records, after, key=moment)
        high = len(records) if before is None else bisect_right(records, before, key=moment)
        descending = order == "newest_first"
        if not predicates:
            return Window(records, low, max(low, high), descending)
        matching = self._view(
            region,
            (view_key, after, before),
            (order, seed),
            lambda: [c for c in records[low:high] if all(p(c) for p in predicates)],
        )
        return Window(matching, 0, len(matching), descending)

    def _view(
        self,
        region: str,
        view_key: Hashable,
        order: tuple[str, int],
        build: Callable[[], list[Command]],
    ) -> list[Command]:
        key = (region, view_key)
        version = self.region_version(region)
        cached = self._views.get(key)
        if cached is not None and cached[0] == version and cached[1] == order:
            self._views.move_to_end(key)
            return cached[2]
        matching = build()
        self._views[key] = (version, order, matching)
        self._views.move_to_end(key)
        while len(self._views) > self._view_cache_size:
            self._views.popitem(last=False)
        return matching


def _bound_predicates(field: str, after: Any, before: Any) -> tuple[Predicate, ...]:
    bounds: list[Predicate] = []
    if after is not None:
        bounds.append(lambda c: bool(c[field] >= after))
    if before is not None:
        bounds.append(lambda c: bool(c[field] <= before))
    return tuple(bounds)
