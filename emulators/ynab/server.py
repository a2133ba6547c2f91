"""The HTTP side of the YNAB emulator: routing, auth, fault switches and the control endpoints.

Everything under ``/v1`` behaves like api.ynab.com/v1 for the endpoints the sync uses. The
``/_emulator`` endpoints are for tests and the demo. They need no token and are not counted.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulators.ynab.faults import Fault, Faults
from emulators.ynab.seed import build_state
from emulators.ynab.state import ApiError, YnabState, bad_request
from emulators.ynab.validation import parse_iso_date

logger = logging.getLogger("emulators.ynab")

# The API's routes as (method, path template, YnabApi method). The template is also the key
# of ``YnabEmulator.request_counts``.
ROUTES = (
    ("GET", "/v1/user", "get_user"),
    ("GET", "/v1/plans", "list_plans"),
    ("GET", "/v1/plans/{plan_id}", "get_plan"),
    ("GET", "/v1/plans/{plan_id}/settings", "get_settings"),
    ("GET", "/v1/plans/{plan_id}/accounts", "list_accounts"),
    ("GET", "/v1/plans/{plan_id}/accounts/{account_id}", "get_account"),
    ("GET", "/v1/plans/{plan_id}/accounts/{account_id}/transactions", "list_transactions"),
    ("GET", "/v1/plans/{plan_id}/categories", "list_categories"),
    ("GET", "/v1/plans/{plan_id}/categories/{category_id}", "get_category"),
    ("GET", "/v1/plans/{plan_id}/payees", "list_payees"),
    ("GET", "/v1/plans/{plan_id}/payees/{payee_id}", "get_payee"),
    ("GET", "/v1/plans/{plan_id}/transactions", "list_transactions"),
    ("POST", "/v1/plans/{plan_id}/transactions", "create_transactions"),
    ("PATCH", "/v1/plans/{plan_id}/transactions", "update_transactions"),
    ("GET", "/v1/plans/{plan_id}/transactions/{transaction_id}", "get_transaction"),
    ("PUT", "/v1/plans/{plan_id}/transactions/{transaction_id}", "put_transaction"),
    ("DELETE", "/v1/plans/{plan_id}/transactions/{transaction_id}", "delete_transaction"),
)


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


_COMPILED_ROUTES = [
    (method, template, handler, _route_pattern(template)) for method, template, handler in ROUTES
]
_PLAN_TRANSACTIONS = re.compile(r"^/_emulator/plans/(?P<plan_id>[^/]+)/transactions$")

_SERVER_ERRORS = {500: "internal_server_error", 503: "service_unavailable"}


def match_route(method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """Return (template, handler name, path parameters) of the route, or None."""
    for route_method, template, handler, pattern in _COMPILED_ROUTES:
        found = pattern.match(path)
        if found and route_method == method:
            return template, handler, found.groupdict()
    return None


class YnabApi:
    """Turns parsed requests into calls on the state and returns (status, data)."""

    def __init__(self, state: YnabState) -> None:
        self.state = state

    def get_user(self, params, query, body):
        return 200, self.state.get_user()

    def list_plans(self, params, query, body):
        include = _query_flag(query, "include_accounts")
        return 200, self.state.list_plans(include_accounts=include)

    def get_plan(self, params, query, body):
        return 200, self.state.get_plan(params["plan_id"], _query_knowledge(query))

    def get_settings(self, params, query, body):
        return 200, self.state.get_settings(params["plan_id"])

    def list_accounts(self, params, query, body):
        return 200, self.state.list_accounts(params["plan_id"], _query_knowledge(query))

    def get_account(self, params, query, body):
        return 200, self.state.get_account(params["plan_id"], params["account_id"])

    def list_categories(self, params, query, body):
        return 200, self.state.list_categories(params["plan_id"], _query_knowledge(query))

    def get_category(self, params, query, body):
        return 200, self.state.get_category(params["plan_id"], params["category_id"])

    def list_payees(self, params, query, body):
        return 200, self.state.list_payees(params["plan_id"], _query_knowledge(query))

    def get_payee(self, params, query, body):
        return 200, self.state.get_payee(params["plan_id"], params["payee_id"])

    def list_transactions(self, params, query, body):
        kind = _query_value(query, "type")
        if kind not in (None, "uncategorized", "unapproved"):
            raise bad_request("type must be uncategorized or unapproved")

        data = self.state.list_transactions(
            params["plan_id"],
            account_id=params.get("account_id"),
            since_date=_query_date(query, "since_date"),
            until_date=_query_date(query, "until_date"),
            kind=kind,
            since_knowledge=_query_knowledge(query),
        )
        return 200, data

    def create_transactions(self, params, query, body):
        return 201, self.state.create_transactions(params["plan_id"], body)

    def update_transactions(self, params, query, body):
        return 200, self.state.update_transactions(params["plan_id"], body)

    def get_transaction(self, params, query, body):
        return 200, self.state.get_transaction(params["plan_id"], params["transaction_id"])

    def put_transaction(self, params, query, body):
        data = self.state.put_transaction(params["plan_id"], params["transaction_id"], body)
        return 200, data

    def delete_transaction(self, params, query, body):
        return 200, self.state.delete_transaction(params["plan_id"], params["transaction_id"])


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _query_flag(query: dict[str, list[str]], name: str) -> bool:
    return (_query_value(query, name) or "").lower() == "true"


def _query_knowledge(query: dict[str, list[str]]) -> int | None:
    raw = _query_value(query, "last_knowledge_of_server")
    if raw is None:
        return None
    if not raw.isdigit():
        raise bad_request("last_knowledge_of_server must be a non-negative integer")
    return int(raw)


def _query_date(query: dict[str, list[str]], name: str) -> date | None:
    raw = _query_value(query, name)
    if raw is None:
        return None
    day = parse_iso_date(raw)
    if day is None:
        raise bad_request(f"{name} must be a valid date in ISO format (YYYY-MM-DD)")
    return day


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ynab-emulator"
    # Headers and body go out in two writes. With Nagle's algorithm on, a keep-alive client
    # waits about 40 ms (the delayed-ACK timer) for the second one.
    disable_nagle_algorithm = True
    server: _EmulatorHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # _dispatch logs one line per request itself, with the status it decided on.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        # Only errors of http.server itself, such as a malformed request line, arrive here.
        logger.warning("%s: %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator

        if url.path.startswith("/_emulator/"):
            query = parse_qs(url.query)
            status, payload = emulator.handle_control(method, url.path, query, raw_body)
        else:
            status, payload = self._handle_api(emulator, method, url.path, url.query, raw_body)

        # Logged before the response goes out, so that a client never sees a response whose
        # log line is still missing.
        logger.info("%s %s %s", method, self.path, status if payload is not None else "dropped")
        if payload is None:
            self.close_connection = True
        else:
            self._send(status, payload)

    def _handle_api(self, emulator: YnabEmulator, method, path, query_string, raw_body):
        """Serve one /v1 request and return (status, body). A None body drops the connection."""
        route = match_route(method, path)
        emulator.count_request(method, route[0] if route else path)

        fault = emulator.faults.take(method, path)
        if fault is not None and fault.kind in ("http_429", "http_5xx"):
            return fault.status, _fault_body(fault)
        if fault is not None and fault.kind == "timeout":
            if emulator.stopping.wait(fault.seconds or 0.0):
                return 503, None  # stop() cut the delay short: drop the request unprocessed

        status, payload = emulator.handle_api(
            method, route, self.headers.get("Authorization"), parse_qs(query_string), raw_body
        )
        if fault is not None and fault.kind == "fail_after_commit":
            return status, None
        return status, payload

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # A client that timed out has closed its side, so the response is lost, as on a server.
            logger.info("client closed the connection before the response was sent")
            self.close_connection = True


def _fault_body(fault: Fault) -> dict:
    if fault.kind == "http_429":
        error = {"id": "429", "name": "too_many_requests", "detail": "Too many requests"}
    else:
        name = _SERVER_ERRORS.get(fault.status, "internal_server_error")
        error = {
            "id": str(fault.status),
            "name": name,
            "detail": name.replace("_", " ").capitalize(),
        }
    return {"error": error}


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: YnabEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)


class YnabEmulator:
    """A YNAB API v1 server on a local port, seeded from a seed dict or JSON file.

    ``today`` fixes the date that transaction dates are checked against (default: the local
    date at each request). ``default_since_days`` makes GET transactions without
    ``since_date`` return only that many days back, like the real API's one-year default.
    The default (None) returns everything.
    """

    def __init__(
        self,
        seed: dict | str | os.PathLike,
        *,
        today: date | None = None,
        default_since_days: int | None = None,
    ) -> None:
        today_function: Callable[[], date] = (lambda: today) if today else date.today
        self.state = build_state(seed, today=today_function, default_since_days=default_since_days)
        self.api = YnabApi(self.state)
        self.faults = Faults()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._counts_lock = threading.Lock()
        self._server: _EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Set by stop(), so that requests delayed by a timeout fault end at once.
        self.stopping = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> YnabEmulator:
        """Serve on ``host:port`` (0 picks a free port) from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")

        self.stopping.clear()
        self._server = _EmulatorHTTPServer((host, port), self)
        # A short poll interval makes stop() return quickly, which keeps test teardown fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="ynab-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve in the calling thread until interrupted, as the command line does."""
        self._server = _EmulatorHTTPServer((host, port), self)
        logger.info("YNAB emulator listening on %s", self.base_url)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving, close the listening socket and end any timeout fault's delay."""
        if self._server is None:
            return

        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> YnabEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        """The URL to pass as ``ynab.Configuration(host=...)``."""
        host, port = self.address
        return f"http://{host}:{port}/v1"

    # --- request counts -------------------------------------------------------------------

    def count_request(self, method: str, route: str) -> None:
        with self._counts_lock:
            self._counts[(method, route)] += 1

    @property
    def request_counts(self) -> Counter[tuple[str, str]]:
        """Requests under /v1 so far, keyed by (method, route template) such as
        ("POST", "/v1/plans/{plan_id}/transactions"); an unknown path counts under itself."""
        with self._counts_lock:
            return Counter(self._counts)

    @property
    def total_requests(self) -> int:
        with self._counts_lock:
            return sum(self._counts.values())

    def reset_counts(self) -> None:
        with self._counts_lock:
            self._counts.clear()

    # --- direct access for tests and the demo ---------------------------------------------

    def transactions(
        self, plan_id: str, include_deleted: bool = False, *, include_hidden: bool = False
    ) -> list[dict]:
        """Return the plan's transactions as the API serialises them.

        ``include_hidden`` adds imported transactions that were matched to a user-entered
        one, which the API's lists leave out.
        """
        with self.state.lock:
            return self.state.all_transactions(
                plan_id, include_deleted=include_deleted, include_hidden=include_hidden
            )

    def update_transaction(self, plan_id: str, transaction_id: str, **fields: Any) -> dict:
        """Edit a transaction as the user would in the YNAB app (see YnabState.edit_transaction)."""
        with self.state.lock:
            return self.state.edit_transaction(plan_id, transaction_id, **fields)

    def delete_transaction(self, plan_id: str, transaction_id: str) -> dict:
        """Delete a transaction as the user would in the YNAB app."""
        with self.state.lock:
            try:
                return self.state.delete_transaction(plan_id, transaction_id)["transaction"]
            except ApiError as error:
                raise KeyError(transaction_id) from error

    # --- request handling -----------------------------------------------------------------

    def handle_api(self, method, route, authorization, query, raw_body) -> tuple[int, dict]:
        """Authenticate and serve one /v1 request, and return (status, JSON body)."""
        token = _bearer_token(authorization)
        if token is None or not hmac.compare_digest(token, self.state.token):
            return 401, {"error": {"id": "401", "name": "not_authorized", "detail": "Unauthorized"}}

        if not self.faults.allow(token):
            return 429, {
                "error": {"id": "429", "name": "too_many_requests", "detail": "Too many requests"}
            }

        if route is None:
            return 404, {"error": {"id": "404.1", "name": "not_found", "detail": "Not found"}}

        template, handler_name, params = route
        try:
            body = json.loads(raw_body) if raw_body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, bad_request("request body must be valid JSON").body()

        try:
            with self.state.lock:
                status, data = getattr(self.api, handler_name)(params, query, body)
        except ApiError as error:
            return error.status, error.body()
        except Exception:
            logger.exception("request %s %s failed", method, template)
            detail = "Internal server error"
            return 500, {"error": {"id": "500", "name": "internal_server_error", "detail": detail}}

        return status, {"data": data}

    def stats(self) -> dict:
        """Return the request counts as the control endpoint reports them."""
        counts = self.request_counts
        return {
            "total_requests": sum(counts.values()),
            "request_counts": {
                f"{method} {route}": count for (method, route), count in sorted(counts.items())
            },
        }

    def handle_control(self, method, path, query, raw_body) -> tuple[int, dict]:
        """Serve one /_emulator request and return (status, JSON body)."""
        if method == "GET" and path == "/_emulator/stats":
            return 200, self.stats()

        if method == "POST" and path == "/_emulator/reset-counts":
            self.reset_counts()
            return 200, self.stats()

        if method == "GET" and path == "/_emulator/faults":
            return 200, self.faults.snapshot()

        if method == "POST" and path == "/_emulator/faults":
            try:
                self.faults.apply_json(json.loads(raw_body or b"{}"))
            except (ValueError, UnicodeDecodeError) as error:
                return 400, {"error": str(error)}
            return 200, self.faults.snapshot()

        found = _PLAN_TRANSACTIONS.match(path)
        if method == "GET" and found:
            include_hidden = _query_flag(query, "include_hidden")
            try:
                transactions = self.transactions(
                    found["plan_id"], include_deleted=True, include_hidden=include_hidden
                )
            except ApiError as error:
                return error.status, error.body()
            return 200, {"transactions": transactions}

        return 404, {"error": f"no control endpoint {method} {path}"}


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
