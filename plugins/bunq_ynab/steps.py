"""The steps that the DAG tasks run, with clients opened from Airflow Connections.

Each function is one task's work, so the ``extract``, ``sync_payment_queue``, ``sync`` and
``sync_payment`` DAGs share the same code. Connections used (ids configurable in the settings):

- ``bunq_ynab_db``: the app's Postgres database.
- ``bunq_default``: the bunq API context JSON in the password field; extra ``base_url``
  optionally points the SDK at another server (the local emulator).
- ``ynab_default``: the YNAB personal access token in the password field; extra ``host``
  optionally points the SDK at another server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bunq_ynab.settings import Settings
from bunq_ynab.storage import Database, apply_migrations

log = logging.getLogger(__name__)


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    db = Database.from_airflow(settings.db_conn_id)
    try:
        yield db
    finally:
        db.close()


def open_bunq(settings: Settings) -> Any:
    from bunq_ynab.bunq.client import BunqClient
    from bunq_ynab.bunq.context import AirflowContextStore

    return BunqClient(AirflowContextStore(settings.bunq_conn_id))


def open_ynab(settings: Settings) -> Any:
    from airflow.sdk import BaseHook

    from bunq_ynab.ynab.client import YnabClient

    connection = BaseHook.get_connection(settings.ynab_conn_id)
    if not connection.password:
        raise ValueError(
            f"Airflow Connection {settings.ynab_conn_id!r} has no YNAB personal access token "
            "in its password field"
        )
    host = connection.extra_dejson.get("host") or None
    return YnabClient(connection.password, host=host)


def migrate(settings: Settings) -> list[str]:
    """Apply the app database's pending migrations."""
    with database(settings) as db:
        return apply_migrations(db)


def extract(settings: Settings) -> dict[str, Any]:
    """Refresh YNAB plans and accounts, link bunq accounts, and queue new bunq payments."""
    from bunq_ynab.sync import extract as bunq_extract
    from bunq_ynab.sync import linking, ynab_mirror

    with database(settings) as db:
        apply_migrations(db)
        with open_ynab(settings) as ynab:
            ynab_mirror.refresh_plans(db, ynab)
            ynab_requests = ynab.request_count
        bunq = open_bunq(settings)
        accounts = bunq_extract.store_accounts(db, bunq)
        links = linking.link_accounts(db)
        report = bunq_extract.extract_payments(db, bunq, accounts)

    summary = report.as_dict() | {
        "accounts_linked": sum(1 for link in links if link.problem is None),
        "bunq_requests": dict(bunq.stats.requests),
        "ynab_requests": ynab_requests,
    }
    log.info(
        "Extract finished: %d payments fetched from %d accounts, %d queued, %d accounts "
        "skipped; %d bunq requests, %d YNAB requests",
        report.payments_fetched,
        report.accounts_fetched,
        report.payments_queued,
        len(report.accounts_skipped),
        sum(bunq.stats.requests.values()),
        ynab_requests,
    )
    return summary


def sync_queue(
    settings: Settings,
    payment_ids: list[int] | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Push pending payments (or the given ones) to YNAB; return the counts."""
    from bunq_ynab.sync.queue import sync_queue as push

    with database(settings) as db:
        apply_migrations(db)
        predict = category_predictor(db, settings)
        with open_ynab(settings) as ynab:
            report = push(
                db,
                ynab,
                settings,
                payment_ids=payment_ids,
                force=force,
                dry_run=dry_run,
                predict=predict,
            )
    return report.as_dict()


def category_predictor(db: Database, settings: Settings) -> Any:
    """Return the sync's category predictor, or None when no MLServer URL is configured."""
    if not settings.mlserver_url:
        log.info("No mlserver_url in the settings: payments sync without a predicted category")
        return None

    from bunq_ynab.classification.predict import predict_categories

    def predict(plan_id: str, rows: list[dict[str, Any]]) -> dict[int, str | None]:
        predictions = predict_categories(
            db,
            plan_id,
            rows,
            settings.mlserver_url,
            settings.prediction_threshold,
            tz=settings.timezone,
        )
        return {
            payment_id: prediction.category_id for payment_id, prediction in predictions.items()
        }

    return predict


def describe_payment(settings: Settings, payment_id: int) -> dict[str, Any] | None:
    """Log what the database knows about one payment; return None if it is not stored."""
    with database(settings) as db:
        apply_migrations(db)
        row = db.fetch_one(
            "SELECT p.id, p.monetary_account_id, p.created, p.amount, p.currency,"
            " p.description, p.payment_type, p.sub_type, p.counterparty_iban,"
            " p.counterparty_name, q.status, q.reason, q.attempts, q.import_id,"
            " q.ynab_transaction_id, a.iban AS account_iban, a.ynab_plan_id,"
            " a.ynab_account_id, a.link_problem"
            " FROM bunq_payment p JOIN bunq_account a ON a.id = p.monetary_account_id"
            " LEFT JOIN payment_queue q ON q.payment_id = p.id WHERE p.id = %s",
            (payment_id,),
        )
    if row is None:
        return None
    for key, value in row.items():
        log.info("payment %s: %s = %s", payment_id, key, value)
    return {key: str(value) if value is not None else None for key, value in row.items()}
