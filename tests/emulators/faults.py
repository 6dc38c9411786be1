"""Fault injection for the emulators.

A test queues :class:`Fault` objects on a server; each incoming request consumes
the first queued fault that matches it. The queue is the only fault source today,
but :meth:`FaultQueue.take` is the single place that decides, so probabilistic
sources (for example a seeded ratio of throttles) can be added beside the FIFO
without touching the servers.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

# Every kind any emulator understands; each server narrows this to what it supports.
FAULT_KINDS = frozenset(
    {"throttle", "server_error", "auth", "slow", "drop", "malformed", "internal"}
)


@dataclass
class Fault:
    """A misbehaviour to apply to the next matching request(s).

    Attributes:
        kind: One of "throttle", "server_error", "auth", "slow", "drop",
            "malformed" (and "internal" for the TAT emulator).
        count: How many matching requests it still applies to; decremented in place,
            so a test can check how much of it was consumed.
        action: Only requests for this action match (None = any action).
        region: Only requests for this region match (None = any region).
        status: HTTP status for "server_error".
        delay: Seconds to wait before answering, for "slow".
    """

    kind: str
    count: int = 1
    action: str | None = None
    region: str | None = None
    status: int = 500
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}"
            )
        if self.count < 0:
            raise ValueError("count must not be negative")

    def matches(self, action: str, region: str) -> bool:
        """Tell whether this fault applies to a request.

        Args:
            action: The request's API action.
            region: The request's region.

        Returns:
            True when the fault still has uses left and its filters accept the request.
        """
        return (
            self.count > 0
            and (self.action is None or self.action == action)
            and (self.region is None or self.region == region)
        )


@dataclass
class FaultRatio:
    """A fault that hits a seeded random share of matching requests, for storms.

    Attributes:
        fault: What to apply (its ``count`` is ignored).
        ratio: Share of matching requests hit, 0..1.
        seed: Seed of the draw, so a storm is the same on every run.
        hits: How many requests it has hit so far.
    """

    fault: Fault
    ratio: float
    seed: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.ratio <= 1:
            raise ValueError("ratio must be between 0 and 1")
        self._random = random.Random(self.seed)

    def draw(self, action: str, region: str) -> bool:
        """Tell whether this request is hit."""
        matches = (self.fault.action is None or self.fault.action == action) and (
            self.fault.region is None or self.fault.region == region
        )
        if matches and self._random.random() < self.ratio:
            self.hits += 1
            return True
        return False


class FaultQueue:
    """A thread-safe FIFO of faults, consumed one use at a time, plus seeded storms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ratios: list[FaultRatio] = []

    def add_ratio(self, storm: FaultRatio) -> None:
        """Add a storm, applied to requests no queued fault claims.

        Args:
            storm: The storm.
        """
        with self._lock:
            self._ratios.append(storm)

    def push(self, fault: Fault) -> None:
        """Queue a fault behind the ones already waiting.

        Args:
            fault: The fault to queue; the same object is kept and mutated.
        """
        with self._lock:
            self._faults.append(fault)

    def take(self, action: str, region: str) -> Fault | None:
        """Consume one use of the first fault that matches a request.

        Args:
            action: The request's API action.
            region: The request's region.

        Returns:
            The matching fault (its count already decremented), or None.
        """
        with self._lock:
            for fault in self._faults:
                if fault.matches(action, region):
                    fault.count -= 1
                    # Exhausted faults leave the queue so later ones are not shadowed.
                    self._faults = [f for f in self._faults if f.count > 0]
                    return fault
            for storm in self._ratios:
                if storm.draw(action, region):
                    return storm.fault
        return None

    def pending(self) -> list[Fault]:
        """Return the faults that still have uses left, oldest first."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every queued fault and storm."""
        with self._lock:
            self._ratios = []
            self._faults.clear()
