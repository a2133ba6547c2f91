"""The HTTP server: BunqEmulator, which serves the bunq API and the /_emulator control API."""

from __future__ import annotations

import collections
import json
import logging
import pathlib
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from Cryptodome.PublicKey import RSA

from emulators.bunq import api, signing
from emulators.bunq.faults import Faults
from emulators.bunq.state import EmulatorState, SeedError

logger = logging.getLogger("emulators.bunq")

CONTROL_PREFIX = "/_emulator/"

HEADER_AUTHENTICATION = "X-Bunq-Client-Authentication"
HEADER_CLIENT_SIGNATURE = "X-Bunq-Client-Signature"
HEADER_REQUEST_ID = "X-Bunq-Client-Request-Id"
HEADER_RESPONSE_ID = "X-Bunq-Client-Response-Id"
HEADER_SERVER_SIGNATURE = "X-Bunq-Server-Signature"

# Maximum request body the emulator reads. bunq requests are a few kilobytes.
MAX_BODY_BYTES = 10 * 1024 * 1024


class BunqEmulator:
    """A local bunq API for one user, which bunq-sdk 1.28.0 can use unmodified.

    Point the SDK at `base_url` (for example by setting
    `ApiEnvironmentType.SANDBOX._uri_base`). The server generates its own 2048-bit RSA
    key when constructed, which takes a fraction of a second; pass `server_key` to reuse
    one between instances.
    """

    def __init__(
        self,
        seed: dict[str, Any] | str | pathlib.Path,
        *,
        server_key: RSA.RsaKey | None = None,
    ) -> None:
        self.state = EmulatorState(seed)
        self.faults = Faults(self.state.end_sessions)
        self._signer = signing.ServerSigner(server_key)
        self._routes = api.build_routes(self._signer.public_key_pem)
        self._counts_lock = threading.Lock()
        self._request_counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._stop_event = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> BunqEmulator:
        """Serve in a daemon thread; port 0 picks a free port. Returns the emulator."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running; call stop() first")

        self._stop_event.clear()
        self._server = _Server((host, port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"bunq-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stop() is called or `timeout` seconds pass; return whether it stopped."""
        return self._stop_event.wait(timeout)

    def stop(self) -> None:
        """Stop serving and end any delay from a timeout fault. Safe to call twice."""
        self._stop_event.set()
        server, thread = self._server, self._thread
        self._server, self._thread = None, None

        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> BunqEmulator:
        if self._server is None:
            self.start()

        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        self._require_running()

        return self._server.server_address[0]

    @property
    def port(self) -> int:
        self._require_running()

        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        """The server's address without a path, for the /_emulator/ control endpoints."""
        host = self.host
        if ":" in host:
            host = f"[{host}]"

        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base, with the trailing slash that bunq-sdk needs."""
        return f"{self.root_url}/v1/"

    def _require_running(self) -> None:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")

    # --- data and statistics -----------------------------------------------------------

    @property
    def user_id(self) -> int:
        return self.state.user_id

    @property
    def api_keys(self) -> list[str]:
        return self.state.api_keys

    @property
    def devices(self) -> list[dict[str, Any]]:
        """The registered devices with their description and permitted IPs (no API keys)."""
        return self.state.devices()

    def add_payment(self, account_id: int, **fields: Any) -> dict[str, Any]:
        """Add a payment, newest in its account, and return its stored bunq JSON.

        `fields` take the seed's payment format (see payloads.build_payment).
        """
        return self.state.add_payment(account_id, fields)

    def add_account(self, **fields: Any) -> dict[str, Any]:
        """Add a monetary account and return its stored bunq JSON.

        `fields` take the seed's account format (see payloads.build_account).
        """
        return self.state.add_account(fields)

    @property
    def request_counts(self) -> collections.Counter[tuple[str, str]]:
        """A copy of the API request counts, keyed by (method, route template).

        Every request under /v1/ counts, including the ones a fault or rate limit rejected.
        Unknown paths count under their path with numeric segments replaced by {id}.
        """
        with self._counts_lock:
            return collections.Counter(self._request_counts)

    @property
    def total_requests(self) -> int:
        with self._counts_lock:
            return sum(self._request_counts.values())

    def reset_counts(self) -> None:
        with self._counts_lock:
            self._request_counts.clear()

    def _count(self, method: str, template: str) -> None:
        with self._counts_lock:
            self._request_counts[(method, template)] += 1

    def stats(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data, keyed by "METHOD /route/template"."""
        counts = self.request_counts

        return {
            "total_requests": sum(counts.values()),
            "request_counts": {
                f"{method} {template}": count
                for (method, template), count in sorted(counts.items())
            },
        }

    # --- the bunq API ------------------------------------------------------------------

    def handle_api(
        self, method: str, target: str, headers: Any, body: bytes, client_ip: str
    ) -> tuple[int, bytes, dict[str, str]]:
        """Handle one request under /v1/ and return its status, body and extra headers."""
        path = urlsplit(target).path
        route, path_ids = api.match_route(self._routes, path)
        template = route.template if route else api.route_template_for_unknown_path(path)
        self._count(method, template)

        status, payload = self._respond(
            method, target, headers, body, client_ip, route, template, path_ids
        )

        return self.sign_response(status, payload, headers)

    def _respond(
        self,
        method: str,
        target: str,
        headers: Any,
        body: bytes,
        client_ip: str,
        route: api.Route | None,
        template: str,
        path_ids: list[int],
    ) -> tuple[int, Any]:
        decision = self.faults.decide(method, target)
        if decision.delay_seconds:
            self._stop_event.wait(decision.delay_seconds)
        if decision.error is not None:
            status, message = decision.error
            return status, api.error_body(message)

        limit_message = self.faults.check_rate_limit(client_ip, method, template)
        if limit_message is not None:
            return 429, api.error_body(limit_message)

        if route is None:
            return 404, api.error_body("Route not found.")

        handler = route.handlers.get(method)
        if handler is None:
            return 405, api.error_body(f"Method {method} is not allowed on this route.")

        split = urlsplit(target)
        request = api.Request(
            method=method,
            path=split.path,
            query=api.parse_query(split.query),
            body=body,
            headers=headers,
            client_ip=client_ip,
            path_ids=path_ids,
        )

        try:
            self._authenticate(route, request)
            return handler(self.state, request)
        except api.ApiError as error:
            return error.status, api.error_body(error.message)

    def _authenticate(self, route: api.Route, request: api.Request) -> None:
        """Check the token and body signature the route needs; raise ApiError if wrong."""
        if route.auth == api.AUTH_NONE:
            return

        token = request.headers.get(HEADER_AUTHENTICATION)
        signature = request.headers.get(HEADER_CLIENT_SIGNATURE)
        unauthorised = api.ApiError(401, api.INSUFFICIENT_AUTHORISATION)

        if route.auth == api.AUTH_INSTALLATION:
            installation = self.state.installation_by_token(token)
            if installation is None:
                raise unauthorised
            if not signing.is_valid_signature(
                installation.client_public_key, request.body, signature
            ):
                raise unauthorised

            request.installation = installation
            return

        session = self.state.session_by_token(token)
        if session is None:
            raise unauthorised

        installation = self.state.installation_by_id(session.installation_id)
        if installation is None:
            raise unauthorised
        if not signing.is_valid_signature(installation.client_public_key, request.body, signature):
            raise unauthorised
        if session.ended is not None:
            raise api.ApiError(*session.ended)
        if time.monotonic() > session.expires_at:
            raise unauthorised

        self.state.touch_session(session)
        request.installation = installation
        request.session = session

    def sign_response(self, status: int, payload: Any, headers: Any) -> tuple[int, bytes, dict]:
        """Serialise `payload` and sign the exact body bytes, as bunq does for every response."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        extra = {
            HEADER_RESPONSE_ID: str(uuid.uuid4()),
            HEADER_SERVER_SIGNATURE: self._signer.sign(body),
        }

        request_id = headers.get(HEADER_REQUEST_ID)
        if request_id:
            extra[HEADER_REQUEST_ID] = request_id

        return status, body, extra

    # --- the control API ---------------------------------------------------------------

    def handle_control(self, method: str, target: str, body: bytes) -> tuple[int, Any]:
        """Handle one /_emulator/ request and return its status and a JSON-ready body."""
        path = urlsplit(target).path.rstrip("/")
        name = path[len(CONTROL_PREFIX) :]

        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return 400, {"error": f"the request body is not valid JSON: {error}"}

        if method == "POST" and not isinstance(data, dict):
            return 400, {"error": "the request body must be a JSON object"}

        routes = {
            ("GET", "stats"): lambda: self.stats(),
            ("POST", "reset-counts"): self._control_reset_counts,
            ("GET", "faults"): self.faults.snapshot,
            ("POST", "faults"): lambda: self._control_faults(data),
            ("POST", "payments"): lambda: self._control_add_payment(data),
            ("POST", "accounts"): lambda: self.add_account(**data),
            ("GET", "devices"): lambda: self.devices,
        }
        action = routes.get((method, name))

        if action is None:
            return 404, {"error": f"no control endpoint {method} {path}"}

        try:
            return 200, action()
        except KeyError as error:
            return 404, {"error": str(error.args[0]) if error.args else "not found"}
        except (TypeError, ValueError, SeedError) as error:
            return 400, {"error": str(error)}

    def _control_reset_counts(self) -> dict[str, Any]:
        self.reset_counts()

        return self.stats()

    def _control_faults(self, data: dict[str, Any]) -> dict[str, Any]:
        self.faults.apply_json(data)

        return self.faults.snapshot()

    def _control_add_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        account_id = fields.pop("account_id", None)

        if account_id is None:
            raise ValueError("the body needs an account_id")

        return self.add_payment(account_id, **fields)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, emulator: BunqEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bunq-emulator"
    sys_version = ""
    server: _Server

    # The error message of the response being sent, for the request log line.
    _error_detail = ""

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        emulator = self.server.emulator

        try:
            body = self._read_body()
        except ValueError as error:
            self._send(400, json.dumps({"error": str(error)}).encode(), {})
            return

        try:
            if urlsplit(self.path).path.startswith(CONTROL_PREFIX):
                status, payload = emulator.handle_control(self.command, self.path, body)
                self._send(status, json.dumps(payload).encode("utf-8"), {})
                return

            status, response_body, headers = emulator.handle_api(
                self.command, self.path, self.headers, body, self.client_address[0]
            )
        except Exception:
            logger.exception("request %s %s failed inside the emulator", self.command, self.path)
            payload = api.error_body("The emulator failed to handle this request.")
            status, response_body, headers = emulator.sign_response(500, payload, self.headers)

        self._send(status, response_body, headers)

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""

        try:
            length = int(length_header)
        except ValueError:
            raise ValueError(f"invalid Content-Length {length_header!r}") from None

        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError(f"Content-Length {length} is outside 0..{MAX_BODY_BYTES}")

        return self.rfile.read(length)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._error_detail = _error_message(body) if status >= 400 else ""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))

        for name, value in headers.items():
            self.send_header(name, value)

        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method, path, status and error message only: the headers carry tokens and signatures.
        if self._error_detail:
            logger.info("%s %s %s %s", self.command, self.path, code, self._error_detail)
        else:
            logger.info("%s %s %s", self.command, self.path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.warning("%s - %s", self.address_string(), format % args)


def _error_message(body: bytes) -> str:
    """Return the error description of a bunq or control error body, or "" if it has none."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""

    if not isinstance(parsed, dict):
        return ""
    if isinstance(parsed.get("error"), str):
        return parsed["error"]

    errors = parsed.get("Error")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("error_description", ""))

    return ""
