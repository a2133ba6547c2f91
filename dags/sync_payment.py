"""
### sync_payment

Sync or debug **one** bunq payment, with verbose logs: what is stored about it, its queue
state, its account link, and the YNAB transaction it becomes.

- **payment_id**: the bunq payment id (from the bunq app or the `bunq_payment` table). If it is
  not stored yet, new payments are extracted first.
- **force**: sync it again even if it is synced, skipped or failed, and even if it is older than
  the start date. YNAB's `import_id` check still prevents a second transaction. A payment of an
  account that is not linked cannot be forced: it has no YNAB account to go to.
- **dry_run**: show the YNAB transaction that would be sent. Nothing goes to YNAB and the queue
  is unchanged; a payment that is not stored yet is still fetched from bunq first.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Param, dag, task

API_RETRIES = {"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True}


@task(**API_RETRIES)
def sync_one(params: dict) -> dict:
    """Find the payment (extracting if needed), log its state, and sync it."""
    from airflow.sdk.exceptions import AirflowFailException

    from bunq_ynab import steps
    from bunq_ynab.settings import Settings
    from bunq_ynab.tasks import run_step

    logging.getLogger("bunq_ynab").setLevel(logging.DEBUG)
    settings = run_step(Settings.from_airflow)
    payment_id = int(params["payment_id"])

    if steps.describe_payment(settings, payment_id) is None:
        logging.getLogger(__name__).info("Payment %s is not stored yet; extracting", payment_id)
        run_step(steps.extract, settings)
        if steps.describe_payment(settings, payment_id) is None:
            raise AirflowFailException(
                f"bunq payment {payment_id} was not found in any linked bunq account"
            )

    report = run_step(
        steps.sync_queue,
        settings,
        payment_ids=[payment_id],
        force=params["force"],
        dry_run=params["dry_run"],
    )
    steps.describe_payment(settings, payment_id)
    return report


@dag(
    schedule=None,
    catchup=False,
    tags=["bunq", "ynab", "debug"],
    doc_md=__doc__,
    params={
        "payment_id": Param(
            type="integer",
            minimum=1,
            title="bunq payment id",
            description="The id of the bunq payment to sync or inspect.",
        ),
        "force": Param(
            False,
            type="boolean",
            title="Force",
            description="Sync again even if the payment is already synced, skipped, failed or "
            "older than the start date.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Show the YNAB transaction that would be created; nothing is sent to "
            "YNAB and the queue is unchanged.",
        ),
    },
)
def sync_payment():
    sync_one()


sync_payment()
