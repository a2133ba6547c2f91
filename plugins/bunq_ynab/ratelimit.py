"""A client-side sliding-window rate limiter, one window per key (e.g. HTTP method)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping


class SlidingWindowLimiter:
    """Block until a call under ``key`` fits in its ``(max_calls, period_seconds)`` window.

    Keys without a configured limit are never delayed. Thread-safe within one process; the
    server's own limit still applies across processes, which is why callers also retry on 429.
    """

    def __init__(
        self,
        limits: Mapping[str, tuple[int, float]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limits = dict(limits)
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.total_wait_seconds = 0.0

    def acquire(self, key: str) -> float:
        """Wait for a free slot under ``key`` and take it; return the seconds waited."""
        if key not in self._limits:
            return 0.0
        max_calls, period = self._limits[key]
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                calls = self._calls[key]
                while calls and now - calls[0] >= period:
                    calls.popleft()
                if len(calls) < max_calls:
                    calls.append(now)
                    self.total_wait_seconds += waited
                    return waited
                delay = period - (now - calls[0])
            self._sleep(delay)
            waited += delay
