"""Concurrent sync and extract runs against one database: claims, transfers and row locks."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg

from tests.adversarial.support import SyncThread, import_id_counts, seed_with, statuses
from tests.integration import world as w


def _wait_for_lock_wait(dsn: str, backend_pid: int | None, timeout: float) -> bool:
    """Poll pg_stat_activity until the backend waits on a lock, and return whether it did."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as monitor:
        while time.monotonic() < deadline:
            row = monitor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.02)
    return False


def test_concurrent_syncs_same_plan_no_deadlock(make_world, pg_database, monkeypatch, yesterday):
    from bunq_ynab.settings import Settings
    from bunq_ynab.sync import queue

    # The first sync of a plan, so the mirror is empty and neither run has server knowledge.
    new = [
        w.payment(11, f"-{i}.00", created=yesterday + dt.timedelta(minutes=i)) for i in range(1, 5)
    ]
    world = make_world(seed_with(new))
    world.extract()

    # Run A pauses between receiving its POST response and storing it, which is where a
    # large batch spends its time converting the SDK models. Run B starts its claim then.
    posted = threading.Event()
    original_create = queue._create_isolating_failures
    run_b: list[SyncThread] = []

    def create_then_pause(ynab, plan_id, drafts):
        result = original_create(ynab, plan_id, drafts)
        if threading.current_thread().name == "run-a" and not posted.is_set():
            posted.set()
            _wait_for_lock_wait(pg_database, run_b[0].backend_pid, timeout=5)
        return result

    monkeypatch.setattr(queue, "_create_isolating_failures", create_then_pause)
    settings = Settings(batch_size=2)  # so B has payments left to claim while A works
    run_a = SyncThread(world, pg_database, settings, name="run-a")
    run_b.append(SyncThread(world, pg_database, settings, name="run-b", start=posted))
    run_a.start()
    run_b[0].start()
    run_a.join(30)
    run_b[0].join(30)

    assert run_a.error is None, repr(run_a.error)
    assert run_b[0].error is None, repr(run_b[0].error)
    counts = import_id_counts(world)
    assert all(counts[f"bunq:{payment['id']}"] == 1 for payment in new)
    assert set(statuses(world).values()) == {"synced"}


def test_deferred_transfer_does_not_spin(make_world, pg_database):
    from bunq_ynab.settings import Settings

    outgoing, incoming = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00")
    world = make_world(seed_with([outgoing, incoming]))
    world.extract()
    world.ynab_emulator.reset_counts()

    # Another run has claimed the incoming side and is still busy with it.
    holder = psycopg.connect(pg_database)
    holder.execute(
        "SELECT 1 FROM payment_queue WHERE payment_id = %s FOR UPDATE", (incoming["id"],)
    )
    run = SyncThread(world, pg_database, Settings(batch_size=1), name="deferring-run")
    try:
        run.start()
        run.join(2.0)
        still_running = run.is_alive()
        requests_while_held = world.ynab_emulator.total_requests
    finally:
        holder.rollback()
        holder.close()
        run.join(30)

    assert run.error is None, repr(run.error)
    assert not still_running, "the sync was still running after 2 s"
    assert requests_while_held <= 4
    assert run.report.deferred == [outgoing["id"]]


def test_concurrent_runs_sync_each_once(make_world, pg_database, yesterday):
    from bunq_ynab.settings import Settings

    payments = []
    for minute in range(6):
        created = yesterday + dt.timedelta(minutes=minute)
        payments.append(w.payment(11, f"-{minute + 1}.00", created=created))
        payments.append(w.payment(13, f"-{minute + 1}.50", created=created))
    payments += w.transfer(
        (11, w.IBAN_BANK),
        (12, w.IBAN_SAVINGS),
        "20.00",
        created=yesterday + dt.timedelta(minutes=3),
    )
    world = make_world(seed_with(payments))
    world.extract()

    barrier = threading.Barrier(3)
    settings = Settings(batch_size=3)
    runs = [
        SyncThread(world, pg_database, settings, name="hourly-1", start=barrier),
        SyncThread(world, pg_database, settings, name="hourly-2", start=barrier),
        SyncThread(
            world,
            pg_database,
            settings,
            name="sync-payment",
            start=barrier,
            payment_ids=[payments[4]["id"]],
            force=True,
        ),
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    errors = [run.error for run in runs if run.error is not None]
    world.sync()

    assert errors == []
    assert all(not run.is_alive() for run in runs)
    counts = import_id_counts(world)
    transfer_in = payments[-1]["id"]
    expected = {f"bunq:{p['id']}" for p in payments if p["id"] != transfer_in}
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert set(statuses(world).values()) == {"synced"}
    assert len(world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)) == 6 + 2


def test_transfer_sides_in_concurrent_runs(make_world, pg_database):
    from bunq_ynab.settings import Settings

    outgoing, incoming = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "75.00")
    world = make_world(seed_with([outgoing, incoming]))
    world.extract()

    barrier = threading.Barrier(2)
    runs = [
        SyncThread(
            world, pg_database, Settings(), name="out", start=barrier, payment_ids=[outgoing["id"]]
        ),
        SyncThread(
            world, pg_database, Settings(), name="in", start=barrier, payment_ids=[incoming["id"]]
        ),
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    errors = [run.error for run in runs if run.error is not None]
    world.sync()  # picks up a side that was deferred

    assert errors == []
    transactions = world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)
    assert sorted(t["amount"] for t in transactions) == [-75000, 75000]
    assert all(t["transfer_transaction_id"] for t in transactions)
    queue = world.queue()
    assert queue[outgoing["id"]]["status"] == "synced"
    assert queue[incoming["id"]]["status"] == "synced"
    pairs = {queue[outgoing["id"]]["counterpart_of"], queue[incoming["id"]]["counterpart_of"]}
    assert pairs in ({None, outgoing["id"]}, {None, incoming["id"]})


def test_two_extracts_no_deadlock(make_world, pg_database, yesterday):
    from bunq_ynab.storage import Database, load_query
    from bunq_ynab.sync import extract, linking, ynab_mirror

    payments = [
        w.payment(account_id, "-1.00", created=yesterday + dt.timedelta(seconds=i))
        for i, account_id in enumerate([11, 12, 13] * 5)
    ]
    world = make_world(seed_with(payments))
    paused = threading.Event()
    backend_pids: dict[str, int] = {}
    reports: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def extract_run(name: str) -> None:
        try:
            with Database.from_dsn(pg_database) as db, world.ynab_client() as ynab:
                backend_pids[name] = db.connection.info.backend_pid
                if name == "a":
                    pause_inside_linking(db)
                else:
                    paused.wait(timeout=10)
                client = world.bunq_client()
                ynab_mirror.refresh_plans(db, ynab)
                accounts = extract.store_accounts(db, client)
                linking.link_accounts(db)
                reports[name] = extract.extract_payments(db, client, accounts)
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors[name] = error

    def pause_inside_linking(db) -> None:
        # Run A stops inside its link transaction after locking accounts 11 and 12, until
        # run B, which started its whole extract meanwhile, waits for one of those locks.
        original_execute = db.execute
        set_link = load_query("set_account_link")

        def execute(sql, params=None):
            result = original_execute(sql, params)
            if sql == set_link and params["bunq_account_id"] == 12 and not paused.is_set():
                paused.set()
                _wait_for_lock_wait(pg_database, backend_pids.get("b"), timeout=5)
            return result

        db.execute = execute

    threads = [threading.Thread(target=extract_run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == {}
    assert sum(report.payments_queued for report in reports.values()) == len(payments)
    assert len(world.queue()) == len(payments)
