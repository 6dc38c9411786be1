"""Churn schedules: a TAT list that changes, throttles and answers out of order, call by call.

A :class:`Schedule` is attached to an emulator (``emulator.schedule = schedule``) and
consulted when each API request arrives. The n-th request of the scheduled action in
the scheduled region plays the n-th :class:`Step` of the plan: it may be answered
``RequestLimitExceeded``, it may be answered late (so later requests overtake it), and
right after its answer is written the list changes (items inserted at the front,
deleted anywhere, edited in place). Requests past the plan's end change nothing.

Everything a schedule does comes from its plan (see :func:`plan_from_seed` to draw one
from a seed), so a property-based test can generate plans and shrink them; the only
other input is the wall clock, which stamps new and edited items (plus ``skew``, the
emulated cloud clock's offset from the tap's).

What the plan can do follows what the TAT references allow for a newest-first list:
new runs appear at the front with ``CreatedTime`` "now" on the cloud's clock (whole
seconds, so several new items can tie and sort among each other by id); old runs age
out from anywhere; an item is edited in place (``UpdatedTime`` moves, ``CreatedTime``
and so its position does not).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .faults import Fault

if TYPE_CHECKING:
    from .base import ApiRequest
    from .tat import TATEmulator


@dataclass(frozen=True)
class Step:
    """What one request of the scheduled list does.

    Attributes:
        insert: Items added at the front right after the answer.
        delete: Positions (fractions 0..1 of the list's length at that moment) deleted
            right after the answer.
        edit: Positions edited (``UpdatedTime`` set to now) right after the answer.
        throttle: Answer RequestLimitExceeded instead of the page.
        latency: Seconds the answer waits (outside the lock), so answers overtake.
    """

    insert: int = 0
    delete: tuple[float, ...] = ()
    edit: tuple[float, ...] = ()
    throttle: bool = False
    latency: float = 0.0


@dataclass(frozen=True)
class Arrival:
    """What the emulator does with one request: its fault, its delay, what follows it."""

    fault: Fault | None = None
    latency: float = 0.0
    after: Callable[[], None] | None = None


@dataclass
class Schedule:
    """Plays a plan of :class:`Step` on one list of one region of a TAT emulator.

    Attributes:
        emulator: The emulator whose data changes.
        region: The region of the list.
        action: "DescribeCommands" or "DescribeInvocations".
        steps: The plan, one step per request of ``action`` in ``region``.
        skew: The emulated cloud clock minus the real clock.
        edit_within: Only items created at most this long before "now" are edited (a
            run changes only while it runs); None edits any item.
        distinct_seconds: New items get a second of their own (later than the last one
            inserted), so no run of ties grows longer than the test allows.
        calls: Requests seen so far.
        inserted, deleted, edited: Ids changed so far, in order.
    """

    emulator: TATEmulator
    region: str
    action: str
    steps: list[Step]
    skew: timedelta = timedelta(0)
    edit_within: timedelta | None = None
    distinct_seconds: bool = False
    calls: int = 0
    inserted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_insert: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))

    def arrive(self, request: ApiRequest) -> Arrival | None:
        """Decide what happens to a request that just arrived.

        Args:
            request: The decoded request.

        Returns:
            The step's fault, delay and change, or None for requests not scheduled.
        """
        if request.region != self.region or request.action != self.action:
            return None
        with self._lock:
            index = self.calls
            self.calls += 1
        if index >= len(self.steps):
            return None
        step = self.steps[index]
        return Arrival(
            fault=Fault("throttle") if step.throttle else None,
            latency=step.latency,
            after=lambda: self.change(step),
        )

    def now(self) -> datetime:
        """The emulated cloud's clock."""
        return datetime.now(UTC) + self.skew

    def change(self, step: Step) -> None:
        """Apply one step's changes to the list (under the emulator's lock)."""
        for _ in range(step.insert):
            self.inserted.append(self._insert())
        for position in step.delete:
            if (victim := _at(self._items(), position)) is not None:
                self._delete(victim)
                self.deleted.append(victim[self._id_key])
        for position in step.edit:
            if (target := _at(self._editable(), position)) is not None:
                self._edit(target)
                self.edited.append(target[self._id_key])

    # ------------------------------------------------------------ per list kind
    @property
    def _id_key(self) -> str:
        return "CommandId" if self.action == "DescribeCommands" else "InvocationId"

    def _items(self) -> list[dict[str, Any]]:
        if self.action == "DescribeCommands":
            return self.emulator.commands(self.region)
        return self.emulator.invocations(self.region)

    def _editable(self) -> list[dict[str, Any]]:
        items = self._items()
        if self.edit_within is None:
            return items
        oldest = self.now() - self.edit_within
        return [item for item in items if item["CreatedTime"] >= oldest]

    def _insert(self) -> str:
        moment = self.now()
        if self.distinct_seconds:
            moment = max(moment, self._last_insert + timedelta(seconds=1))
            self._last_insert = moment
        if self.action == "DescribeCommands":
            added = self.emulator.add_command(self.region, CreatedTime=moment, UpdatedTime=moment)
            return str(added["CommandId"])
        added = self.emulator.add_invocation(
            self.region, CreatedTime=moment, UpdatedTime=moment, InvocationStatus="RUNNING"
        )
        return str(added["InvocationId"])

    def _delete(self, item: dict[str, Any]) -> None:
        if self.action == "DescribeCommands":
            self.emulator.delete_command(self.region, item["CommandId"])
        else:
            self.emulator.delete_invocation(self.region, item["InvocationId"])

    def _edit(self, item: dict[str, Any]) -> None:
        # Never before the item's current UpdatedTime: a clock behind stays monotonic.
        moment = max(self.now(), item["UpdatedTime"])
        if self.action == "DescribeCommands":
            self.emulator.update_command(
                self.region, item["CommandId"], UpdatedTime=moment, Description="edited"
            )
        else:
            self.emulator.update_invocation(
                self.region, item["InvocationId"], UpdatedTime=moment, Description="edited"
            )


def _at(items: list[dict[str, Any]], position: float) -> dict[str, Any] | None:
    """The item at a position given as a fraction 0..1 of the list, None if it is empty."""
    return items[min(len(items) - 1, int(position * len(items)))] if items else None


def limit_throttling(steps: list[Step], most: int = 5) -> list[Step]:
    """The same plan with at most ``most`` throttled calls in all.

    A client that gets more throttled answers than it has attempts fails the sync,
    which other tests cover. With pages in flight at once, one call's attempts need not
    be consecutive calls of the plan, so the bound is on the whole plan: a client with
    ``most + 1`` attempts always gets through.
    """
    kept = []
    throttled = 0
    for step in steps:
        throttled += step.throttle
        keep = step if not step.throttle or throttled <= most else None
        kept.append(keep or dataclasses.replace(step, throttle=False))
    return kept


def plan_from_seed(seed: int, calls: int = 40) -> list[Step]:
    """A plan drawn from a seed: the same seed gives the same plan.

    Args:
        seed: The seed.
        calls: Requests the plan covers.

    Returns:
        Steps with inserts, deletes, edits, throttling and latency, each drawn per call.
    """
    rng = random.Random(seed)
    return [
        Step(
            insert=rng.choice((0, 0, 1, 2, 5)),
            delete=tuple(rng.random() for _ in range(rng.choice((0, 0, 1, 3)))),
            edit=tuple(rng.random() for _ in range(rng.choice((0, 1)))),
            throttle=rng.random() < 0.1,
            latency=rng.choice((0.0, 0.0, 0.002, 0.01)),
        )
        for _ in range(calls)
    ]


@dataclass(frozen=True)
class SSMStep:
    """What one SSM list request of the scheduled region does to the region's commands.

    Positions are fractions 0..1 of the list they pick from at that moment.

    Attributes:
        new: Commands requested right after the answer ("now" on the cloud's clock),
            InProgress, each with ``new_targets`` InProgress invocations.
        new_targets: Invocations of each new command (0: targets not resolved yet).
        late: Running commands that get one more invocation (rate control, a tag target
            that appears). Its ``RequestedDateTime`` is the command's: the reference
            calls it "the time the request was sent to this managed node", which may be
            the command's own time, the least convenient reading for an ``InvokedAfter``
            listing.
        advance: Running invocations that end (Success, or Failed).
        finish: Running commands that end: their running invocations end first, then the
            command (a command is final only when every invocation is).
        throttle: Answer ThrottlingException instead of the page.
        latency: Seconds the answer waits (outside the lock), so answers overtake.
    """

    new: int = 0
    new_targets: int = 1
    late: tuple[float, ...] = ()
    advance: tuple[float, ...] = ()
    finish: tuple[float, ...] = ()
    throttle: bool = False
    latency: float = 0.0


_INSTANCE_SERIALS = itertools.count(1)
SSM_FINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})


@dataclass
class SSMSchedule:
    """Plays a plan of :class:`SSMStep` on one region of an SSM emulator.

    Every ListCommands and ListCommandInvocations request of the region plays the next
    step. What it does follows what the Run Command references allow: commands are
    never deleted within SSM's history (they only age out after ~30 days), new ones are
    requested "now", statuses only move forward, and invocations may appear while a
    command runs.

    Attributes:
        emulator: The SSM emulator.
        region: The region whose commands change.
        steps: The plan, one step per list request of the region.
        skew: The emulated cloud clock minus the real clock.
        calls: Requests seen so far.
        created: When (``time.monotonic()``) each command (CommandId,) and invocation
            (CommandId, InstanceId) the schedule added came to exist.
    """

    emulator: Any
    region: str
    steps: list[SSMStep]
    skew: timedelta = timedelta(0)
    calls: int = 0
    created: dict[tuple[str, ...], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arrive(self, request: ApiRequest) -> Arrival | None:
        """Decide what happens to a request that just arrived (see :meth:`Schedule.arrive`)."""
        if request.region != self.region or request.action not in {
            "ListCommands",
            "ListCommandInvocations",
        }:
            return None
        with self._lock:
            index = self.calls
            self.calls += 1
        if index >= len(self.steps):
            return None
        step = self.steps[index]
        return Arrival(
            fault=Fault("throttle") if step.throttle else None,
            latency=step.latency,
            after=lambda: self.change(step),
        )

    def _instance(self) -> str:
        # Unique across schedules: a region outlives the schedule of one sync.
        return f"i-sched{next(_INSTANCE_SERIALS):012x}"

    def change(self, step: SSMStep) -> None:
        """Apply one step (under the emulator's lock)."""
        for _ in range(step.new):
            self._new_command(step.new_targets)
        for position in step.late:
            if (command := _at(self._running_commands(), position)) is not None:
                self._late_invocation(command)
        for number, position in enumerate(step.advance):
            running = [
                i for i in self.emulator.invocations(self.region) if i["Status"] not in SSM_FINAL
            ]
            if (invocation := _at(running, position)) is not None:
                self.emulator.update_invocation(
                    self.region,
                    invocation["CommandId"],
                    invocation["InstanceId"],
                    Status="Failed" if number % 2 else "Success",
                )
        for position in step.finish:
            if (command := _at(self._running_commands(), position)) is not None:
                self._finish(command)

    def _new_command(self, targets: int) -> None:
        command, invocations = self.emulator.add_command_with_invocations(
            self.region,
            [self._instance() for _ in range(targets)],
            invocation_statuses=["InProgress"] * targets,
            Status="InProgress",
            RequestedDateTime=datetime.now(UTC) + self.skew,
        )
        self.created[(command["CommandId"],)] = time.monotonic()
        for invocation in invocations:
            self.created[(invocation["CommandId"], invocation["InstanceId"])] = time.monotonic()

    def _late_invocation(self, command: dict[str, Any]) -> None:
        invocation = self.emulator.add_invocation(
            self.region,
            CommandId=command["CommandId"],
            InstanceId=self._instance(),
            Status="InProgress",
        )
        self.created[(invocation["CommandId"], invocation["InstanceId"])] = time.monotonic()

    def _finish(self, command: dict[str, Any]) -> None:
        for invocation in self.emulator.invocations(self.region):
            if (
                invocation["CommandId"] == command["CommandId"]
                and invocation["Status"] not in SSM_FINAL
            ):
                self.emulator.update_invocation(
                    self.region, command["CommandId"], invocation["InstanceId"], Status="Success"
                )
        self.emulator.update_command(self.region, command["CommandId"], Status="Success")

    def _running_commands(self) -> list[dict[str, Any]]:
        return [c for c in self.emulator.commands(self.region) if c["Status"] not in SSM_FINAL]
