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
    if report.plan_errors:
        # Fail the task so Airflow retries it and the UI shows it; the other plans are synced
        # and the failed plans' payments are still pending.
        failed = "; ".join(f"{plan}: {error}" for plan, error in report.plan_errors.items())
        raise RuntimeError(f"YNAB failed for {len(report.plan_errors)} plan(s): {failed}")
    return report.as_dict()


def category_predictor(db: Database, settings: Settings) -> Any:
    """Return the sync's category predictor, or None when no MLServer URL is configured."""
    if not settings.mlserver_url:
        log.info("No mlserver_url in the settings: payments sync without a predicted category")
        return None

    from bunq_ynab.classification.predict import predict_categories

    def predict(plan_id: str, rows: list[dict[str, Any]]) -> dict[int, str | None]:
        # A prediction is advice: whatever goes wrong here, the payments sync uncategorised.
        # The savepoint keeps a failed prediction insert from aborting the sync's transaction.
        try:
            with db.transaction():
                predictions = predict_categories(
                    db,
                    plan_id,
                    rows,
                    settings.mlserver_url,
                    settings.prediction_threshold,
                    tz=settings.timezone,
                )
        except Exception as error:  # noqa: BLE001 (the sync must not fail on a prediction)
            log.warning(
                "Category prediction for plan %s failed (%s: %s); %d payments sync uncategorised",
                plan_id,
                type(error).__name__,
                error,
                len(rows),
            )
            return {}
        return {
            payment_id: prediction.category_id for payment_id, prediction in predictions.items()
        }

    return predict


def describe_payment(settings: Settings, payment_id: int) -> dict[str, Any] | None:
    """Log the stored data and queue state of one payment; return None if it is not stored."""
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


# Training --------------------------------------------------------------------------------------


def refresh_ynab(settings: Settings) -> list[str]:
    """Apply the transaction, category and payee deltas of every plan; return the plan ids."""
    from bunq_ynab.sync import ynab_mirror

    with database(settings) as db, open_ynab(settings) as ynab:
        plans = [row["id"] for row in db.fetch_all("SELECT id FROM ynab_plan ORDER BY name, id")]
        for plan_id in plans:
            changed = ynab_mirror.refresh_transactions(db, ynab, plan_id)
            categories = ynab_mirror.refresh_categories(db, ynab, plan_id)
            payees = ynab_mirror.refresh_payees(db, ynab, plan_id)
            log.info(
                "YNAB plan %s refreshed: %d transactions, %d categories, %d payees changed",
                plan_id,
                changed,
                categories,
                payees,
            )
        log.info("Refreshed %d YNAB plans with %d requests", len(plans), ynab.request_count)
    return plans


def plans_to_train(settings: Settings, requested: list[str] | None) -> list[str]:
    """Return the plans that have a linked bunq account, limited to ``requested`` if given.

    Raises ValueError for a requested plan that does not exist, naming the known ones.
    """
    with database(settings) as db:
        rows = db.fetch_all(
            "SELECT p.id, p.name, EXISTS (SELECT 1 FROM bunq_account a WHERE a.ynab_plan_id = p.id)"
            " AS linked FROM ynab_plan p ORDER BY p.name, p.id"
        )
    known = {row["id"]: row for row in rows}
    by_name = {row["name"]: row["id"] for row in rows}
    if requested:
        chosen = []
        for item in requested:
            plan_id = item if item in known else by_name.get(item)
            if plan_id is None:
                names = ", ".join(f"{row['name']} ({row['id']})" for row in rows)
                raise ValueError(f"Unknown YNAB plan {item!r}; known plans: {names}")
            chosen.append(plan_id)
    else:
        chosen = [plan_id for plan_id, row in known.items() if row["linked"]]
    for plan_id in chosen:
        if not known[plan_id]["linked"]:
            log.warning(
                "Plan %s has no linked bunq account; its model learns from nothing", plan_id
            )
    log.info("Training %d plans: %s", len(chosen), ", ".join(chosen))
    return chosen


def train_plan(settings: Settings, plan_id: str, grid: str, force_promotion: bool) -> dict:
    """Run both experiments for one plan, register the refit model and apply the promotion rule."""
    from bunq_ynab.classification.experiments import train_plan as train

    with database(settings) as db:
        result = train(
            db,
            plan_id,
            settings.tracking_uri(),
            settings.artifact_location(),
            grid=grid,
            tz=settings.timezone,
            promote_model=True,
            force_promotion=force_promotion,
            n_jobs=settings.training_jobs,
        )
    summary = _plain(result)
    if result.skipped_reason:
        log.warning("Plan %s not trained: %s", plan_id, result.skipped_reason)
    else:
        log.info(
            "Plan %s: %s v%s, test kappa %.3f (payee baseline %.3f); promotion: %s",
            plan_id,
            result.classifier,
            result.model_version,
            result.metrics.get("kappa", float("nan")),
            result.baseline_metrics.get("kappa", float("nan")),
            result.promotion.reason if result.promotion else "not offered",
        )
    return summary


def serve_champion(settings: Settings, plan_id: str) -> dict:
    """Make MLServer serve the plan's champion model: load, wait until ready, smoke-test."""
    from bunq_ynab.classification.registry import registered_model_name
    from bunq_ynab.serving.mlserver import deploy_champion

    if not settings.mlserver_url:
        log.warning("No mlserver_url in the settings: the model of plan %s is not served", plan_id)
        return {"plan_id": plan_id, "served": False, "reason": "no mlserver_url"}
    model_name = registered_model_name(plan_id)
    try:
        result = deploy_champion(
            settings.model_repository(), settings.mlserver_url, settings.tracking_uri(), model_name
        )
    except LookupError as error:
        log.warning("Plan %s has no champion model yet: %s", plan_id, error)
        return {"plan_id": plan_id, "served": False, "reason": str(error)}
    if result.error:
        raise RuntimeError(
            f"MLServer could not serve {model_name} v{result.requested_version}: {result.error}; "
            f"now serving {result.served_version or 'nothing'}"
        )
    log.info("MLServer serves %s v%s", model_name, result.served_version)
    return {"plan_id": plan_id, "served": True, "version": result.served_version}


def report_live_accuracy(settings: Settings, plan_ids: list[str]) -> dict:
    """Log how often stored predictions equal the category the user kept, per model version."""
    from bunq_ynab.classification.experiments import live_accuracy

    report = {}
    with database(settings) as db:
        for plan_id in plan_ids:
            accuracies = live_accuracy(
                db,
                plan_id,
                tracking_uri=settings.tracking_uri(),
                artifact_location=settings.artifact_location(),
            )
            for version, accuracy in accuracies.items():
                log.info(
                    "Plan %s model v%s: live accuracy %.3f over %d predictions",
                    plan_id,
                    version,
                    accuracy.accuracy,
                    accuracy.predictions,
                )
            report[plan_id] = {version: _plain(value) for version, value in accuracies.items()}
    return report


def _plain(value: Any) -> Any:
    """Turn dataclasses and numbers into JSON-ready values for XCom."""
    import dataclasses
    import math

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
