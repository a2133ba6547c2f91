"""The emulator's in-memory bank: seed data, installations, devices, sessions and filters.

Every public method takes the state's lock, so the HTTP handler threads and a test driving
the emulator directly see one consistent bank. Methods return deep copies, never the stored
objects.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import pathlib
import secrets
import threading
import time
from decimal import Decimal
from typing import Any

from Cryptodome.PublicKey import RSA

from emulators.bunq import payloads


class SeedError(ValueError):
    """The seed file or dict does not describe a valid bunq user."""


@dataclasses.dataclass
class Installation:
    id: int
    token: str
    client_public_key: RSA.RsaKey


@dataclasses.dataclass
class Device:
    id: int
    installation_id: int
    description: str
    api_key: str
    # None when the client sent no permitted_ips; bunq then binds the key to the caller's IP.
    permitted_ips: list[str] | None
    bound_ips: list[str]


@dataclasses.dataclass
class Session:
    id: int
    token: str
    installation_id: int
    user_id: int
    timeout_seconds: int
    expires_at: float
    # (HTTP status, bunq error message) once the server has ended the session.
    ended: tuple[int, str] | None = None


def load_seed(seed: dict[str, Any] | str | pathlib.Path) -> dict[str, Any]:
    """Return the bunq part of a seed, given as a dict or a path to a JSON file.

    The seed file that the demo and the YNAB emulator share contains the bunq data under the
    key "bunq". A dict without that key is taken to be the bunq part itself.
    """
    if isinstance(seed, (str, pathlib.Path)):
        path = pathlib.Path(seed)

        try:
            seed = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SeedError(f"cannot read seed file {path}: {error}") from error
        except json.JSONDecodeError as error:
            raise SeedError(f"seed file {path} is not valid JSON: {error}") from error

    if not isinstance(seed, dict):
        raise SeedError(f"the seed must be a JSON object, got {type(seed).__name__}")

    bunq_seed = seed.get("bunq", seed)

    if not isinstance(bunq_seed, dict):
        raise SeedError("the seed's 'bunq' value must be a JSON object")

    return bunq_seed


class EmulatorState:
    """One bunq user with accounts and payments, plus the API's session bookkeeping."""

    def __init__(self, seed: dict[str, Any] | str | pathlib.Path) -> None:
        bunq_seed = load_seed(seed)
        self._lock = threading.RLock()

        api_keys = bunq_seed.get("api_keys")
        if not api_keys or not all(isinstance(key, str) and key for key in api_keys):
            raise SeedError("the seed needs bunq.api_keys: a non-empty list of API key strings")
        self._api_keys = list(api_keys)

        user_entry = bunq_seed.get("user")
        if not isinstance(user_entry, dict):
            raise SeedError("the seed needs a bunq.user object with at least an 'id'")

        try:
            self._user = payloads.build_user_person(user_entry)
        except (TypeError, ValueError) as error:
            raise SeedError(str(error)) from error

        self._account_types: dict[int, str] = {}
        self._accounts: dict[int, dict[str, Any]] = {}
        self._payments: dict[int, dict[int, dict[str, Any]]] = {}
        self._user_filters: list[dict[str, Any]] = []
        self._account_filters: dict[int, list[dict[str, Any]]] = {}

        self._installations: dict[str, Installation] = {}
        self._devices: list[Device] = []
        self._sessions: dict[str, Session] = {}
        self._next_ids = {"installation": 1, "device": 1, "session": 1, "token": 1, "filter": 1}

        for entry in bunq_seed.get("accounts", []):
            self._insert_account(entry)

        self._load_seed_payments(bunq_seed.get("payments", []))

    # --- user and accounts -------------------------------------------------------------

    @property
    def user_id(self) -> int:
        return self._user["id"]

    @property
    def api_keys(self) -> list[str]:
        return list(self._api_keys)

    def user(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._user)

    def _insert_account(self, entry: dict[str, Any]) -> dict[str, Any]:
        try:
            account_type, account = payloads.build_account(entry, self._user)
        except (TypeError, ValueError) as error:
            raise SeedError(str(error)) from error

        account_id = account["id"]
        if not isinstance(account_id, int) or isinstance(account_id, bool):
            raise SeedError(f"account id must be an integer, got {account_id!r}")
        if account_id in self._accounts:
            raise SeedError(f"account id {account_id} is used twice")

        self._account_types[account_id] = account_type
        self._accounts[account_id] = account
        self._payments[account_id] = {}

        return account

    def add_account(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add an account; without an `id` it gets the next free one."""
        with self._lock:
            entry = dict(fields)
            entry.setdefault("id", max(self._accounts, default=0) + 1)

            return copy.deepcopy(self._insert_account(entry))

    def accounts(self, account_type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Return (type, account) pairs, optionally of one type, in ascending id order."""
        with self._lock:
            return [
                (self._account_types[account_id], copy.deepcopy(self._accounts[account_id]))
                for account_id in sorted(self._accounts)
                if account_type is None or self._account_types[account_id] == account_type
            ]

    def account(self, account_id: int) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            if account_id not in self._accounts:
                return None

            return self._account_types[account_id], copy.deepcopy(self._accounts[account_id])

    # --- payments ----------------------------------------------------------------------

    def _load_seed_payments(self, entries: list[dict[str, Any]]) -> None:
        by_account: dict[int, list[dict[str, Any]]] = {}
        seen_ids: set[Any] = set()

        for entry in entries:
            account_id = entry.get("monetary_account_id")
            if account_id not in self._accounts:
                raise SeedError(
                    f"payment {entry.get('id')!r}: monetary_account_id {account_id!r} "
                    "is not one of the seed's accounts"
                )
            if "id" not in entry:
                raise SeedError(f"a bunq.payments entry needs an 'id': {entry!r}")
            if entry["id"] in seen_ids:
                raise SeedError(f"payment id {entry['id']!r} is used twice")

            seen_ids.add(entry["id"])
            by_account.setdefault(account_id, []).append(entry)

        # The account's seed balance is the balance now, after its newest payment, so the
        # balance after each older payment is found by walking back from the newest one.
        for account_id, account_entries in by_account.items():
            account = self._accounts[account_id]
            running = payloads.parse_amount_value(account["balance"].get("value"))

            for entry in sorted(account_entries, key=lambda item: item["id"], reverse=True):
                payment = self._build_payment(entry, account, running)
                self._payments[account_id][payment["id"]] = payment
                running = self._balance_before(payment, running)

    def _build_payment(
        self, entry: dict[str, Any], account: dict[str, Any], balance_after: Decimal | None
    ) -> dict[str, Any]:
        try:
            payment = payloads.build_payment(entry, account, self._user, balance_after)
        except (TypeError, ValueError) as error:
            raise SeedError(str(error)) from error

        if not isinstance(payment["id"], int) or isinstance(payment["id"], bool):
            raise SeedError(f"payment id must be an integer, got {payment['id']!r}")

        return payment

    @staticmethod
    def _balance_before(payment: dict[str, Any], balance_after: Decimal | None) -> Decimal | None:
        after = payment.get("balance_after_mutation")
        amount = payment.get("amount")

        if isinstance(after, dict):
            balance_after = payloads.parse_amount_value(after.get("value"))
        if balance_after is None or not isinstance(amount, dict):
            return None

        value = payloads.parse_amount_value(amount.get("value"))
        if value is None:
            return None

        return balance_after - value

    def _max_payment_id(self) -> int:
        return max((max(items, default=0) for items in self._payments.values()), default=0)

    def add_payment(self, account_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Add a payment as the account's newest one and update the account's balance.

        Payment ids are unique across accounts and increase, as bunq's do. Without an `id`
        the payment gets the next one; an explicit `id` must be above every existing one.
        """
        with self._lock:
            if account_id not in self._accounts:
                raise KeyError(f"monetary account {account_id} does not exist")

            account = self._accounts[account_id]
            max_id = self._max_payment_id()
            entry = dict(fields)
            entry.setdefault("id", max_id + 1)

            if not isinstance(entry["id"], int) or entry["id"] <= max_id:
                raise ValueError(
                    f"payment id must be an integer above the newest id {max_id}, "
                    f"got {entry['id']!r}"
                )

            balance = payloads.parse_amount_value(account["balance"].get("value"))
            amount = entry.get("amount", "0.00")
            amount_value = (
                payloads.parse_amount_value(amount.get("value"))
                if isinstance(amount, dict)
                else payloads.parse_amount_value(amount)
            )
            balance_after = None
            if balance is not None and amount_value is not None:
                balance_after = balance + amount_value

            payment = self._build_payment(entry, account, balance_after)
            self._payments[account_id][payment["id"]] = payment

            if balance_after is not None:
                account["balance"]["value"] = payloads.format_amount_value(balance_after)

            return copy.deepcopy(payment)

    def payments(self, account_id: int) -> list[dict[str, Any]] | None:
        """Return the account's payments, newest (highest id) first; None if no such account.

        The dicts are the stored ones: copy a payment before changing it.
        """
        with self._lock:
            if account_id not in self._payments:
                return None

            items = self._payments[account_id]

            # Stored payments are never changed after they are built, so the list shares them
            # and callers copy the few they send. Copying every payment for every page made a
            # 10,000-payment listing take seconds per page.
            return [items[payment_id] for payment_id in sorted(items, reverse=True)]

    def payment(self, account_id: int, payment_id: int) -> dict[str, Any] | None:
        with self._lock:
            payment = self._payments.get(account_id, {}).get(payment_id)

            return copy.deepcopy(payment) if payment is not None else None

    # --- notification filters ----------------------------------------------------------

    def notification_filters(self, account_id: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if account_id is None:
                return copy.deepcopy(self._user_filters)

            return copy.deepcopy(self._account_filters.get(account_id, []))

    def replace_notification_filters(
        self, filters: list[dict[str, str]], account_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Replace the whole list of URL filters of the user or of one account."""
        with self._lock:
            now = payloads.utc_now_timestamp()
            stored = []

            for item in filters:
                stored.append(
                    {
                        "id": self._take_id("filter"),
                        "created": now,
                        "updated": now,
                        "category": item["category"],
                        "notification_target": item["notification_target"],
                    }
                )

            if account_id is None:
                self._user_filters = stored
            else:
                self._account_filters[account_id] = stored

            return copy.deepcopy(stored)

    # --- installations, devices and sessions -------------------------------------------

    def _take_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1

        return value

    def create_installation(self, client_public_key: RSA.RsaKey) -> tuple[Installation, dict]:
        """Register a client key; return the installation and its token object."""
        with self._lock:
            token = self._new_token()
            installation = Installation(
                self._take_id("installation"), token["token"], client_public_key
            )
            self._installations[installation.token] = installation

            return installation, token

    def installation_by_token(self, token: str | None) -> Installation | None:
        with self._lock:
            return self._installations.get(token or "")

    def installation_by_id(self, installation_id: int) -> Installation | None:
        with self._lock:
            for installation in self._installations.values():
                if installation.id == installation_id:
                    return installation

            return None

    def is_known_api_key(self, api_key: Any) -> bool:
        return isinstance(api_key, str) and any(
            secrets.compare_digest(api_key.encode(), known.encode()) for known in self._api_keys
        )

    def register_device(
        self,
        installation: Installation,
        description: str,
        api_key: str,
        permitted_ips: list[str] | None,
        client_ip: str,
    ) -> Device:
        with self._lock:
            bound_ips = [client_ip] if permitted_ips is None else list(permitted_ips)
            device = Device(
                id=self._take_id("device"),
                installation_id=installation.id,
                description=description,
                api_key=api_key,
                permitted_ips=None if permitted_ips is None else list(permitted_ips),
                bound_ips=bound_ips,
            )
            self._devices.append(device)

            return device

    def devices(self) -> list[dict[str, Any]]:
        """Return the registered devices without their API keys."""
        with self._lock:
            return [
                {
                    "id": device.id,
                    "installation_id": device.installation_id,
                    "description": device.description,
                    "permitted_ips": copy.copy(device.permitted_ips),
                    "bound_ips": list(device.bound_ips),
                }
                for device in self._devices
            ]

    def device_allows(self, installation: Installation, api_key: str, client_ip: str) -> bool:
        """Check that a device of this installation has the key and permits the caller's IP."""
        with self._lock:
            for device in self._devices:
                if device.installation_id != installation.id:
                    continue
                if not secrets.compare_digest(device.api_key.encode(), api_key.encode()):
                    continue
                if "*" in device.bound_ips or _ip_in(client_ip, device.bound_ips):
                    return True

            return False

    def _new_token(self) -> dict[str, Any]:
        now = payloads.utc_now_timestamp()

        return {
            "id": self._take_id("token"),
            "created": now,
            "updated": now,
            "token": secrets.token_hex(32),
        }

    def create_session(self, installation: Installation) -> tuple[Session, dict, dict]:
        """Open a session; return it with its token object and the user's JSON."""
        with self._lock:
            token = self._new_token()
            timeout = int(self._user["session_timeout"])
            session = Session(
                id=self._take_id("session"),
                token=token["token"],
                installation_id=installation.id,
                user_id=self.user_id,
                timeout_seconds=timeout,
                expires_at=time.monotonic() + timeout,
            )
            self._sessions[session.token] = session

            return session, token, copy.deepcopy(self._user)

    def session_by_token(self, token: str | None) -> Session | None:
        with self._lock:
            return self._sessions.get(token or "")

    def touch_session(self, session: Session) -> None:
        """Extend the session's lifetime, as bunq does while a session is in use."""
        with self._lock:
            session.expires_at = time.monotonic() + session.timeout_seconds

    def end_sessions(self, status: int, message: str) -> int:
        """End every open session, so that its next request gets `status` and `message`."""
        with self._lock:
            ended = 0

            for session in self._sessions.values():
                if session.ended is None:
                    session.ended = (status, message)
                    ended += 1

            return ended

    def end_session(self, session: Session, status: int, message: str) -> None:
        with self._lock:
            session.ended = (status, message)


def _ip_in(client_ip: str, allowed: list[str]) -> bool:
    try:
        client = ipaddress.ip_address(client_ip)
    except ValueError:
        return False

    for item in allowed:
        try:
            if client == ipaddress.ip_address(item):
                return True
        except ValueError:
            continue

    return False
