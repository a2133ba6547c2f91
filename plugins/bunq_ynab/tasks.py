"""Airflow tasks shared by several DAGs, so ``sync`` runs exactly what ``extract`` and
``sync_payment_queue`` run. Task bodies stay a few lines; the work is in :mod:`bunq_ynab.steps`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import task

# Retries cover network faults, 5xx answers and a bunq rate limit that outlasted the client's
# own retries; a run that fails for a reason a retry cannot fix raises AirflowFailException.
API_RETRIES = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
}


@task(**API_RETRIES)
def extract_payments() -> dict:
    """Fetch new bunq payments of every linked account and queue them; return the counts."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return steps.extract(Settings.from_airflow())


@task(**API_RETRIES)
def push_queue() -> dict:
    """Sync the pending payments to YNAB; return the counts."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return steps.sync_queue(Settings.from_airflow())
