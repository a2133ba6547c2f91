"""Helpers for the adversarial tests: seeds, YNAB lookups and syncs on separate connections."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from tests.integration import world as w


def seed_with(payments: list[dict]) -> dict:
    seed = w.base_seed()
    seed["bunq"]["payments"] = payments
    return seed


def import_id_counts(world) -> Counter:
    """Count the sync's YNAB transactions per import_id over both plans."""
    return Counter(
        transaction["import_id"]
        for plan_id in (w.PLAN_HOUSEHOLD, w.PLAN_SHARED)
        for transaction in world.created(plan_id)
    )


def statuses(world) -> dict[int, str]:
    return {payment_id: row["status"] for payment_id, row in world.queue().items()}


def extract_with(world, client):
    """Run the extract steps with the given bunq client, so a test can patch that client."""
    from bunq_ynab.sync import extract, linking, ynab_mirror

    with world.ynab_client() as ynab:
        ynab_mirror.refresh_plans(world.db, ynab)
    accounts = extract.store_accounts(world.db, client)
    linking.link_accounts(world.db)
    return extract.extract_payments(world.db, client, accounts)


class SyncThread(threading.Thread):
    """Run ``sync_queue`` on its own database connection and YNAB client, as a DAG run does.

    The report or the exception is kept on the thread, so the test can assert on it after
    ``join``.
    """

    def __init__(
        self,
        world,
        dsn: str,
        settings,
        *,
        name: str,
        start: threading.Barrier | threading.Event | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.world = world
        self.dsn = dsn
        self.settings = settings
        self.start_signal = start
        self.kwargs = kwargs
        self.report = None
        self.error: BaseException | None = None
        self.backend_pid: int | None = None

    def run(self) -> None:
        from bunq_ynab.storage import Database
        from bunq_ynab.sync.queue import sync_queue

        try:
            with Database.from_dsn(self.dsn) as db, self.world.ynab_client() as ynab:
                self.backend_pid = db.connection.info.backend_pid
                if self.start_signal is not None:
                    self.start_signal.wait(timeout=10)
                self.report = sync_queue(db, ynab, self.settings, **self.kwargs)
        except BaseException as error:  # noqa: BLE001 - the test inspects it after join()
            self.error = error
