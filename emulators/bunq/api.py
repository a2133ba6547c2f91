"""The bunq endpoints the emulator serves: routing, authentication and response bodies.

Each endpoint function takes a Request and returns (HTTP status, JSON body). Signing the
response, fault injection and the HTTP plumbing live in `server.py`.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from emulators.bunq import payloads, signing
from emulators.bunq.state import EmulatorState, Installation, Session

INSUFFICIENT_AUTHORISATION = "Insufficient authorisation."
INCORRECT_API_KEY = "User credentials are incorrect. Incorrect API key or IP address."

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 200

# The kind of token a route requires in X-Bunq-Client-Authentication.
AUTH_NONE = "none"
AUTH_INSTALLATION = "installation"
AUTH_SESSION = "session"


class ApiError(Exception):
    """An error to send in bunq's shape: {"Error": [{"error_description": ...}]}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(message: str) -> dict[str, Any]:
    return {"Error": [{"error_description": message, "error_description_translated": message}]}


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: Any
    client_ip: str
    path_ids: list[int] = dataclasses.field(default_factory=list)
    installation: Installation | None = None
    session: Session | None = None

    def json_body(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, f"The request body is not valid JSON: {error}.") from error

        if not isinstance(parsed, dict):
            raise ApiError(400, "The request body must be a JSON object.")

        return parsed

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)

        return values[-1] if values else None


Handler = Callable[[EmulatorState, Request], tuple[int, Any]]


@dataclasses.dataclass
class Route:
    template: str
    handlers: dict[str, Handler]
    auth: str = AUTH_SESSION
    pattern: re.Pattern = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(re.escape(self.template).replace(r"\{id\}", r"(\d+)"))


def route_template_for_unknown_path(path: str) -> str:
    """Return a counting key for a path no route matches, with numeric segments as {id}."""
    return "/".join("{id}" if segment.isdigit() else segment for segment in path.split("/"))


# --- session flow ------------------------------------------------------------------------


def create_installation(
    state: EmulatorState, request: Request, server_public_key_pem: str
) -> tuple[int, Any]:
    body = request.json_body()
    pem = body.get("client_public_key")

    if not isinstance(pem, str):
        raise ApiError(400, "The field client_public_key is missing.")

    try:
        client_key = signing.import_public_key(pem)
    except (ValueError, IndexError, TypeError) as error:
        raise ApiError(400, "The client_public_key is not a valid RSA public key.") from error

    installation, token = state.create_installation(client_key)

    return 200, {
        "Response": [
            {"Id": {"id": installation.id}},
            {"Token": token},
            {"ServerPublicKey": {"server_public_key": server_public_key_pem}},
        ]
    }


def create_device_server(state: EmulatorState, request: Request) -> tuple[int, Any]:
    body = request.json_body()
    api_key = body.get("secret")
    description = body.get("description")
    permitted_ips = body.get("permitted_ips")

    if not isinstance(description, str):
        raise ApiError(400, "The field description is missing.")
    if not state.is_known_api_key(api_key):
        raise ApiError(400, INCORRECT_API_KEY)

    if permitted_ips is not None:
        if not isinstance(permitted_ips, list):
            raise ApiError(400, "The field permitted_ips must be a list of IP addresses.")
        for item in permitted_ips:
            if item != "*" and not _is_ip_address(item):
                raise ApiError(400, f"The permitted IP {item!r} is not a valid IP address.")

    device = state.register_device(
        request.installation, description, api_key, permitted_ips, request.client_ip
    )

    return 200, {"Response": [{"Id": {"id": device.id}}]}


def _is_ip_address(value: Any) -> bool:
    if not isinstance(value, str):
        return False

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False

    return True


def create_session_server(state: EmulatorState, request: Request) -> tuple[int, Any]:
    api_key = request.json_body().get("secret")

    if not state.is_known_api_key(api_key):
        raise ApiError(400, INCORRECT_API_KEY)
    if not state.device_allows(request.installation, api_key, request.client_ip):
        raise ApiError(400, INCORRECT_API_KEY)

    session, token, user = state.create_session(request.installation)

    return 200, {"Response": [{"Id": {"id": session.id}}, {"Token": token}, {"UserPerson": user}]}


def delete_session(state: EmulatorState, request: Request) -> tuple[int, Any]:
    state.end_session(request.session, 401, INSUFFICIENT_AUTHORISATION)

    return 200, {"Response": []}


# --- users -------------------------------------------------------------------------------


def _check_user(state: EmulatorState, user_id: int) -> None:
    if user_id != state.user_id:
        raise ApiError(404, "User not found.")


def _empty_pagination() -> dict[str, None]:
    return {"future_url": None, "newer_url": None, "older_url": None}


def list_users(state: EmulatorState, request: Request) -> tuple[int, Any]:
    return 200, {"Response": [{"UserPerson": state.user()}], "Pagination": _empty_pagination()}


def get_user(state: EmulatorState, request: Request) -> tuple[int, Any]:
    _check_user(state, request.path_ids[0])

    return 200, {"Response": [{"UserPerson": state.user()}]}


# --- pagination --------------------------------------------------------------------------


def _parse_positive_int(request: Request, name: str) -> int | None:
    raw = request.query_value(name)
    if raw is None:
        return None

    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"The parameter {name} must be an integer, got {raw!r}.") from None

    if value < 0:
        raise ApiError(400, f"The parameter {name} must not be negative, got {value}.")

    return value


def paginate(request: Request, items: list[dict[str, Any]]) -> tuple[list, dict[str, Any]]:
    """Select one page of `items` (ordered newest first) and build bunq's Pagination object.

    With older_id=X the page contains the `count` items just below X; with newer_id=X, the
    `count` items just above X, still newest first. `older_url` points below the page's
    oldest item when older items exist, `newer_url` above its newest item when newer items
    exist, and `future_url` (newer_id of the page's newest item) is set only when the page
    contains the newest item, so that a poller can ask for what arrives later.
    """
    count = _parse_positive_int(request, "count")
    older_id = _parse_positive_int(request, "older_id")
    newer_id = _parse_positive_int(request, "newer_id")

    # NOTE: the wording of these two errors is the emulator's own; bunq's is unrecorded.
    if count is not None and not 1 <= count <= MAX_PAGE_SIZE:
        raise ApiError(400, f"The parameter count must be between 1 and {MAX_PAGE_SIZE}.")
    if older_id is not None and newer_id is not None:
        raise ApiError(400, "Use either older_id or newer_id, not both.")

    page_size = count if count is not None else DEFAULT_PAGE_SIZE
    ids = [item["id"] for item in items]

    if older_id is not None:
        page = [item for item in items if item["id"] < older_id][:page_size]
    elif newer_id is not None:
        page = [item for item in items if item["id"] > newer_id][-page_size:]
    else:
        page = items[:page_size]

    def url(key: str, value: int) -> str:
        params = {"count": count} if count is not None else {}
        params[key] = value

        return f"{request.path}?{urlencode(params)}"

    pagination = _empty_pagination()

    if page:
        newest = page[0]["id"]
        oldest = page[-1]["id"]

        if any(item_id < oldest for item_id in ids):
            pagination["older_url"] = url("older_id", oldest)
        if any(item_id > newest for item_id in ids):
            pagination["newer_url"] = url("newer_id", newest)
        else:
            pagination["future_url"] = url("newer_id", newest)
    elif newer_id is not None:
        # Nothing arrived since newer_id, so the poller keeps asking from the same place.
        pagination["future_url"] = url("newer_id", newer_id)

    return page, pagination


# --- monetary accounts -------------------------------------------------------------------


def _accounts_desc(state: EmulatorState, account_type: str | None) -> list[tuple[str, dict]]:
    # NOTE: accounts are listed newest (highest id) first like every other bunq list; no
    # recording with several accounts shows bunq's real order.
    return list(reversed(state.accounts(account_type)))


def _list_accounts(state: EmulatorState, request: Request, account_type: str | None):
    _check_user(state, request.path_ids[0])
    typed = _accounts_desc(state, account_type)
    types_by_id = {account["id"]: kind for kind, account in typed}

    page, pagination = paginate(request, [account for _, account in typed])
    response = [{types_by_id[account["id"]]: account} for account in page]

    return 200, {"Response": response, "Pagination": pagination}


def _get_account(state: EmulatorState, request: Request, account_type: str | None):
    _check_user(state, request.path_ids[0])
    found = state.account(request.path_ids[1])

    if found is None or (account_type is not None and found[0] != account_type):
        raise ApiError(404, "Monetary account not found.")

    kind, account = found

    return 200, {"Response": [{kind: account}]}


def list_accounts(state: EmulatorState, request: Request) -> tuple[int, Any]:
    return _list_accounts(state, request, None)


def get_account(state: EmulatorState, request: Request) -> tuple[int, Any]:
    return _get_account(state, request, None)


def _typed_account_handlers(account_type: str) -> tuple[Handler, Handler]:
    def list_typed(state: EmulatorState, request: Request) -> tuple[int, Any]:
        return _list_accounts(state, request, account_type)

    def get_typed(state: EmulatorState, request: Request) -> tuple[int, Any]:
        return _get_account(state, request, account_type)

    return list_typed, get_typed


# --- payments ----------------------------------------------------------------------------


def _account_payments(state: EmulatorState, request: Request) -> list[dict[str, Any]]:
    _check_user(state, request.path_ids[0])
    payments = state.payments(request.path_ids[1])

    if payments is None:
        raise ApiError(404, "Monetary account not found.")

    return payments


def list_payments(state: EmulatorState, request: Request) -> tuple[int, Any]:
    page, pagination = paginate(request, _account_payments(state, request))

    payments = [{"Payment": copy.deepcopy(payment)} for payment in page]

    return 200, {"Response": payments, "Pagination": pagination}


def get_payment(state: EmulatorState, request: Request) -> tuple[int, Any]:
    _account_payments(state, request)
    payment = state.payment(request.path_ids[1], request.path_ids[2])

    if payment is None:
        raise ApiError(404, "Payment not found.")

    return 200, {"Response": [{"Payment": payment}]}


# --- notification filters ----------------------------------------------------------------

# bunq allows at most this many callback URLs per category.
MAX_TARGETS_PER_CATEGORY = 2


def _filter_account_id(state: EmulatorState, request: Request) -> int | None:
    _check_user(state, request.path_ids[0])

    if len(request.path_ids) < 2:
        return None

    account_id = request.path_ids[1]
    if state.account(account_id) is None:
        raise ApiError(404, "Monetary account not found.")

    return account_id


def _filter_items(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"NotificationFilterUrl": item} for item in filters]


def list_notification_filters(state: EmulatorState, request: Request) -> tuple[int, Any]:
    filters = state.notification_filters(_filter_account_id(state, request))

    return 200, {"Response": _filter_items(filters), "Pagination": _empty_pagination()}


def replace_notification_filters(state: EmulatorState, request: Request) -> tuple[int, Any]:
    """Replace the whole filter list and return the new list.

    bunq returns the stored NotificationFilterUrl objects from this POST, not with the
    {"Id": ...} object that bunq-sdk's NotificationFilterUrl*ApiObject.create expects, so
    that SDK call fails against bunq and against this emulator alike.
    """
    account_id = _filter_account_id(state, request)
    filters = request.json_body().get("notification_filters")

    if not isinstance(filters, list):
        raise ApiError(400, "The field notification_filters must be a list.")

    per_category: dict[str, int] = {}
    for item in filters:
        if not isinstance(item, dict):
            raise ApiError(400, "Each notification filter must be an object.")

        category = item.get("category")
        target = item.get("notification_target")

        if not isinstance(category, str) or not category:
            raise ApiError(400, "Each notification filter needs a category.")
        # NOTE: bunq requires HTTPS callback URLs; the wording of this error is the emulator's.
        if not isinstance(target, str) or not target.startswith("https://"):
            raise ApiError(400, f"The notification target {target!r} must be an HTTPS URL.")

        per_category[category] = per_category.get(category, 0) + 1
        if per_category[category] > MAX_TARGETS_PER_CATEGORY:
            raise ApiError(
                400,
                f"At most {MAX_TARGETS_PER_CATEGORY} notification targets are allowed "
                f"for category {category}.",
            )

    stored = state.replace_notification_filters(filters, account_id)

    return 200, {"Response": _filter_items(stored)}


# --- route table -------------------------------------------------------------------------


def build_routes(server_public_key_pem: str) -> list[Route]:
    """Return every route the emulator serves; installations hand out `server_public_key_pem`."""

    def installation(state: EmulatorState, request: Request) -> tuple[int, Any]:
        return create_installation(state, request, server_public_key_pem)

    routes = [
        Route("/v1/installation", {"POST": installation}, AUTH_NONE),
        Route("/v1/device-server", {"POST": create_device_server}, AUTH_INSTALLATION),
        Route("/v1/session-server", {"POST": create_session_server}, AUTH_INSTALLATION),
        Route("/v1/session/{id}", {"DELETE": delete_session}),
        Route("/v1/user", {"GET": list_users}),
        Route("/v1/user/{id}", {"GET": get_user}),
        Route("/v1/user-person/{id}", {"GET": get_user}),
        Route("/v1/user/{id}/monetary-account", {"GET": list_accounts}),
        Route("/v1/user/{id}/monetary-account/{id}", {"GET": get_account}),
        Route("/v1/user/{id}/monetary-account/{id}/payment", {"GET": list_payments}),
        Route("/v1/user/{id}/monetary-account/{id}/payment/{id}", {"GET": get_payment}),
        Route(
            "/v1/user/{id}/notification-filter-url",
            {"GET": list_notification_filters, "POST": replace_notification_filters},
        ),
        Route(
            "/v1/user/{id}/monetary-account/{id}/notification-filter-url",
            {"GET": list_notification_filters, "POST": replace_notification_filters},
        ),
    ]

    for account_type, slug in payloads.TYPED_ACCOUNT_ENDPOINTS.items():
        list_typed, get_typed = _typed_account_handlers(account_type)
        routes.append(Route(f"/v1/user/{{id}}/monetary-account-{slug}", {"GET": list_typed}))
        routes.append(Route(f"/v1/user/{{id}}/monetary-account-{slug}/{{id}}", {"GET": get_typed}))

    return routes


def match_route(routes: list[Route], path: str) -> tuple[Route | None, list[int]]:
    for route in routes:
        match = route.pattern.fullmatch(path)
        if match:
            return route, [int(group) for group in match.groups()]

    return None, []


def parse_query(query_string: str) -> dict[str, list[str]]:
    return parse_qs(query_string, keep_blank_values=True)
