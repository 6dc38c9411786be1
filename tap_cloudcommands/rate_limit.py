"""A thread-safe sliding-window rate limiter for per-region API quotas.

Tencent Cloud counts requests per second per API and region; a sliding window keeps any
one-second span under the quota, which a fixed-interval sleep would not guarantee under
threads and a token bucket with bursts could exceed.
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t


class SlidingWindowRateLimiter:
    """Allows at most ``max_calls`` acquisitions in any window of ``period`` seconds."""

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            max_calls: Calls allowed per window.
            period: Window length in seconds.
            clock: Monotonic clock (injectable for tests).
            sleep: Sleep function (injectable for tests).

        Raises:
            ValueError: If ``max_calls`` or ``period`` is not positive.
        """
        if max_calls < 1 or period <= 0:
            msg = "max_calls must be >= 1 and period > 0"
            raise ValueError(msg)
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._granted: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until a call is allowed, then record it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._granted and now - self._granted[0] >= self.period:
                    self._granted.popleft()
                if len(self._granted) < self.max_calls:
                    self._granted.append(now)
                    return
                wait = self.period - (now - self._granted[0])
            self._sleep(wait)
