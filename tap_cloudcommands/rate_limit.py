"""A thread-safe sliding-window rate limiter for per-region API quotas.

Tencent Cloud counts requests per second per API and region as they arrive. The client
cannot see arrival times, only when a call started and when its answer came back, and a
call arrives somewhere in between. So a call holds its place in the window from the moment
it starts until one period after it finishes: then no window of one period, wherever the
server puts it, can hold more than ``max_calls`` arrivals, even when the first call of a
burst is slow to connect and the next ones are not.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class SlidingWindowRateLimiter:
    """At most ``max_calls`` calls arrive at the server in any ``period`` seconds."""

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a limiter.

        Args:
            max_calls: Calls allowed per window.
            period: Window length in seconds.
            clock: Monotonic clock (injectable for tests).

        Raises:
            ValueError: If ``max_calls`` or ``period`` is not positive.
        """
        if max_calls < 1 or period <= 0:
            msg = "max_calls must be >= 1 and period > 0"
            raise ValueError(msg)
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._finished: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for room in the window, then hold it for the duration of one call.

        Yields:
            Nothing; the call goes inside the ``with`` block.
        """
        self._acquire()
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._finished.append(self._clock())
                self._changed.notify_all()

    def _acquire(self) -> None:
        with self._changed:
            while True:
                now = self._clock()
                while self._finished and now - self._finished[0] >= self.period:
                    self._finished.popleft()
                if self._in_flight + len(self._finished) < self.max_calls:
                    self._in_flight += 1
                    return
                # Room comes back when the oldest finished call leaves the window, or
                # sooner when a call in flight ends (notify wakes us to recompute).
                wait = self.period - (now - self._finished[0]) if self._finished else None
                self._changed.wait(timeout=wait)
