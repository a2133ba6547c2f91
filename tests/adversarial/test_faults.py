"""Faults at each step of extract and sync, each followed by a rerun that must finish the job.

After the rerun every payment is in YNAB exactly once, and the queue marks as synced only what
YNAB has.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import urllib3

from tests.adversarial.support import extract_with, import_id_counts, seed_with, statuses
from tests.integration import world as w

POST_TRANSACTIONS = ("POST", "/v1/plans/{plan_id}/transactions")


def _assert_each_once(world, payments: list[dict]) -> None:
    counts = import_id_counts(world)
    assert sorted(counts) == sorted(f"bunq:{payment['id']}" for payment in payments)
    assert set(counts.values()) == {1}


def _sync_through_fault(world) -> None:
    """Run a sync that meets an injected network fault, and check that the fault surfaced.

    The run either raises the urllib3 error or keeps it to the plan in ``plan_errors``.
    """
    try:
        report = world.sync()
    except urllib3.exceptions.HTTPError:
        return
    assert report.plan_errors != {}


# YNAB ---------------------------------------------------------------------------------------


def test_ynab_5xx_on_one_plan_post(make_world):
    payments = [w.payment(11, "-1.00"), w.payment(13, "-2.00"), w.payment(13, "-3.00")]
    world = make_world(seed_with(payments))
    world.extract()
    world.ynab_emulator.faults.http_5xx(1, status=503, method="POST", path=w.PLAN_SHARED)

    report = world.sync()

    assert list(report.plan_errors) == [w.PLAN_SHARED]
    assert "503" in report.plan_errors[w.PLAN_SHARED]
    queue = world.queue()
    assert queue[payments[0]["id"]]["status"] == "synced"
    assert queue[payments[1]["id"]]["status"] == "pending"
    assert queue[payments[2]["id"]]["status"] == "pending"
    assert world.created(w.PLAN_SHARED) == []

    report = world.sync()

    assert report.plan_errors == {}
    assert sorted(report.created) == [payments[1]["id"], payments[2]["id"]]
    _assert_each_once(world, payments)
    assert set(statuses(world).values()) == {"synced"}


def test_dropped_connection_on_one_plan(make_world):
    payments = [w.payment(11, "-1.00"), w.payment(13, "-2.00")]
    world = make_world(seed_with(payments))
    world.extract()
    # Household sorts first. YNAB stores its POST and the response is lost on the way back.
    world.ynab_emulator.faults.fail_after_commit(1, method="POST", path=w.PLAN_HOUSEHOLD)

    report = world.sync()

    assert list(report.plan_errors) == [w.PLAN_HOUSEHOLD]
    queue = world.queue()
    assert queue[payments[0]["id"]]["status"] == "pending"
    assert queue[payments[1]["id"]]["status"] == "synced"


def test_ynab_429_on_transactions_read(make_world):
    payments = [w.payment(11, "-1.00"), w.payment(13, "-2.00")]
    world = make_world(seed_with(payments))
    world.extract()
    world.ynab_emulator.faults.http_429(1, method="GET", path="/transactions")

    report = world.sync()

    assert report.rate_limited
    assert report.created == []
    assert world.ynab_emulator.request_counts[POST_TRANSACTIONS] == 0
    assert set(statuses(world).values()) == {"pending"}

    report = world.sync()

    assert not report.rate_limited
    _assert_each_once(world, payments)
    assert set(statuses(world).values()) == {"synced"}


def test_ynab_post_timeout_then_immediate_rerun(make_world, monkeypatch):
    from bunq_ynab.ynab import client

    payments = [w.payment(11, f"-{i}.00") for i in range(1, 4)]
    world = make_world(seed_with(payments))
    world.extract()
    monkeypatch.setattr(client, "REQUEST_TIMEOUT_SECONDS", 0.3)
    # The server delays the POST by a second and then applies it, after the client gave up.
    world.ynab_emulator.faults.timeout(1, seconds=1.0, method="POST")

    _sync_through_fault(world)
    world.sync()  # races the delayed write, and YNAB's import_id check keeps one copy
    time.sleep(1.0)
    world.sync()

    _assert_each_once(world, payments)
    queue = world.queue()
    assert set(statuses(world).values()) == {"synced"}
    ynab_ids = {t["id"] for t in world.created(w.PLAN_HOUSEHOLD)}
    recorded = {row["ynab_transaction_id"] for row in queue.values()} - {None}
    assert recorded <= ynab_ids


def test_lost_post_response_with_transfer(make_world):
    outgoing, incoming = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "30.00")
    coffee = w.payment(11, "-2.50")
    world = make_world(seed_with([outgoing, incoming, coffee]))
    world.extract()
    world.ynab_emulator.faults.fail_after_commit(1, method="POST")

    _sync_through_fault(world)
    report = world.sync()

    assert report.created == []
    transactions = world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)
    assert sorted(t["amount"] for t in transactions) == [-30000, -2500, 30000]
    queue = world.queue()
    assert set(statuses(world).values()) == {"synced"}
    by_id = {t["id"]: t for t in transactions}
    out_transaction = by_id[queue[outgoing["id"]]["ynab_transaction_id"]]
    in_transaction = by_id[queue[incoming["id"]]["ynab_transaction_id"]]
    assert out_transaction["amount"] == -30000
    assert in_transaction["amount"] == 30000
    assert in_transaction["transfer_transaction_id"] == out_transaction["id"]
    assert queue[incoming["id"]]["counterpart_of"] == outgoing["id"]


def test_crash_between_accounts_in_extract(make_world, monkeypatch):
    from bunq_ynab.sync import extract

    payments = [w.payment(13, "-1.00"), w.payment(12, "-2.00"), w.payment(11, "-3.00")]
    world = make_world(seed_with(payments))
    original_store = extract._store_payments
    calls = []

    def crash_on_second_account(db, account_id, account_payments):
        calls.append(account_id)
        if len(calls) == 2:
            raise RuntimeError("worker killed while storing the second account")
        return original_store(db, account_id, account_payments)

    with monkeypatch.context() as patch:
        patch.setattr(extract, "_store_payments", crash_on_second_account)
        with pytest.raises(RuntimeError):
            world.extract()
    assert len(world.queue()) == 1  # the first account's payments were committed

    report = world.extract()
    world.sync()

    assert report.payments_queued == 2
    _assert_each_once(world, payments)
    assert set(statuses(world).values()) == {"synced"}


# bunq ---------------------------------------------------------------------------------------


def test_bunq_5xx_mid_paging_then_rerun(make_world, monkeypatch, yesterday):
    from bunq.sdk.exception.api_exception import ApiException

    from bunq_ynab.bunq import client

    monkeypatch.setattr(client, "PAGE_SIZE", 3)
    payments = [
        w.payment(11, f"-{i}.00", created=yesterday + dt.timedelta(minutes=i)) for i in range(8)
    ] + [w.payment(12, "-9.00", created=yesterday)]
    world = make_world(seed_with(payments))
    world.bunq_emulator.faults.http_5xx(1, status=503, path="/payment?count=3&older_id")

    with pytest.raises(ApiException):
        world.extract()
    # Account 12 (one page) is listed before 11, so its payment was stored. 11 stored nothing.
    assert sorted(world.queue()) == [payments[-1]["id"]]

    report = world.extract()
    world.sync()

    assert report.payments_queued == 8
    _assert_each_once(world, payments)


def test_bunq_session_expiry_between_pages(make_world, monkeypatch, yesterday):
    from bunq_ynab.bunq import client as bunq_client

    monkeypatch.setattr(bunq_client, "PAGE_SIZE", 3)
    payments = [
        w.payment(11, f"-{i}.00", created=yesterday + dt.timedelta(minutes=i)) for i in range(8)
    ]
    world = make_world(seed_with(payments))
    client = world.bunq_client()
    original_get = client._get
    pages = []

    def get_then_expire(path, params):
        body = original_get(path, params)
        if path.endswith("/monetary-account/11/payment"):
            pages.append(params)
            if len(pages) == 1:
                world.bunq_emulator.faults.expire_sessions(
                    message="Insufficient authentication.", status=403
                )
        return body

    monkeypatch.setattr(client, "_get", get_then_expire)

    report = extract_with(world, client)

    assert len(pages) == 3
    assert report.payments_fetched == 8
    assert client.stats.session_resets == 1
    assert world.store.saves == 1


def test_bunq_read_timeout_mid_paging(make_world, monkeypatch, yesterday):
    import requests

    from bunq_ynab.bunq import client as bunq_client

    monkeypatch.setattr(bunq_client, "PAGE_SIZE", 3)
    payments = [
        w.payment(11, f"-{i}.00", created=yesterday + dt.timedelta(minutes=i)) for i in range(8)
    ]
    world = make_world(seed_with(payments))
    client = world.bunq_client()
    bunq_client.configure_sdk(None, timeout=0.3)
    world.bunq_emulator.faults.timeout(1, seconds=1.0, path="/payment?count=3&older_id")

    with pytest.raises(requests.exceptions.Timeout):
        extract_with(world, client)
    assert world.queue() == {}

    report = world.extract()  # a new client, with the default timeout again

    assert report.payments_queued == 8
