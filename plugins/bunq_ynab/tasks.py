"""Airflow tasks shared by several DAGs, so ``sync`` runs exactly what ``extract`` and
``sync_payment_queue`` run. Task bodies stay a few lines; the work is in :mod:`bunq_ynab.steps`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from airflow.sdk import task

# Retries cover network faults, 5xx responses and a bunq rate limit that outlasted the client's
# own retries. Errors that a retry cannot fix fail at once (see run_step).
API_RETRIES = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
}


def run_step(step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a step; turn configuration and credential errors into a failure without retries.

    Invalid settings, a missing Connection, an unusable bunq API context and a YNAB token that
    YNAB rejects stay wrong however often the task retries, so the user sees the message now.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    from bunq_ynab.bunq.client import BunqCredentialsError
    from bunq_ynab.ynab.client import YnabError

    try:
        return step(*args, **kwargs)
    except (ValueError, BunqCredentialsError, AirflowNotFoundException) as error:
        raise AirflowFailException(str(error)) from error
    except YnabError as error:
        if error.status in (401, 403):
            raise AirflowFailException(
                f"{error}. Check the YNAB personal access token in the password of the "
                "Connection named by ynab_conn_id (default ynab_default)"
            ) from error
        raise


@task(**API_RETRIES)
def extract_payments() -> dict:
    """Fetch new bunq payments of every linked account and queue them; return the counts."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.extract(Settings.from_airflow()))


@task(**API_RETRIES)
def push_queue() -> dict:
    """Sync the pending payments to YNAB; return the counts."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.sync_queue(Settings.from_airflow()))
