"""
### sync

Every hour from 06:00 to 23:00 Europe/Amsterdam: `extract` (fetch and queue new bunq payments),
then `sync_payment_queue` (push them to YNAB). The two tasks run the same code as those DAGs.

A run that finds nothing new costs one bunq request per account plus one, and one YNAB
request. A run with new payments adds two YNAB requests per plan that has any.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag

from bunq_ynab.tasks import extract_payments, push_queue


@dag(
    schedule=CronTriggerTimetable("0 6-23 * * *", timezone="Europe/Amsterdam"),
    catchup=False,  # a missed hour is caught up by the next run, which reads from the mark
    max_active_runs=1,  # overlapping runs would race for the same payments and YNAB budget
    tags=["bunq", "ynab"],
    doc_md=__doc__,
)
def sync():
    extract_payments() >> push_queue()


sync()
