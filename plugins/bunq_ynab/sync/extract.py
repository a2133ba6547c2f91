"""Fetch new bunq payments into Postgres and put each one on the payment queue."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from bunq_ynab.bunq.client import BunqAccount, BunqClient, normalise_iban
from bunq_ynab.storage import Database, load_query
from bunq_ynab.sync.conversion import import_id_for

log = logging.getLogger(__name__)

BUNQ_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass
class ExtractReport:
    """Counts of one extraction, for the task log and the return value."""

    accounts_seen: int = 0
    accounts_fetched: int = 0
    accounts_skipped: dict[int, str] = field(default_factory=dict)
    payments_fetched: int = 0
    payments_queued: int = 0
    per_account: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts_seen": self.accounts_seen,
            "accounts_fetched": self.accounts_fetched,
            "accounts_skipped": {str(key): value for key, value in self.accounts_skipped.items()},
            "payments_fetched": self.payments_fetched,
            "payments_queued": self.payments_queued,
            "per_account": {str(key): value for key, value in self.per_account.items()},
        }


def store_accounts(db: Database, client: BunqClient) -> list[BunqAccount]:
    """Store every bunq monetary account of the user; return them."""
    accounts = client.list_accounts()
    user_id = client.user_id
    rows = [
        {
            "id": account.id,
            "user_id": int(account.raw.get("user_id") or user_id),
            "account_type": account.account_type,
            "description": account.raw.get("description") or "",
            "status": account.status,
            "currency": account.raw.get("currency") or "",
            "iban": account.iban,
            "display_name": account.raw.get("display_name"),
            "raw": Jsonb(storable(account.raw)),
        }
        for account in accounts
    ]
    # Rows go in id order, the order linking updates them in, so two extracts running at the
    # same time wait for each other instead of deadlocking.
    rows.sort(key=lambda row: row["id"])
    with db.transaction():
        db.execute_many(load_query("upsert_bunq_account"), rows)
    log.info("bunq: %d monetary accounts stored", len(accounts))
    return accounts


def extract_payments(
    db: Database, client: BunqClient, accounts: list[BunqAccount]
) -> ExtractReport:
    """Fetch each ACTIVE account's payments above its high-water mark and queue them.

    The payments, their queue rows and the new mark of one account are written in one
    transaction, so a crash leaves either all of them or none, and the next run picks up where
    the last committed mark is.
    """
    report = ExtractReport(accounts_seen=len(accounts))
    marks = {
        row["monetary_account_id"]: int(row["newest_payment_id"])
        for row in db.fetch_all(
            "SELECT monetary_account_id, newest_payment_id FROM bunq_payment_mark"
        )
    }
    for account in accounts:
        if account.status != "ACTIVE":
            report.accounts_skipped[account.id] = f"status {account.status or 'unknown'}"
            log.info("bunq account %s skipped: status is %s", account.id, account.status)
            continue
        if account.iban is None:
            report.accounts_skipped[account.id] = "no IBAN (external account)"
            log.warning(
                "bunq account %s (%s) has no IBAN, so it cannot be linked to YNAB; skipped",
                account.id,
                account.account_type,
            )
            continue

        mark = marks.get(account.id)
        payments = client.list_payments_newer_than(account.id, mark)
        queued = _store_payments(db, account.id, payments)
        report.accounts_fetched += 1
        report.payments_fetched += len(payments)
        report.payments_queued += queued
        report.per_account[account.id] = len(payments)
        log.info(
            "bunq account %s: %d new payments (mark was %s), %d queued",
            account.id,
            len(payments),
            mark,
            queued,
        )
    return report


def _store_payments(db: Database, account_id: int, payments: list[dict]) -> int:
    if not payments:
        return 0
    rows = [payment_row(payment, account_id) for payment in payments]
    with db.transaction():
        db.execute_many(load_query("insert_bunq_payment"), rows)
        ids = [row["id"] for row in rows]
        queued = db.execute(
            load_query("enqueue_payments"),
            {"payment_ids": ids, "import_ids": [import_id_for(payment_id) for payment_id in ids]},
        )
        db.execute(
            load_query("upsert_payment_mark"),
            {"account_id": account_id, "newest_payment_id": max(row["id"] for row in rows)},
        )
    return queued


def payment_row(payment: dict[str, Any], account_id: int | None = None) -> dict[str, Any]:
    """Return the ``bunq_payment`` row of a payment as bunq's JSON has it."""
    payment = storable(payment)
    amount = payment.get("amount") or {}
    counterparty = payment.get("counterparty_alias") or {}
    return {
        "id": int(payment["id"]),
        "monetary_account_id": int(payment.get("monetary_account_id") or account_id),
        "created": parse_bunq_time(payment["created"]),
        "updated": parse_bunq_time(payment["updated"]) if payment.get("updated") else None,
        "amount": Decimal(str(amount["value"])),
        "currency": amount.get("currency") or "",
        "description": payment.get("description") or "",
        "payment_type": payment.get("type"),
        "sub_type": payment.get("sub_type"),
        "counterparty_iban": normalise_iban(counterparty.get("iban")),
        "counterparty_name": counterparty.get("display_name")
        or (counterparty.get("label_user") or {}).get("display_name"),
        "raw": Jsonb(payment),
    }


def storable(value: Any) -> Any:
    """Return ``value`` with every string in it made storable in Postgres text and jsonb.

    NUL characters are removed and lone UTF-16 surrogates (half an emoji) become U+FFFD,
    because either one in a description would otherwise fail the whole account's extract on
    every run.
    """
    if isinstance(value, str):
        text = value.replace("\x00", "")
        if any(_is_surrogate(char) for char in text):
            text = "".join("\ufffd" if _is_surrogate(char) else char for char in text)
        return text
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def parse_bunq_time(value: str) -> dt.datetime:
    """Parse bunq's ``YYYY-MM-DD hh:mm:ss.ffffff`` timestamps, which are UTC."""
    try:
        parsed = dt.datetime.strptime(value, BUNQ_TIME_FORMAT)
    except ValueError:
        parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
