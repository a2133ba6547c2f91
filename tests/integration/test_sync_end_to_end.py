"""The sync on the real SDKs, the emulators and Postgres: the cases that must never break."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from tests.integration import world as w


def seed_with(payments: list[dict]) -> dict:
    seed = w.base_seed()
    seed["bunq"]["payments"] = payments
    return seed


def test_sync_creates_each_payment_once(make_world):
    payments = [w.payment(11, "-24.95"), w.payment(12, "100.00", counterparty_name="Employer")]
    world = make_world(seed_with(payments))

    report = world.run()

    created = world.created(w.PLAN_HOUSEHOLD)
    assert len(report.created) == 2
    assert sorted(t["import_id"] for t in created) == sorted(f"bunq:{p['id']}" for p in payments)
    amounts = sorted(t["amount"] for t in created)
    assert amounts == [-24950, 100000]
    assert all(row["status"] == "synced" for row in world.queue().values())


def test_transaction_fields(make_world, yesterday):
    created = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)  # 1 Nov 00:30 in Amsterdam
    payment = w.payment(
        11,
        "-12.34",
        created=created,
        description="  Bol.com   bestelling\n123 ",
        counterparty_name="bol.com",
    )
    world = make_world(seed_with([payment]))
    world.run(today=dt.date(2026, 12, 4))

    [transaction] = world.created(w.PLAN_HOUSEHOLD)
    assert transaction["date"] == "2026-11-01"
    assert transaction["amount"] == -12340
    assert transaction["memo"] == "Bol.com bestelling 123"
    assert transaction["payee_name"] == "bol.com"
    assert transaction["cleared"] == "uncleared"
    assert transaction["approved"] is False
    assert transaction["flag_color"] == "blue"
    assert transaction["category_id"] is None


def test_rerun_creates_nothing_new(make_world):
    world = make_world(seed_with([w.payment(11, "-5.00") for _ in range(5)]))
    world.run()
    before = world.ynab_emulator.request_counts[("POST", "/v1/plans/{plan_id}/transactions")]

    report = world.run()

    assert len(world.created(w.PLAN_HOUSEHOLD)) == 5
    assert report.created == []
    assert (
        world.ynab_emulator.request_counts[("POST", "/v1/plans/{plan_id}/transactions")] == before
    )


def test_crash_after_post_before_commit(make_world, monkeypatch):
    from bunq_ynab.sync import queue

    world = make_world(seed_with([w.payment(11, f"-{i}.00") for i in range(1, 8)]))
    world.extract()

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed after the YNAB POST")

    with monkeypatch.context() as patch:
        patch.setattr(queue, "_mark", crash)
        with pytest.raises(RuntimeError):
            world.sync()
    assert len(world.created(w.PLAN_HOUSEHOLD)) == 7
    assert all(row["status"] == "pending" for row in world.queue().values())

    report = world.sync()

    import_ids = Counter(t["import_id"] for t in world.created(w.PLAN_HOUSEHOLD))
    assert len(import_ids) == 7
    assert set(import_ids.values()) == {1}
    assert len(report.duplicates) == 7
    assert all(row["status"] == "synced" for row in world.queue().values())
    assert all(row["ynab_transaction_id"] for row in world.queue().values())


def test_lost_response_after_commit_on_server(make_world):
    world = make_world(seed_with([w.payment(11, "-3.00"), w.payment(11, "-4.00")]))
    world.extract()
    world.ynab_emulator.faults.fail_after_commit(1, method="POST")

    first = world.sync()
    assert w.PLAN_HOUSEHOLD in first.plan_errors  # recorded, and the other plans went on
    assert all(row["status"] == "pending" for row in world.queue().values())
    report = world.sync()

    assert len(world.created(w.PLAN_HOUSEHOLD)) == 2
    assert report.synced == 2


def test_invalid_payment_does_not_sink_batch(make_world):
    payments = [
        w.payment(11, "-1.00"),
        *w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00"),
        w.payment(11, "-2.00"),
    ]
    world = make_world(seed_with(payments))
    world.extract()
    # A stale transfer payee (e.g. the account was recreated in YNAB) makes YNAB reject one item.
    world.db.execute(
        "UPDATE ynab_account SET transfer_payee_id = %s WHERE id = %s",
        ("00000000-0000-4000-8000-000000000000", w.YNAB_SAVINGS),
    )

    report = world.sync()

    transfer_out = payments[1]["id"]
    assert transfer_out in report.failed
    assert "payee" in report.failed[transfer_out]
    queue = world.queue()
    assert queue[transfer_out]["status"] == "failed"
    assert queue[payments[0]["id"]]["status"] == "synced"
    assert queue[payments[3]["id"]]["status"] == "synced"
    assert queue[payments[2]["id"]]["status"] == "failed"  # the other side of the failed transfer
    assert sorted(t["amount"] for t in world.created(w.PLAN_HOUSEHOLD)) == [-2000, -1000]


def test_transfer_between_linked_accounts_is_one_pair(make_world):
    payments = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "250.00")
    world = make_world(seed_with(payments))

    report = world.run()

    transactions = [t for t in world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)]
    assert len(transactions) == 2
    outgoing = next(t for t in transactions if t["amount"] == -250000)
    incoming = next(t for t in transactions if t["amount"] == 250000)
    assert outgoing["account_id"] == w.YNAB_BANK
    assert outgoing["transfer_account_id"] == w.YNAB_SAVINGS
    assert incoming["transfer_transaction_id"] == outgoing["id"]
    assert report.transfer_counterparts == [payments[1]["id"]]
    queue = world.queue()
    assert queue[payments[1]["id"]]["ynab_transaction_id"] == incoming["id"]
    assert queue[payments[1]["id"]]["counterpart_of"] == payments[0]["id"]


def test_transfer_sides_in_separate_runs(make_world):
    outgoing, incoming = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "75.00")
    world = make_world(seed_with([incoming]))
    world.run()  # only the incoming side exists yet: it creates the transfer
    [added] = world.add_payments([outgoing])

    report = world.run()

    assert len(world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)) == 2
    assert report.transfer_counterparts == [added["id"]]


def test_transfer_to_other_plan_is_ordinary(make_world):
    payments = w.transfer((11, w.IBAN_BANK), (13, w.IBAN_JOINT), "40.00")
    world = make_world(seed_with(payments))
    world.run()

    [household] = world.created(w.PLAN_HOUSEHOLD)
    [shared] = world.created(w.PLAN_SHARED)
    assert household["transfer_account_id"] is None
    assert shared["transfer_account_id"] is None


def test_two_coffees_same_day_both_created(make_world, yesterday):
    coffees = [
        w.payment(11, "-2.50", created=yesterday, counterparty_name="Coffee Company")
        for _ in range(2)
    ]
    world = make_world(seed_with(coffees))
    world.run()

    assert len(world.created(w.PLAN_HOUSEHOLD)) == 2


def test_external_account_without_iban_skipped(make_world, caplog):
    world = make_world(seed_with([w.payment(14, "-9.99"), w.payment(11, "-1.00")]))

    with caplog.at_level("WARNING"):
        report = world.extract()

    assert report.accounts_skipped[14] == "no IBAN (external account)"
    assert "has no IBAN" in caplog.text
    assert report.payments_fetched == 1


def test_inactive_accounts_skipped(make_world):
    seed = w.base_seed()
    seed["bunq"]["accounts"].append(
        {
            "id": 15,
            "type": "MonetaryAccountBank",
            "description": "Old",
            "status": "CANCELLED",
            "currency": "EUR",
            "iban": "NL73BUNQ0000000012",
        }
    )
    seed["bunq"]["payments"] = [w.payment(15, "-1.00")]
    world = make_world(seed)

    report = world.extract()

    assert report.accounts_skipped[15] == "status CANCELLED"
    assert report.payments_fetched == 0


def test_twelve_accounts_all_listed(make_world, monkeypatch):
    from bunq_ynab.bunq import client

    accounts = [
        {
            "id": 100 + i,
            "type": "MonetaryAccountBank",
            "description": f"Account {i}",
            "status": "ACTIVE" if i % 3 else "CANCELLED",
            "currency": "EUR",
            "iban": f"NL00BUNQ00000001{i:02d}",
        }
        for i in range(12)
    ]
    world = make_world(w.base_seed(accounts=accounts))
    monkeypatch.setattr(client, "PAGE_SIZE", 5)  # three pages instead of one

    listed = world.bunq_client().list_accounts()

    assert sorted(a.id for a in listed) == [100 + i for i in range(12)]


def test_250_new_payments_all_synced_in_one_post(make_world, yesterday):
    payments = [
        w.payment(11, "-1.00", created=yesterday + dt.timedelta(seconds=i)) for i in range(250)
    ]
    world = make_world(seed_with(payments))

    report = world.extract()
    assert report.payments_fetched == 250
    assert report.payments_queued == 250

    world.ynab_emulator.reset_counts()
    sync = world.sync()
    assert len(sync.created) == 250
    assert world.ynab_emulator.request_counts[("POST", "/v1/plans/{plan_id}/transactions")] == 1


def test_twelve_payments_in_one_minute_and_later_pages(make_world, yesterday):
    world = make_world(seed_with([w.payment(11, "-1.00", created=yesterday)]))
    world.run()
    burst = [
        w.payment(11, "-10.00", created=yesterday + dt.timedelta(hours=2, seconds=i))
        for i in range(12)
    ]
    world.add_payments(burst)

    report = world.extract()

    assert report.payments_fetched == 12
    assert len(world.sync().created) == 12


def test_incremental_extract_fetches_nothing_twice(make_world, yesterday, monkeypatch):
    from bunq_ynab.bunq import client

    monkeypatch.setattr(client, "PAGE_SIZE", 10)
    payments = [
        w.payment(11, "-1.00", created=yesterday + dt.timedelta(seconds=i)) for i in range(25)
    ]
    world = make_world(seed_with(payments))
    world.extract()
    world.add_payments([w.payment(11, "-2.00") for _ in range(15)])

    report = world.extract()

    assert report.payments_fetched == 15
    assert len(world.queue()) == 40


def test_same_day_across_pages_once(make_world, yesterday, monkeypatch):
    from bunq_ynab.bunq import client

    monkeypatch.setattr(client, "PAGE_SIZE", 3)
    day = [w.payment(11, "-10.00", created=yesterday + dt.timedelta(minutes=i)) for i in range(4)]
    world = make_world(seed_with(day))
    world.run()
    world.run()

    assert len(world.created(w.PLAN_HOUSEHOLD)) == 4


def test_ynab_requests_per_sync_bounded(make_world, yesterday):
    payments = [w.payment(11 if i % 2 else 13, "-1.00", created=yesterday) for i in range(40)]
    world = make_world(seed_with(payments))
    world.ynab_emulator.reset_counts()

    world.run()

    # One plans request, then per plan one transaction delta and one bulk create.
    assert world.ynab_emulator.total_requests <= 2 * 3 + 1


def test_start_date_skips_then_requeues(make_world):
    from bunq_ynab.settings import Settings

    old = w.payment(11, "-1.00", created=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    new = w.payment(11, "-2.00")
    world = make_world(seed_with([old, new]))
    start = dt.date.today() - dt.timedelta(days=10)

    report = world.run(settings=Settings(start_date=start))

    assert list(report.skipped) == [old["id"]]
    assert world.queue()[old["id"]]["reason_code"] == "before_start_date"
    assert len(world.created(w.PLAN_HOUSEHOLD)) == 1

    report = world.run(settings=Settings(start_date=start - dt.timedelta(days=60)))

    assert report.requeued == [old["id"]]
    assert report.created == [old["id"]]
    assert len(world.created(w.PLAN_HOUSEHOLD)) == 2


def test_unlinked_account_skipped_until_linked(make_world):
    seed = seed_with([w.payment(13, "-7.00")])
    seed["ynab"]["plans"][1]["accounts"][0]["note"] = "no iban here"
    world = make_world(seed)

    report = world.run()
    [payment_id] = report.skipped
    assert world.queue()[payment_id]["reason_code"] == "account_not_linked"

    world.db.execute(
        "UPDATE ynab_account SET note = %s WHERE id = %s", (w.IBAN_JOINT, w.YNAB_JOINT)
    )
    from bunq_ynab.sync import linking

    linking.link_accounts(world.db)
    report = world.sync()

    assert report.created == [payment_id]


def test_closed_and_doubly_linked_accounts_not_linked(make_world):
    from bunq_ynab.sync import linking

    seed = w.base_seed()
    household = seed["ynab"]["plans"][0]
    household["accounts"][1]["closed"] = True
    household["accounts"].append(
        {
            "id": "7d4b4f2f-2a7f-4d52-8e7c-2b3c4d5e6f09",
            "name": "copy",
            "type": "checking",
            "on_budget": True,
            "closed": False,
            "note": w.IBAN_BANK,
            "balance": 0,
        }
    )
    world = make_world(seed)
    world.extract()

    links = {link.bunq_account_id: link for link in linking.link_accounts(world.db)}

    assert links[11].account_id is None
    assert "several YNAB accounts" in links[11].problem
    assert links[12].account_id is None
    assert links[13].account_id == w.YNAB_JOINT


def test_ynab_429_stops_cleanly_and_next_run_finishes(make_world, yesterday):
    payments = [
        w.payment(11, "-1.00", created=yesterday),
        w.payment(13, "-2.00", created=yesterday),
    ]
    world = make_world(seed_with(payments))
    world.extract()
    context_before = world.store.context_json
    world.ynab_emulator.faults.http_429(1, method="POST")

    report = world.sync()

    assert report.rate_limited
    assert sum(1 for row in world.queue().values() if row["status"] == "pending") >= 1
    assert world.store.context_json == context_before  # a YNAB error never touches bunq state

    report = world.sync()
    assert not report.rate_limited
    assert len(world.created(w.PLAN_HOUSEHOLD)) + len(world.created(w.PLAN_SHARED)) == 2


def test_bunq_429_is_retried(make_world):
    world = make_world(seed_with([w.payment(11, "-1.00")]))
    world.bunq_emulator.faults.http_429(2, method="GET", path="/payment")

    report = world.extract()

    assert report.payments_fetched == 1
    assert world.sleeps.count(3.0) >= 1


def test_bunq_throttle_avoids_429(make_world, yesterday):
    from bunq_ynab.bunq.client import BunqClient

    payments = [
        w.payment(11, "-1.00", created=yesterday),
        w.payment(12, "-1.00", created=yesterday),
    ]
    world = make_world(seed_with(payments))
    world.bunq_emulator.faults.enforce_rate_limits(True)
    client = BunqClient(world.store, base_url=world.bunq_emulator.base_url)

    from bunq_ynab.sync import extract

    accounts = extract.store_accounts(world.db, client)
    extract.extract_payments(world.db, client, accounts)
    extract.extract_payments(world.db, client, accounts)

    assert client.stats.rate_limit_retries == 0
    assert client.stats.requests["GET"] == 7


@pytest.mark.parametrize(
    ("message", "status"),
    [("Insufficient authorisation.", 401), ("Insufficient authentication.", 403)],
)
def test_invalidated_session_reset_once(make_world, message, status):
    world = make_world(seed_with([w.payment(11, "-1.00")]))
    client = world.bunq_client()
    client.list_accounts()
    world.bunq_emulator.faults.expire_sessions(message=message, status=status)

    accounts = client.list_accounts()

    assert len(accounts) == 4
    assert client.stats.session_resets == 1
    assert world.store.saves == 1  # the new session is saved, so the next run reuses it


def test_expired_session_refreshed_and_saved(make_world):
    import json

    world = make_world(seed_with([]))
    context = json.loads(world.store.context_json)
    context["session_context"]["expiry_time"] = "2020-01-01 00:00:00.000000"
    world.store.context_json = json.dumps(context)

    client = world.bunq_client()
    client.list_accounts()
    second = world.bunq_client()
    second.list_accounts()

    assert client.stats.session_resets == 1
    assert second.stats.session_resets == 0


def test_rejected_api_key_gives_clear_error(make_world):
    import json

    from bunq_ynab.bunq.client import BunqCredentialsError

    world = make_world(seed_with([]))
    context = json.loads(world.store.context_json)
    context["api_key"] = "sandbox_revoked_key"
    context["session_context"]["expiry_time"] = "2020-01-01 00:00:00.000000"
    world.store.context_json = json.dumps(context)

    with pytest.raises(BunqCredentialsError, match="exchange_pat") as raised:
        world.bunq_client().list_accounts()
    assert "sandbox_revoked_key" not in str(raised.value)


def test_deleted_ynab_transaction_not_a_local_duplicate(make_world):
    world = make_world(seed_with([w.payment(11, "-8.00")]))
    world.run()
    [transaction] = world.created(w.PLAN_HOUSEHOLD)
    world.ynab_emulator.delete_transaction(w.PLAN_HOUSEHOLD, transaction["id"])
    payment_id = next(iter(world.queue()))

    report = world.run(payment_ids=[payment_id], force=True)

    assert report.created == []
    assert report.duplicates == [payment_id]
    assert world.queue()[payment_id]["status"] == "synced"


def test_joint_account_seen_by_two_users_synced_once(make_world):
    from emulators.bunq import BunqEmulator

    shared = [w.payment(13, "-30.00", counterparty_name="Rent"), w.payment(13, "-12.00")]
    world = make_world(seed_with(shared))
    world.run()

    partner_seed = seed_with(shared)
    partner_seed["bunq"]["user"] = {"id": 1002, "display_name": "Partner"}
    partner_seed["bunq"]["accounts"] = [
        a for a in partner_seed["bunq"]["accounts"] if a["id"] == 13
    ]
    partner = BunqEmulator(partner_seed).start()
    try:
        from bunq.sdk.context.api_context import ApiContext
        from bunq.sdk.context.api_environment_type import ApiEnvironmentType

        from bunq_ynab.bunq.client import BunqClient, configure_sdk
        from bunq_ynab.bunq.context import MemoryContextStore
        from bunq_ynab.sync import extract

        configure_sdk(partner.base_url)
        context = ApiContext.create(ApiEnvironmentType.SANDBOX, w.API_KEY, "partner")
        client = BunqClient(MemoryContextStore(context.to_json()), base_url=partner.base_url)
        extract.extract_payments(world.db, client, extract.store_accounts(world.db, client))
    finally:
        partner.stop()
    report = world.sync()

    assert report.created == []
    assert len(world.created(w.PLAN_SHARED)) == 2


def test_dry_run_changes_nothing(make_world):
    world = make_world(seed_with([w.payment(11, "-6.00")]))
    world.extract()

    report = world.sync(dry_run=True)

    assert len(report.drafts) == 1
    assert report.drafts[0]["amount"] == -6000
    assert world.created(w.PLAN_HOUSEHOLD) == []
    assert all(row["status"] == "pending" for row in world.queue().values())


def test_force_overrides_start_date(make_world):
    from bunq_ynab.settings import Settings

    old = w.payment(11, "-1.00", created=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    world = make_world(seed_with([old]))
    settings = Settings(start_date=dt.date.today() - dt.timedelta(days=10))
    world.run(settings=settings)
    assert world.queue()[old["id"]]["status"] == "skipped"

    report = world.sync(settings=settings, payment_ids=[old["id"]], force=True)

    assert report.created == [old["id"]]
    assert world.queue()[old["id"]]["status"] == "synced"
