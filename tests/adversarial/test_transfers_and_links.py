"""Transfers between own accounts, account links that change, and the start date moving."""

from __future__ import annotations

import datetime as dt

from tests.adversarial.support import import_id_counts, seed_with, statuses
from tests.integration import world as w

POST_TRANSACTIONS = ("POST", "/v1/plans/{plan_id}/transactions")


def _set_ynab_note(world, plan_id: str, account_id: str, note: str) -> None:
    """Change a YNAB account's note, as the user does in the YNAB app."""
    state = world.ynab_emulator.state
    with state.lock:
        state.plan(plan_id).accounts[account_id].note = note


def _amounts_in(world, account_id: str, plan_id: str = w.PLAN_HOUSEHOLD) -> list[int]:
    return sorted(
        t["amount"]
        for t in world.ynab_emulator.transactions(plan_id)
        if t["account_id"] == account_id
    )


def test_account_linked_after_transfer_out_synced(make_world):
    outgoing, incoming = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00")
    seed = seed_with([outgoing, incoming])
    seed["ynab"]["plans"][0]["accounts"][1]["note"] = "savings, IBAN still to add"
    world = make_world(seed)
    world.run()
    assert world.queue()[incoming["id"]]["reason_code"] == "account_not_linked"

    _set_ynab_note(world, w.PLAN_HOUSEHOLD, w.YNAB_SAVINGS, w.IBAN_SAVINGS)
    world.run()

    assert world.queue()[incoming["id"]]["status"] == "synced"
    assert _amounts_in(world, w.YNAB_BANK) == [-50000]
    assert _amounts_in(world, w.YNAB_SAVINGS) == [50000]


def test_equal_transfers_pair_one_to_one(make_world, yesterday):
    first = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00", created=yesterday)
    second = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00", created=yesterday)
    world = make_world(seed_with(first + second))

    world.run()

    assert _amounts_in(world, w.YNAB_BANK) == [-50000, -50000]
    assert _amounts_in(world, w.YNAB_SAVINGS) == [50000, 50000]
    queue = world.queue()
    incoming = [queue[first[1]["id"]], queue[second[1]["id"]]]
    assert {row["status"] for row in incoming} == {"synced"}
    assert incoming[0]["ynab_transaction_id"] != incoming[1]["ynab_transaction_id"]
    assert {row["counterpart_of"] for row in incoming} == {first[0]["id"], second[0]["id"]}


def test_equal_transfers_across_runs_pair_one_to_one(make_world, yesterday):
    first = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00", created=yesterday)
    second = w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00", created=yesterday)
    # The incoming sides are fetched one run later, as when the savings account was listed
    # before the transfers were booked.
    world = make_world(seed_with([first[0], second[0]]))
    world.run()
    first_in, second_in = world.add_payments([first[1], second[1]])

    world.run()

    assert _amounts_in(world, w.YNAB_BANK) == [-50000, -50000]
    assert _amounts_in(world, w.YNAB_SAVINGS) == [50000, 50000]
    queue = world.queue()
    incoming = [queue[first_in["id"]], queue[second_in["id"]]]
    assert {row["status"] for row in incoming} == {"synced"}
    assert incoming[0]["ynab_transaction_id"] != incoming[1]["ynab_transaction_id"]
    assert {row["counterpart_of"] for row in incoming} == {first[0]["id"], second[0]["id"]}


def test_one_note_with_two_ibans_fails_nothing(make_world):
    payments = [
        *w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00"),
        w.payment(12, "-1.00"),
    ]
    seed = seed_with(payments)
    household = seed["ynab"]["plans"][0]["accounts"]
    household[0]["note"] = f"bunq: {w.IBAN_BANK} and savings {w.IBAN_SAVINGS}"
    household[1]["note"] = "old savings account"
    world = make_world(seed)

    report = world.run()

    # Either outcome is sound: both accounts stay unlinked (skipped), or both sides are
    # imported as ordinary transactions that cancel out in the one YNAB account.
    assert report.failed == {}
    assert "failed" not in set(statuses(world).values())


def test_deleted_plan_does_not_block_others(make_world):
    world = make_world(seed_with([w.payment(11, "-1.00"), w.payment(13, "-2.00")]))
    world.run()
    state = world.ynab_emulator.state
    with state.lock:
        del state.plans[w.PLAN_HOUSEHOLD]  # the user deletes the plan in the YNAB app
    bank, joint = world.add_payments([w.payment(11, "-3.00"), w.payment(13, "-4.00")])

    report = world.run()

    assert report.created == [joint["id"]]
    assert world.queue()[bank["id"]]["reason_code"] == "account_not_linked"


def test_deleted_ynab_account_unlinks(make_world):
    world = make_world(seed_with([w.payment(11, "-1.00")]))
    world.run()
    state = world.ynab_emulator.state
    with state.lock:  # the user deletes the (still empty) savings account in the YNAB app
        state.plan(w.PLAN_HOUSEHOLD).accounts[w.YNAB_SAVINGS].deleted = True
    [savings] = world.add_payments([w.payment(12, "-2.00")])

    report = world.run()

    assert report.failed == {}
    assert world.queue()[savings["id"]]["reason_code"] == "account_not_linked"


def test_unlinked_then_relinked_account(make_world):
    first = w.payment(11, "-1.00")
    world = make_world(seed_with([first]))
    world.run()

    _set_ynab_note(world, w.PLAN_HOUSEHOLD, w.YNAB_BANK, "IBAN removed")
    [second] = world.add_payments([w.payment(11, "-2.00")])
    report = world.run()

    assert list(report.skipped) == [second["id"]]
    queue = world.queue()
    assert queue[first["id"]]["status"] == "synced"
    assert queue[second["id"]]["reason_code"] == "account_not_linked"
    assert _amounts_in(world, w.YNAB_BANK) == [-1000]

    _set_ynab_note(world, w.PLAN_HOUSEHOLD, w.YNAB_BANK, w.IBAN_BANK)
    report = world.run()

    assert report.requeued == [second["id"]]
    assert report.created == [second["id"]]
    assert _amounts_in(world, w.YNAB_BANK) == [-2000, -1000]
    assert set(import_id_counts(world).values()) == {1}


def test_start_date_forward_then_back(make_world):
    from bunq_ynab.settings import Settings

    now = dt.datetime.now(dt.UTC)
    old = w.payment(11, "-1.00", created=now - dt.timedelta(days=10))
    world = make_world(seed_with([old]))
    world.run()

    later_old, recent = world.add_payments(
        [
            w.payment(11, "-2.00", created=now - dt.timedelta(days=5)),
            w.payment(11, "-3.00", created=now - dt.timedelta(days=1)),
        ]
    )
    forward = Settings(start_date=(now - dt.timedelta(days=3)).date())
    report = world.run(settings=forward)

    assert list(report.skipped) == [later_old["id"]]
    assert report.created == [recent["id"]]
    assert world.queue()[old["id"]]["status"] == "synced"  # already synced: left alone

    report = world.run(settings=Settings())

    assert report.requeued == [later_old["id"]]
    assert report.created == [later_old["id"]]
    assert _amounts_in(world, w.YNAB_BANK) == [-3000, -2000, -1000]
    assert set(import_id_counts(world).values()) == {1}


def test_user_entered_twin_is_matched_once(make_world, yesterday):
    payment = w.payment(11, "-24.95", created=yesterday, counterparty_name="Albert Heijn 1234")
    seed = seed_with([payment])
    seed["ynab"]["plans"][0]["transactions"] = [
        {
            "account_id": w.YNAB_BANK,
            "date": yesterday.date().isoformat(),
            "amount": -24950,
            "payee_name": "Albert Heijn",
            "memo": "typed in by hand",
            "approved": True,
        }
    ]
    world = make_world(seed)

    world.run()
    world.ynab_emulator.reset_counts()
    rerun = world.run()
    forced = world.sync(payment_ids=[payment["id"]], force=True)

    visible = world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)
    assert len(visible) == 1
    assert visible[0]["memo"] == "typed in by hand"
    assert visible[0]["import_id"] == f"bunq:{payment['id']}"
    assert rerun.created == []
    assert forced.created == []
    assert world.ynab_emulator.request_counts[POST_TRANSACTIONS] == 0
    assert world.queue()[payment["id"]]["status"] == "synced"
