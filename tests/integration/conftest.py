"""The integration world: both emulators over HTTP, the real SDKs and the real Postgres."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from tests.integration import world as w


@dataclasses.dataclass
class World:
    """Emulators, clients and the database of one test, with the steps a DAG run takes."""

    db: Any
    bunq_emulator: Any
    ynab_emulator: Any
    store: Any
    settings: Any
    sleeps: list[float]
    ynab_token: str = w.YNAB_TOKEN

    def bunq_client(self):
        from bunq_ynab.bunq.client import BunqClient
        from bunq_ynab.ratelimit import SlidingWindowLimiter

        # No client-side throttle here, so tests do not wait out bunq's 3-per-3-seconds limit;
        # test_bunq_throttle_avoids_429 runs the real limiter against the enforced limits.
        return BunqClient(
            self.store,
            base_url=self.bunq_emulator.base_url,
            limiter=SlidingWindowLimiter({}),
            sleep=self.sleeps.append,
        )

    def ynab_client(self):
        from bunq_ynab.ynab.client import YnabClient

        return YnabClient(self.ynab_token, host=self.ynab_emulator.base_url)

    def extract(self):
        from bunq_ynab.sync import extract, linking, ynab_mirror

        with self.ynab_client() as ynab:
            ynab_mirror.refresh_plans(self.db, ynab)
        bunq = self.bunq_client()
        accounts = extract.store_accounts(self.db, bunq)
        linking.link_accounts(self.db)
        return extract.extract_payments(self.db, bunq, accounts)

    def sync(self, **kwargs):
        from bunq_ynab.sync.queue import sync_queue

        with self.ynab_client() as ynab:
            return sync_queue(self.db, ynab, kwargs.pop("settings", self.settings), **kwargs)

    def run(self, **kwargs):
        """One hourly sync: extract, then push the queue."""
        self.extract()
        return self.sync(**kwargs)

    def created(self, plan_id: str) -> list[dict]:
        """Transactions in the YNAB emulator that the sync created (they carry our import_id)."""
        return [
            t
            for t in self.ynab_emulator.transactions(plan_id)
            if (t.get("import_id") or "").startswith("bunq:")
        ]

    def queue(self) -> dict[int, dict]:
        rows = self.db.fetch_all("SELECT * FROM payment_queue ORDER BY payment_id")
        return {row["payment_id"]: row for row in rows}

    def add_payments(self, payments: list[dict]) -> list[dict]:
        """Add payments to the bunq emulator as new ones (with new, higher ids)."""
        added = []
        for item in payments:
            fields = dict(item)
            fields.pop("id", None)
            account_id = fields.pop("monetary_account_id")
            added.append(self.bunq_emulator.add_payment(account_id, **fields))
        return added


@pytest.fixture
def make_world(db):
    """Return a factory: ``make_world(seed)`` starts both emulators on that seed."""
    from bunq.sdk.context.api_context import ApiContext
    from bunq.sdk.context.api_environment_type import ApiEnvironmentType

    from bunq_ynab.bunq.client import configure_sdk
    from bunq_ynab.bunq.context import MemoryContextStore
    from bunq_ynab.settings import Settings
    from emulators.bunq import BunqEmulator
    from emulators.ynab import YnabEmulator

    started = []

    def factory(seed: dict | None = None, settings: Settings | None = None) -> World:
        seed = seed or w.base_seed()
        bunq_emulator = BunqEmulator(seed).start()
        ynab_emulator = YnabEmulator(seed).start()
        started.extend([bunq_emulator, ynab_emulator])
        configure_sdk(bunq_emulator.base_url)
        api_key = seed["bunq"]["api_keys"][0]
        context = ApiContext.create(ApiEnvironmentType.SANDBOX, api_key, "pytest")
        store = MemoryContextStore(context.to_json(), base_url=bunq_emulator.base_url)
        return World(
            db,
            bunq_emulator,
            ynab_emulator,
            store,
            settings or Settings(),
            [],
            ynab_token=seed["ynab"]["token"],
        )

    yield factory
    for emulator in started:
        emulator.stop()


@pytest.fixture
def yesterday() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(
        hour=10, minute=0, second=0, microsecond=0
    ) - dt.timedelta(days=1)
