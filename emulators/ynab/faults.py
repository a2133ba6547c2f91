"""Fault switches that make the YNAB emulator fail requests the way the real service can.

Each switch applies to the next ``n`` requests under ``/v1`` that match its optional HTTP
method and path substring, and then expires. When several switches match a request, the one
added first fires. The rate limit is separate: once switched on, it rejects with 429 every
request past ``per_hour`` requests of one token within a rolling hour, as YNAB does at 200.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

# Upper bound of a timeout fault's sleep, so that a typo cannot hang a test run.
MAX_TIMEOUT_SECONDS = 60.0
RATE_LIMIT_WINDOW_SECONDS = 3600.0
YNAB_RATE_LIMIT_PER_HOUR = 200

FAULT_KINDS = ("http_429", "http_5xx", "timeout", "fail_after_commit")


@dataclass
class Fault:
    """One armed fault switch, whose ``remaining`` counts down as matching requests arrive."""

    kind: str
    remaining: int
    method: str | None = None
    path: str | None = None
    status: int | None = None
    seconds: float | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path in path


class Faults:
    """The fault switches of one emulator, safe to change while requests are served.

    ``clock`` returns seconds and drives the rate limit's rolling hour. Tests replace it to
    move time forward.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self._per_hour: int | None = None
        self._recent: dict[str, deque[float]] = {}

    def http_429(self, n: int = 1, *, method: str | None = None, path: str | None = None) -> Fault:
        """Reject the next ``n`` matching requests with YNAB's 429 too_many_requests."""
        return self._add(Fault("http_429", n, method, path, status=429))

    def http_5xx(
        self, n: int = 1, *, status: int = 500, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Reject the next ``n`` matching requests with ``status`` (500 to 599), unprocessed."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be between 500 and 599, not {status}")
        return self._add(Fault("http_5xx", n, method, path, status=status))

    def timeout(
        self,
        n: int = 1,
        *,
        seconds: float = 5.0,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """Delay the next ``n`` matching requests by ``seconds``, then process them normally.

        A client that gives up earlier gets a read timeout, while a write still takes effect,
        as it can on a real server. ``seconds`` is capped at MAX_TIMEOUT_SECONDS, and the
        emulator's stop() ends the delay and drops the request.
        """
        seconds = min(max(float(seconds), 0.0), MAX_TIMEOUT_SECONDS)
        return self._add(Fault("timeout", n, method, path, seconds=seconds))

    def fail_after_commit(
        self, n: int = 1, *, method: str | None = "POST", path: str | None = None
    ) -> Fault:
        """Process the next ``n`` matching requests, then close the connection unanswered.

        This is a response lost after the server committed the write. The client gets a
        dropped connection although the change was made.
        """
        return self._add(Fault("fail_after_commit", n, method, path))

    def rate_limit(self, per_hour: int | None = YNAB_RATE_LIMIT_PER_HOUR) -> None:
        """Allow ``per_hour`` requests per token in a rolling hour. None switches the limit off."""
        with self._lock:
            self._per_hour = per_hour
            self._recent.clear()

    def clear(self) -> None:
        """Disarm every fault switch and switch the rate limit off."""
        with self._lock:
            self._pending.clear()
            self._per_hour = None
            self._recent.clear()

    def apply_json(self, body: dict) -> None:
        """Set switches from a control request body, as the bunq emulator's endpoint does.

        Keys are the method names of this class: the values of FAULT_KINDS take an object
        of keyword arguments or ``true``, ``rate_limit`` takes ``per_hour`` as an object key
        or a number (``false`` or null switch it off), and ``clear`` takes ``true``. "clear"
        runs first. Raises ValueError on an unknown key or a bad argument.
        """
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")

        unknown = set(body) - {*FAULT_KINDS, "rate_limit", "clear"}
        if unknown:
            raise ValueError(f"unknown fault switches: {', '.join(sorted(unknown))}")

        if body.get("clear"):
            self.clear()

        if "rate_limit" in body:
            limit = body["rate_limit"]
            if isinstance(limit, dict):
                limit = limit.get("per_hour", YNAB_RATE_LIMIT_PER_HOUR)
            elif limit is True:
                limit = YNAB_RATE_LIMIT_PER_HOUR
            elif limit is False:
                limit = None
            if limit is not None and (not isinstance(limit, int) or limit < 0):
                raise ValueError(f"rate_limit per_hour must be a whole number, not {limit!r}")
            self.rate_limit(limit)

        for kind in FAULT_KINDS:
            if kind not in body:
                continue

            arguments = {} if body[kind] is True else body[kind]
            if not isinstance(arguments, dict):
                raise ValueError(f"{kind} takes an object of keyword arguments or true")
            try:
                getattr(self, kind)(**arguments)
            except TypeError as error:
                raise ValueError(f"invalid arguments for {kind}: {error}") from error

    def take(self, method: str, path: str) -> Fault | None:
        """Return the switch that fires for this request and count it down, or None."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def allow(self, token: str) -> bool:
        """Count a request of ``token`` against the rate limit and return False once over it."""
        with self._lock:
            if self._per_hour is None:
                return True

            # Keyed by a digest, so that the token itself is not kept in another place.
            key = hashlib.sha256(token.encode()).hexdigest()
            recent = self._recent.setdefault(key, deque())
            now = self.clock()
            while recent and recent[0] <= now - RATE_LIMIT_WINDOW_SECONDS:
                recent.popleft()

            if len(recent) >= self._per_hour:
                return False

            recent.append(now)
            return True

    def snapshot(self) -> dict:
        """Return the armed switches and the rate limit as JSON-ready data."""
        with self._lock:
            return {
                "pending": [asdict(fault) for fault in self._pending],
                "rate_limit_per_hour": self._per_hour,
            }

    def _add(self, fault: Fault) -> Fault:
        if fault.remaining < 1:
            raise ValueError(f"n must be at least 1, not {fault.remaining}")
        with self._lock:
            self._pending.append(fault)
        return fault
