"""A thread-safe sliding-window rate limiter for per-region API quotas.

Tencent Cloud counts requests per second per API and region as they arrive. A call takes
its place in the window when it starts; arrivals come a moment later and not all equally
late (signing, a busy interpreter, a new connection), so each place is held for the period
plus a margin: no window of one period at the server then holds more than ``max_calls``
arrivals unless one call's trip to the server was slower than another's by more than the
margin. A call the server throttles anyway is retried by the caller.
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t

DEFAULT_MARGIN_SECONDS = 0.05
# Float sums of waits can land a hair short of the window's end; that counts as the end.
EPSILON_SECONDS = 1e-6


class SlidingWindowRateLimiter:
    """At most ``max_calls`` call starts in any ``period + margin`` seconds."""

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        margin: float = DEFAULT_MARGIN_SECONDS,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            max_calls: Calls allowed per window.
            period: Window length in seconds, as the server counts it.
            margin: Extra seconds each call holds its place, for uneven arrival.
            clock: Monotonic clock (injectable for tests).
            sleep: Sleep function (injectable for tests).

        Raises:
            ValueError: If ``max_calls`` or ``period`` is not positive.
        """
        if max_calls < 1 or period <= 0 or margin < 0:
            msg = "max_calls must be >= 1, period > 0 and margin >= 0"
            raise ValueError(msg)
        self.max_calls = max_calls
        self.window = period + margin
        self._clock = clock
        self._sleep = sleep
        self._started: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until a call may start, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._started and now - self._started[0] >= self.window - EPSILON_SECONDS:
                    self._started.popleft()
                if len(self._started) < self.max_calls:
                    self._started.append(now)
                    return
                wait = self.window - (now - self._started[0])
            self._sleep(wait)
