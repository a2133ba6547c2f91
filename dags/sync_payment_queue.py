"""
### sync_payment_queue

Push every pending payment on the queue to YNAB: one bulk request per plan, each transaction
with a deterministic `import_id` (`bunq:<payment id>`), so reruns never duplicate. Payments YNAB
rejects are marked **failed** with YNAB's message and the rest still sync. A YNAB rate limit
(429) stops the run cleanly with the remaining payments still pending.

The task log lists how many were created, already in YNAB, transfer counterparts, skipped and
failed, with the id of every failure.
"""

from __future__ import annotations

from airflow.sdk import dag

from bunq_ynab.tasks import push_queue


@dag(
    schedule=None,  # manual; the hourly sync DAG runs the same step
    catchup=False,
    max_active_runs=1,
    tags=["bunq", "ynab"],
    doc_md=__doc__,
)
def sync_payment_queue():
    push_queue()


sync_payment_queue()
