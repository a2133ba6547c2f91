"""Measure the sync on 10,000 payments: wall time, throughput, memory and requests per API.

Runs in-process against both emulators (started here on 127.0.0.1) and a fresh Postgres
database ``bunq_ynab_benchmark``. Three phases, each timed on its own:

1. extract with the production bunq throttle (3 GET per 3 s), which bounds it from below;
2. the same extract into a fresh database without the client throttle: the code's own speed;
3. the queue sync into YNAB (conversion, one bulk POST per plan, marking), the part whose
   speed the code controls end to end.

Prints a Markdown report; docs/benchmarks.md records one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "plugins"), str(REPO_ROOT)]
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

PG_ADMIN_DSN = os.environ.get(
    "BUNQ_YNAB_BENCHMARK_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "bunq_ynab_benchmark"


def fresh_database():
    import psycopg

    from bunq_ynab.storage import Database, apply_migrations

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    db = Database.from_dsn(PG_ADMIN_DSN.rpartition("/")[0] + f"/{DATABASE}")
    apply_migrations(db)
    return db


def run_extract(db, bunq_emulator, ynab_emulator, store, token, throttled: bool):
    from bunq_ynab.bunq.client import BunqClient
    from bunq_ynab.ratelimit import SlidingWindowLimiter
    from bunq_ynab.sync import extract, linking, ynab_mirror
    from bunq_ynab.ynab.client import YnabClient

    limiter = None if throttled else SlidingWindowLimiter({})
    started = time.perf_counter()
    with YnabClient(token, host=ynab_emulator.base_url) as ynab:
        ynab_mirror.refresh_plans(db, ynab)
    client = BunqClient(store, base_url=bunq_emulator.base_url, limiter=limiter)
    accounts = extract.store_accounts(db, client)
    linking.link_accounts(db)
    report = extract.extract_payments(db, client, accounts)
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the bunq-to-YNAB sync")
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--skip-throttled", action="store_true", help="skip phase 1 (~1 min)")
    args = parser.parse_args()

    from bunq.sdk.context.api_context import ApiContext
    from bunq.sdk.context.api_environment_type import ApiEnvironmentType

    from bunq_ynab.bunq.client import configure_sdk
    from bunq_ynab.bunq.context import MemoryContextStore
    from bunq_ynab.settings import Settings
    from bunq_ynab.sync.queue import sync_queue
    from bunq_ynab.ynab.client import YnabClient
    from emulators.bunq import BunqEmulator
    from emulators.demo_data import build_benchmark_seed
    from emulators.ynab import YnabEmulator

    seed = build_benchmark_seed(args.payments)
    token = seed["ynab"]["token"]
    bunq_emulator = BunqEmulator(seed).start()
    ynab_emulator = YnabEmulator(seed).start()
    configure_sdk(bunq_emulator.base_url)
    context = ApiContext.create(ApiEnvironmentType.SANDBOX, seed["bunq"]["api_keys"][0], "bench")
    store = MemoryContextStore(context.to_json(), base_url=bunq_emulator.base_url)
    rows = []
    try:
        if not args.skip_throttled:
            db = fresh_database()
            seconds, report = run_extract(db, bunq_emulator, ynab_emulator, store, token, True)
            rows.append(("extract, bunq throttle on", seconds, report.payments_fetched))
            db.close()

        db = fresh_database()
        bunq_emulator.reset_counts()
        ynab_emulator.reset_counts()
        seconds, report = run_extract(db, bunq_emulator, ynab_emulator, store, token, False)
        rows.append(("extract, throttle off", seconds, report.payments_fetched))
        bunq_requests = bunq_emulator.total_requests

        started = time.perf_counter()
        with YnabClient(token, host=ynab_emulator.base_url) as ynab:
            sync = sync_queue(db, ynab, Settings(), today=None)
        seconds = time.perf_counter() - started
        rows.append(("sync_payment_queue", seconds, sync.synced))
        ynab_requests = dict(ynab_emulator.request_counts)
        plans = len(seed["ynab"]["plans"])
        created = sum(len(ynab_emulator.transactions(plan["id"])) for plan in seed["ynab"]["plans"])
        db.close()
    finally:
        bunq_emulator.stop()
        ynab_emulator.stop()

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"## Sync benchmark: {args.payments:,} payments, 3 bunq accounts, {plans} YNAB plans\n")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Machine: {machine}")
    print(f"Run on {time.strftime('%Y-%m-%d')}; peak resident memory {peak_mib:.0f} MiB\n")
    print("| phase | wall time (s) | payments | payments/s |")
    print("|---|---:|---:|---:|")
    for name, seconds, count in rows:
        print(f"| {name} | {seconds:.2f} | {count:,} | {count / seconds:,.0f} |")
    print(f"\nbunq requests in the unthrottled extract: {bunq_requests}")
    print(f"YNAB requests in the extract and the sync: {sum(ynab_requests.values())}")
    for (method, route), count in sorted(ynab_requests.items()):
        print(f"- {method} {route}: {count}")
    print(f"YNAB budget for one sync: at most 3 per plan + 1 = {3 * plans + 1}")
    print(f"Transactions in the YNAB emulator afterwards: {created:,}")
    print(
        f"Sync result: {len(sync.created):,} created, {len(sync.duplicates)} duplicates, "
        f"{len(sync.failed)} failed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
