"""Request-rate accounting over sliding windows."""

from __future__ import annotations

import threading
from bisect import bisect_right, insort
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrival:
    """When a request arrived (monotonic seconds), and what it asked for."""

    at: float
    region: str
    action: str
    account: str = ""


class ArrivalLog:
    """A thread-safe record of request arrivals, for rate checks and rate limits.

    Arrival times are kept sorted per (region, action), so the rate-limit check that
    runs on every request is a bisect, not a scan of every arrival so far.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Keyed by (account, region, action): the clouds limit each account separately.
        self._times: dict[tuple[str, str, str], list[float]] = {}

    def record(self, arrival: Arrival) -> None:
        """Remember one arrival.

        Args:
            arrival: The arrival to remember.
        """
        with self._lock:
            times = self._times.setdefault((arrival.account, arrival.region, arrival.action), [])
            if not times or arrival.at >= times[-1]:
                times.append(arrival.at)
            else:
                # Threads record in nearly, not exactly, arrival order.
                insort(times, arrival.at)

    def clear(self) -> None:
        """Forget every arrival."""
        with self._lock:
            self._times.clear()

    def _selected(
        self, region: str, action: str | None, account: str | None = None
    ) -> list[list[float]]:
        return [
            times
            for (c, r, a), times in self._times.items()
            if r == region and (action is None or a == action) and (account is None or c == account)
        ]

    def times(
        self, region: str, action: str | None = None, account: str | None = None
    ) -> list[float]:
        """Arrival times of one region's requests, sorted.

        Args:
            region: The region to select.
            action: Only this action (None = every action).
            account: Only this account's requests (None = every account).

        Returns:
            Monotonic arrival times, ascending.
        """
        with self._lock:
            selected = [at for times in self._selected(region, action, account) for at in times]
        return sorted(selected)

    def count_in_window(
        self,
        region: str,
        action: str | None,
        end: float,
        window: float = 1.0,
        account: str | None = None,
    ) -> int:
        """Count arrivals in the window (end - window, end].

        Args:
            region: The region to select.
            action: Only this action (None = every action).
            end: The window's closing monotonic time (inclusive).
            window: The window's length in seconds.
            account: Only this account's requests (None = every account).

        Returns:
            How many selected requests arrived inside the window.
        """
        with self._lock:
            return sum(
                bisect_right(times, end) - bisect_right(times, end - window)
                for times in self._selected(region, action, account)
            )

    def max_in_any_window(
        self,
        region: str,
        action: str | None = None,
        window: float = 1.0,
        account: str | None = None,
    ) -> int:
        """The most requests seen in any sliding window of the given length.

        Args:
            region: The region to select.
            action: Only this action (None = every action).
            window: The window's length in seconds.
            account: Only this account's requests (None = every account).

        Returns:
            The maximum number of arrivals that fit in a half-open window of that length.
        """
        return _max_in_window(self.times(region, action, account), window)

    def peaks(self, window: float = 1.0) -> dict[str, dict[str, int]]:
        """:meth:`max_in_any_window` of every (region, action) seen, by region then action.

        Every account's requests count together here (the shape predates accounts).
        """
        with self._lock:
            snapshot: dict[tuple[str, str], list[float]] = {}
            for (_, region, action), times in self._times.items():
                snapshot.setdefault((region, action), []).extend(times)
        peaks: dict[str, dict[str, int]] = {}
        for (region, action), times in sorted(snapshot.items()):
            times.sort()
            peaks.setdefault(region, {})[action] = _max_in_window(times, window)
        return peaks

    def peaks_by_account(self, window: float = 1.0) -> dict[str, dict[str, dict[str, int]]]:
        """:meth:`max_in_any_window` of every (account, region, action) seen, nested so."""
        with self._lock:
            snapshot = {key: list(times) for key, times in self._times.items()}
        peaks: dict[str, dict[str, dict[str, int]]] = {}
        for (account, region, action), times in sorted(snapshot.items()):
            peaks.setdefault(account, {}).setdefault(region, {})[action] = _max_in_window(
                times, window
            )
        return peaks


def _max_in_window(times: list[float], window: float) -> int:
    best = 0
    start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
