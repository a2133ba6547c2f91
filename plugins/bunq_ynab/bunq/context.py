"""Where the bunq API context lives: an Airflow Connection, plus the refreshed copy.

The Connection (default id ``bunq_default``) stores the API context JSON that ``bunq-sdk`` saves
(``ApiContext.to_json()``) in its *password* field, so Airflow encrypts it with its Fernet key
and masks it in task logs. Its extra may set ``{"base_url": "http://127.0.0.1:8701/v1/"}`` to
point the SDK at another server, such as the local emulator.

Tasks cannot write Connections in Airflow 3, so a context that the SDK refreshed (a new session)
is saved to the Airflow Variable ``<conn_id>_api_context_secret``. The word "secret" in the key
makes Airflow mask its value in logs. The Variable is used only while it belongs to the same
installation as the Connection, so replacing the Connection's context always takes effect.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class ContextStore(Protocol):
    """Load and save the bunq API context JSON."""

    def load(self) -> str: ...

    def save(self, context_json: str) -> None: ...


class InvalidApiContext(ValueError):
    """The stored API context is missing or does not parse; the message never contains it."""


@dataclass
class MemoryContextStore:
    """A context kept in memory, for scripts and tests."""

    context_json: str
    base_url: str | None = None
    saves: int = 0

    def load(self) -> str:
        return self.context_json

    def save(self, context_json: str) -> None:
        self.context_json = context_json
        self.saves += 1


class AirflowContextStore:
    """Read the context from a Connection and keep refreshed sessions in a Variable."""

    def __init__(self, conn_id: str = "bunq_default") -> None:
        self.conn_id = conn_id
        self.variable_key = f"{conn_id}_api_context_secret"
        self.base_url: str | None = None

    def load(self) -> str:
        from airflow.sdk import BaseHook, Variable

        connection = BaseHook.get_connection(self.conn_id)
        stored = connection.password
        if not stored:
            raise InvalidApiContext(
                f"Airflow Connection {self.conn_id!r} has no bunq API context in its password "
                "field; save the JSON that bunq-sdk's ApiContext.save() writes there"
            )
        mask_context(stored)
        self.base_url = connection.extra_dejson.get("base_url") or None

        refreshed = Variable.get(self.variable_key, default=None)
        if refreshed and _installation_token(refreshed) == _installation_token(stored):
            mask_context(refreshed)
            return refreshed
        return stored

    def save(self, context_json: str) -> None:
        from airflow.sdk import Variable

        mask_context(context_json)
        Variable.set(
            self.variable_key,
            context_json,
            description=f"bunq API context refreshed from Connection {self.conn_id}",
        )
        log.info("Saved the refreshed bunq session for Connection %s", self.conn_id)


def mask_context(context_json: str) -> None:
    """Register the context and each secret inside it with Airflow's log masker.

    Masking the whole JSON alone would not hide a token that is logged on its own.
    """
    from airflow.sdk.log import mask_secret

    mask_secret(context_json)
    try:
        context = json.loads(context_json)
    except ValueError:
        return
    installation = context.get("installation_context") or {}
    session = context.get("session_context") or {}
    for value in (
        context.get("api_key"),
        installation.get("token"),
        installation.get("private_key_client"),
        session.get("token"),
    ):
        if isinstance(value, str) and value:
            mask_secret(value)


def _installation_token(context_json: str) -> str | None:
    try:
        return json.loads(context_json)["installation_context"]["token"]
    except (ValueError, KeyError, TypeError):
        return None
