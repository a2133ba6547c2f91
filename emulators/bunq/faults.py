"""Fault switches and bunq's rate limits, off until a test turns them on.

A count-down fault applies to the next `n` requests under /v1/ that match its optional
HTTP method and path substring (the path includes the query string), then disarms itself.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

TOO_MANY_REQUESTS_MESSAGE = (
    "Too many requests. You can do a maximum of 3 calls per 3 second to this endpoint."
)
SESSION_ENDED_MESSAGE = "Insufficient authorisation."
SERVER_ERROR_MESSAGE = "We're having some technical difficulties. Please try again later."

# Upper bound of one timeout fault, so that a typo cannot hang a test run for hours.
MAX_TIMEOUT_SECONDS = 300.0

# bunq's classic limits per IP and endpoint: (calls, window in seconds).
RATE_LIMITS = {"GET": (3, 3.0), "POST": (5, 3.0), "PUT": (2, 3.0)}
SESSION_SERVER_RATE_LIMIT = (1, 30.0)


@dataclasses.dataclass
class CountdownFault:
    kind: str
    remaining: int
    method: str | None = None
    path: str | None = None
    status: int = 429
    message: str = TOO_MANY_REQUESTS_MESSAGE
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False

        return self.path is None or self.path in path

    def describe(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class FaultDecision:
    """The effect of the faults on one request: a delay first, then maybe an error response."""

    delay_seconds: float = 0.0
    error: tuple[int, str] | None = None


def _check_count(n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")

    return n


def _normalise_method(method: str | None) -> str | None:
    return method.upper() if method is not None else None


class Faults:
    """The fault switches of one emulator, available as `BunqEmulator.faults`."""

    def __init__(self, end_sessions: Callable[[int, str], int]) -> None:
        self._lock = threading.Lock()
        self._end_sessions = end_sessions
        self._countdowns: list[CountdownFault] = []
        self._rate_limits_enforced = False
        self._session_rate_limit_enforced = False
        self._calls: dict[tuple[str, str, str], collections.deque[float]] = {}

    def http_429(self, n: int = 1, method: str | None = None, path: str | None = None) -> None:
        """Reject the next `n` matching requests with bunq's 429 "Too many requests"."""
        self._add(
            CountdownFault(
                kind="http_429",
                remaining=_check_count(n),
                method=_normalise_method(method),
                path=path,
            )
        )

    def http_5xx(
        self,
        n: int = 1,
        status: int = 500,
        method: str | None = None,
        path: str | None = None,
        message: str = SERVER_ERROR_MESSAGE,
    ) -> None:
        """Fail the next `n` matching requests with a server error in bunq's error shape."""
        if not isinstance(status, int) or not 500 <= status <= 599:
            raise ValueError(f"status must be between 500 and 599, got {status!r}")

        self._add(
            CountdownFault(
                kind="http_5xx",
                remaining=_check_count(n),
                method=_normalise_method(method),
                path=path,
                status=status,
                message=message,
            )
        )

    def timeout(
        self, n: int = 1, seconds: float = 5.0, method: str | None = None, path: str | None = None
    ) -> None:
        """Delay the response to the next `n` matching requests by `seconds`.

        The delay is capped at MAX_TIMEOUT_SECONDS and ends early when the emulator stops.
        The response that follows is the normal one, so the client sees a timeout only if
        its own timeout is shorter than `seconds`.
        """
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")

        self._add(
            CountdownFault(
                kind="timeout",
                remaining=_check_count(n),
                method=_normalise_method(method),
                path=path,
                seconds=min(float(seconds), MAX_TIMEOUT_SECONDS),
            )
        )

    def expire_sessions(self, message: str = SESSION_ENDED_MESSAGE, status: int = 401) -> int:
        """End every open session server-side; return how many were ended.

        Each ended session's next request gets `status` with `message`, as when bunq ends a
        session early. bunq has been seen to return both 401 "Insufficient authorisation."
        and 403 "Insufficient authentication.". Sessions opened afterwards work normally.
        """
        if status not in (401, 403):
            raise ValueError(f"status must be 401 or 403, got {status!r}")

        return self._end_sessions(status, message)

    def enforce_rate_limits(self, enabled: bool = True) -> None:
        """Turn on bunq's limits: 3 GET, 5 POST and 2 PUT calls per 3 s, and 1 session per 30 s.

        Limits count per client IP, method and endpoint. A rejected call does not count.
        """
        with self._lock:
            self._rate_limits_enforced = bool(enabled)
            self._session_rate_limit_enforced = bool(enabled)
            self._calls.clear()

    def enforce_session_rate_limit(self, enabled: bool = True) -> None:
        """Turn on only bunq's limit of one POST /session-server per 30 s."""
        with self._lock:
            self._session_rate_limit_enforced = bool(enabled)
            self._calls.clear()

    def clear(self) -> None:
        """Disarm every count-down fault and turn the rate limits off."""
        with self._lock:
            self._countdowns.clear()
            self._rate_limits_enforced = False
            self._session_rate_limit_enforced = False
            self._calls.clear()

    def snapshot(self) -> dict[str, Any]:
        """Return the armed faults and the rate-limit switches as JSON-ready data."""
        with self._lock:
            return {
                "countdowns": [fault.describe() for fault in self._countdowns],
                "enforce_rate_limits": self._rate_limits_enforced,
                "enforce_session_rate_limit": self._session_rate_limit_enforced,
            }

    def apply_json(self, body: dict[str, Any]) -> None:
        """Set switches from a control request body.

        Keys are the method names of this class. Each value is an object of keyword
        arguments, or a boolean for the two rate-limit switches and for `clear`.
        Raises ValueError or TypeError on an unknown key or a bad argument.
        """
        known = {"clear", "http_429", "http_5xx", "timeout", "expire_sessions"}
        known |= {"enforce_rate_limits", "enforce_session_rate_limit"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {', '.join(sorted(unknown))}")

        if body.get("clear"):
            self.clear()

        for name in ("enforce_rate_limits", "enforce_session_rate_limit"):
            if name in body:
                getattr(self, name)(bool(body[name]))

        for name in ("http_429", "http_5xx", "timeout", "expire_sessions"):
            if name not in body:
                continue

            arguments = body[name]
            if arguments is True:
                arguments = {}
            if not isinstance(arguments, dict):
                raise TypeError(f"{name} takes an object of keyword arguments")

            getattr(self, name)(**arguments)

    def _add(self, fault: CountdownFault) -> None:
        with self._lock:
            self._countdowns.append(fault)

    def decide(self, method: str, path: str) -> FaultDecision:
        """Consume the faults that match this request and return what they ask for.

        The first matching timeout adds its delay, and the first matching 429 or 5xx fault
        supplies the error, each using up one of its `n`.
        """
        decision = FaultDecision()

        with self._lock:
            for kind in ("timeout", "error"):
                for fault in self._countdowns:
                    is_error = fault.kind in ("http_429", "http_5xx")
                    if (kind == "error") != is_error or not fault.matches(method, path):
                        continue

                    fault.remaining -= 1
                    if kind == "timeout":
                        decision.delay_seconds = fault.seconds
                    else:
                        decision.error = (fault.status, fault.message)
                    break

            self._countdowns = [fault for fault in self._countdowns if fault.remaining > 0]

        return decision

    def check_rate_limit(self, client_ip: str, method: str, route: str) -> str | None:
        """Record a call; return bunq's 429 message if it goes over an enforced limit."""
        is_session_server = method == "POST" and route.endswith("/session-server")

        with self._lock:
            if is_session_server and self._session_rate_limit_enforced:
                limit = SESSION_SERVER_RATE_LIMIT
            elif self._rate_limits_enforced and method in RATE_LIMITS:
                limit = RATE_LIMITS[method]
            else:
                return None

            calls, window = limit
            now = time.monotonic()
            history = self._calls.setdefault((client_ip, method, route), collections.deque())

            while history and now - history[0] >= window:
                history.popleft()

            if len(history) >= calls:
                return (
                    f"Too many requests. You can do a maximum of {calls} calls per "
                    f"{window:g} second to this endpoint."
                )

            history.append(now)

            return None
