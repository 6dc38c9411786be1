"""Request-rate accounting over sliding windows."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """When a request arrived (monotonic seconds), and what it asked for."""

    at: float
    region: str
    action: str


class ArrivalLog:
    """A thread-safe record of request arrivals, for rate checks and rate limits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []

    def record(self, arrival: Arrival) -> None:
        """Remember one arrival.

        Args:
            arrival: The arrival to remember.
        """
        with self._lock:
            self._arrivals.append(arrival)

    def clear(self) -> None:
        """Forget every arrival."""
        with self._lock:
            self._arrivals.clear()

    def times(self, region: str, action: str | None = None) -> list[float]:
        """Arrival times of one region's requests, sorted.

        Args:
            region: The region to select.
            action: Only this action (None = every action).

        Returns:
            Monotonic arrival times, ascending.
        """
        with self._lock:
            selected = [
                a.at
                for a in self._arrivals
                if a.region == region and (action is None or a.action == action)
            ]
        return sorted(selected)

    def count_in_window(
        self, region: str, action: str | None, end: float, window: float = 1.0
    ) -> int:
        """Count arrivals in the window (end - window, end].

        Args:
            region: The region to select.
            action: Only this action (None = every action).
            end: The window's closing monotonic time (inclusive).
            window: The window's length in seconds.

        Returns:
            How many selected requests arrived inside the window.
        """
        return sum(1 for at in self.times(region, action) if end - window < at <= end)

    def max_in_any_window(self, region: str, action: str | None = None, window: float = 1.0) -> int:
        """The most requests seen in any sliding window of the given length.

        Args:
            region: The region to select.
            action: Only this action (None = every action).
            window: The window's length in seconds.

        Returns:
            The maximum number of arrivals that fit in a half-open window of that length.
        """
        times = self.times(region, action)
        best = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best
