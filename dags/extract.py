"""
### extract

Fetch the new bunq payments of every linked account into Postgres and put them on the payment
queue. Also refreshes the YNAB plans and accounts (one request) and links each bunq account to
the YNAB account whose **note contains its IBAN**.

Run it by hand to pull payments without pushing them; the hourly `sync` DAG runs the same step.
Connections: `bunq_default` (API context), `ynab_default` (token), `bunq_ynab_db` (app database).
Settings: the Variable `bunq_ynab_settings` (JSON).
"""

from __future__ import annotations

from airflow.sdk import dag

from bunq_ynab.tasks import extract_payments


@dag(
    schedule=None,  # manual; the hourly sync DAG runs the same step
    catchup=False,
    max_active_runs=1,  # two extractions at once would only fetch the same pages twice
    tags=["bunq", "ynab"],
    doc_md=__doc__,
)
def extract():
    extract_payments()


extract()
