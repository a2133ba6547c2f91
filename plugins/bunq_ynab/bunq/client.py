"""A bunq client on top of bunq-sdk's signed HTTP layer, returning the raw JSON bunq sends.

The SDK's generated models drop fields and mix types, so this client uses the SDK's
``ApiClient`` (which signs requests, checks response signatures and keeps the session alive)
and parses the JSON itself. It adds what the SDK lacks: a throttle per HTTP method, retries on
429, one session reset on an expired or invalidated session, request timeouts, and saving the
context back when the session changed.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bunq_ynab.bunq.context import ContextStore, InvalidApiContext
from bunq_ynab.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

PAGE_SIZE = 200  # bunq's maximum count per page
REQUEST_TIMEOUT_SECONDS = 30.0
# bunq's documented limits per IP and endpoint: 3 GET, 5 POST and 2 PUT per 3 s, and 1
# session-server call per 30 s. Each window is widened by a margin, because bunq counts a
# request when it arrives, a little later than the client sends it.
_WINDOW_MARGIN_SECONDS = 0.3
BUNQ_RATE_LIMITS = {
    "GET": (3, 3.0 + _WINDOW_MARGIN_SECONDS),
    "POST": (5, 3.0 + _WINDOW_MARGIN_SECONDS),
    "PUT": (2, 3.0 + _WINDOW_MARGIN_SECONDS),
    "SESSION": (1, 30.0 + _WINDOW_MARGIN_SECONDS),
}
MAX_RATE_LIMIT_RETRIES = 5
_SESSION_ERRORS = ("insufficient authorisation", "insufficient authentication")
_CREDENTIAL_ERRORS = ("incorrect api key or ip address", "user credentials are incorrect")


class BunqCredentialsError(RuntimeError):
    """bunq rejected the API key or the calling IP; the user has to renew the API context."""


class BunqRateLimited(RuntimeError):
    """bunq returned 429 on every retry."""


@dataclass
class BunqAccount:
    """One monetary account as bunq lists it."""

    id: int
    account_type: str  # the wrapper key, e.g. MonetaryAccountBank
    raw: dict[str, Any]

    @property
    def status(self) -> str:
        return self.raw.get("status") or ""

    @property
    def iban(self) -> str | None:
        for alias in self.raw.get("alias") or []:
            if (alias or {}).get("type") == "IBAN" and alias.get("value"):
                return normalise_iban(alias["value"])
        return None


@dataclass
class RequestStats:
    """Requests sent and what the client did about limits and sessions."""

    requests: Counter = field(default_factory=Counter)
    rate_limit_retries: int = 0
    session_resets: int = 0


def normalise_iban(value: str | None) -> str | None:
    """Return the IBAN in upper case without spaces, or None for an empty value."""
    if not value:
        return None
    return "".join(value.split()).upper() or None


def configure_sdk(base_url: str | None, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
    """Point bunq-sdk at ``base_url`` and give its HTTP calls a timeout.

    bunq-sdk 1.28.0 has no option for either: the base URL is a constant on the environment
    enum and ``requests.request`` is called without a timeout, so a hung server would hang the
    task forever. Both settings are process-wide.
    """
    from bunq.sdk.context.api_environment_type import ApiEnvironmentType
    from bunq.sdk.http import api_client

    if base_url:
        if not base_url.endswith("/"):
            base_url += "/"
        for environment in ApiEnvironmentType:
            environment._uri_base = base_url
    if not isinstance(api_client.requests, _RequestsWithTimeout):
        api_client.requests = _RequestsWithTimeout(api_client.requests)
    api_client.requests.timeout = timeout


class _RequestsWithTimeout:
    """Stands in for the ``requests`` module inside bunq-sdk and adds a default timeout."""

    def __init__(self, requests_module: Any) -> None:
        self._requests = requests_module
        self.timeout = REQUEST_TIMEOUT_SECONDS

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return self._requests.request(method, url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._requests, name)


class BunqClient:
    """List accounts and payments of the user behind one API context."""

    def __init__(
        self,
        store: ContextStore,
        base_url: str | None = None,
        limiter: SlidingWindowLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from bunq.sdk.context.api_context import ApiContext

        context_json = store.load()
        base_url = base_url or getattr(store, "base_url", None)
        configure_sdk(base_url)
        try:
            self._context = ApiContext.from_json(context_json)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # The exception text could quote the context, so it is not chained into the message.
            raise InvalidApiContext(
                "The stored bunq API context does not parse as bunq-sdk JSON "
                f"({type(error).__name__}); create a new one from an API key"
            ) from None
        self._store = store
        self._limiter = limiter or SlidingWindowLimiter(BUNQ_RATE_LIMITS, sleep=sleep)
        self._sleep = sleep
        self._session_token = self._current_session_token()
        self.stats = RequestStats()

    @property
    def user_id(self) -> int:
        self._call("SESSION", "session-server", None)
        return int(self._context.session_context.user_id)

    def list_accounts(self) -> list[BunqAccount]:
        """Return every monetary account of the user, of every type, over all pages."""
        path = f"user/{self.user_id}/monetary-account"
        accounts = []
        for item in self._iterate_older(path, {"count": str(PAGE_SIZE)}):
            for account_type, raw in item.items():
                if isinstance(raw, dict) and "id" in raw:
                    accounts.append(BunqAccount(int(raw["id"]), account_type, raw))
        return accounts

    def list_payments_newer_than(self, account_id: int, newest_known_id: int | None) -> list[dict]:
        """Return the account's payments with an id above ``newest_known_id``, oldest first.

        With no known id every payment is returned, paging back with ``older_id``. Otherwise the
        listing starts at ``newer_id=<known id>`` and follows ``newer_url``, so no payment at or
        below the mark is fetched again.
        """
        path = f"user/{self.user_id}/monetary-account/{account_id}/payment"
        payments: dict[int, dict] = {}
        if newest_known_id is None:
            pages = self._iterate_older(path, {"count": str(PAGE_SIZE)})
        else:
            pages = self._iterate_newer(
                path, {"count": str(PAGE_SIZE), "newer_id": str(newest_known_id)}
            )
        for item in pages:
            payment = item.get("Payment")
            if not payment or "id" not in payment:
                continue
            if newest_known_id is not None and int(payment["id"]) <= newest_known_id:
                continue
            payments[int(payment["id"])] = payment
        return [payments[payment_id] for payment_id in sorted(payments)]

    def get_payment(self, account_id: int, payment_id: int) -> dict | None:
        path = f"user/{self.user_id}/monetary-account/{account_id}/payment/{payment_id}"
        body = self._get(path, {})
        for item in body.get("Response") or []:
            if "Payment" in item:
                return item["Payment"]
        return None

    # Paging -------------------------------------------------------------------------------

    def _iterate_older(self, path: str, params: dict[str, str]) -> Iterator[dict]:
        while True:
            body = self._get(path, params)
            yield from body.get("Response") or []
            older_id = _query_value((body.get("Pagination") or {}).get("older_url"), "older_id")
            if older_id is None:
                return
            params = {"count": params["count"], "older_id": older_id}

    def _iterate_newer(self, path: str, params: dict[str, str]) -> Iterator[dict]:
        while True:
            body = self._get(path, params)
            yield from body.get("Response") or []
            newer_id = _query_value((body.get("Pagination") or {}).get("newer_url"), "newer_id")
            if newer_id is None:
                return
            params = {"count": params["count"], "newer_id": newer_id}

    # Requests -----------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str]) -> dict:
        from bunq.sdk.http.api_client import ApiClient

        def send() -> Any:
            return ApiClient(self._context).get(path, params, {})

        response = self._call("GET", path, send)
        return json.loads(response.body_bytes)

    def _call(self, method: str, path: str, send: Callable[[], Any] | None) -> Any:
        """Send one request with throttling, 429 retries and one session reset.

        With ``send`` None only the session is ensured, under the same error handling.
        """
        from bunq.sdk.exception.api_exception import ApiException
        from bunq.sdk.exception.too_many_requests_exception import TooManyRequestsException

        session_was_reset = False
        rate_limit_retries = 0
        while True:
            try:
                self._ensure_session()
                if send is None:
                    return None
                self._limiter.acquire(method)
                self.stats.requests[method] += 1
                response = send()
            except TooManyRequestsException:
                rate_limit_retries += 1
                self.stats.rate_limit_retries += 1
                if rate_limit_retries > MAX_RATE_LIMIT_RETRIES:
                    raise BunqRateLimited(
                        f"bunq returned 429 Too Many Requests {rate_limit_retries} times in a "
                        f"row for {method} {path}"
                    ) from None
                delay = 3.0 * rate_limit_retries
                log.warning("bunq rate limit hit on %s %s; retrying in %.0f s", method, path, delay)
                self._sleep(delay)
                continue
            except ApiException as error:
                message = str(error).lower()
                if any(text in message for text in _CREDENTIAL_ERRORS):
                    raise BunqCredentialsError(
                        "bunq rejected the API key or this server's IP address; create a new "
                        "API context (the exchange_pat DAG) and try again"
                    ) from None
                if any(text in message for text in _SESSION_ERRORS) and not session_was_reset:
                    log.warning("bunq session expired or was ended by bunq; opening a new one")
                    self._context._drop_session_context()
                    session_was_reset = True
                    continue
                raise
            self._save_if_session_changed()
            return response

    def _ensure_session(self) -> None:
        if not self._context.is_session_active():
            log.info("bunq session is missing or about to expire; opening a new one")
            self._reset_session()

    def _reset_session(self) -> None:
        self._limiter.acquire("SESSION")
        self.stats.requests["POST"] += 1
        self.stats.session_resets += 1
        self._context.reset_session()
        self._save_if_session_changed()

    def _current_session_token(self) -> str | None:
        session = self._context.session_context
        return session.token if session is not None else None

    def _save_if_session_changed(self) -> None:
        token = self._current_session_token()
        if token != self._session_token:
            self._store.save(self._context.to_json())
            self._session_token = token


def _query_value(url: str | None, key: str) -> str | None:
    if not url:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(key)
    return values[0] if values else None
