"""Unusual and malformed bunq payments: what gets stored, queued and sent to YNAB."""

from __future__ import annotations

import datetime as dt
import json
import re

from tests.adversarial.support import extract_with, seed_with, statuses
from tests.integration import world as w

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _by_import_id(world, plan_id: str = w.PLAN_HOUSEHOLD) -> dict[str, dict]:
    return {t["import_id"]: t for t in world.created(plan_id)}


def test_nul_in_description_blocks_nothing_else(make_world):
    # Accounts are listed newest first (13, 12, 11), so the joint account comes first.
    poisoned = w.payment(13, "-4.00", description="Tikkie\x00 voor de pizza")
    savings = w.payment(12, "-5.00")
    bank = w.payment(11, "-6.00")
    world = make_world(seed_with([poisoned, savings, bank]))

    world.extract()

    queued = world.queue()
    assert savings["id"] in queued
    assert bank["id"] in queued
    world.sync()
    [shared] = world.created(w.PLAN_SHARED)
    assert "\x00" not in shared["memo"]


def test_lone_surrogate_blocks_nothing_else(make_world, monkeypatch):
    poisoned = w.payment(13, "-4.00", description="to be replaced")
    savings = w.payment(12, "-5.00")
    bank = w.payment(11, "-6.00")
    world = make_world(seed_with([poisoned, savings, bank]))
    client = world.bunq_client()
    original_get = client._get

    # The emulator cannot send a lone surrogate, so the parsed response gets one here, as
    # json.loads returns it for a description that was cut in the middle of an emoji.
    def get_with_half_emoji(path, params):
        body = original_get(path, params)
        for item in body.get("Response") or []:
            payment = item.get("Payment") or {}
            if payment.get("id") == poisoned["id"]:
                payment["description"] = json.loads('"Pizza \\ud83d"')
        return body

    monkeypatch.setattr(client, "_get", get_with_half_emoji)

    extract_with(world, client)

    queued = world.queue()
    assert poisoned["id"] in queued
    assert savings["id"] in queued
    assert bank["id"] in queued


def test_amount_with_extra_decimals_not_rounded(make_world):
    three = w.payment(11, "-1.00")
    three["amount"] = {"value": "-1.005", "currency": "EUR"}
    four = w.payment(11, "-1.00")
    four["amount"] = {"value": "-2.0004", "currency": "EUR"}
    world = make_world(seed_with([three, four]))

    world.run()

    # An amount may reach YNAB only exactly, or else the payment fails with a reason.
    created = _by_import_id(world)
    queue = world.queue()
    three_decimals = created.get(f"bunq:{three['id']}")
    if three_decimals is None:
        assert queue[three["id"]]["status"] == "failed"
        assert "decimals" in queue[three["id"]]["reason"]
    else:
        assert three_decimals["amount"] == -1005
    # Milliunits cannot hold -2.0004 at all.
    assert f"bunq:{four['id']}" not in created
    assert queue[four["id"]]["status"] == "failed"
    assert "decimals" in queue[four["id"]]["reason"]


def test_odd_payloads_sync_with_clean_fields(make_world):
    no_alias = w.payment(11, "-1.00")
    del no_alias["counterparty"]
    no_alias["counterparty_alias"] = None
    nameless = w.payment(11, "-2.00", counterparty_name="")
    long_text = "Bestelling 🍕\x07 nr\t12\n" * 60  # about 1,100 characters with emoji
    long_memo = w.payment(11, "-3.00", description=long_text, counterparty_name="😀" * 300)
    zero = w.payment(11, "0.00", description="Card check")
    refund = w.payment(11, "19.99", description="Refund order 991", payment_type="MASTERCARD")
    only_control = w.payment(11, "-4.00", description="\x01\x02\x1f")
    payments = [no_alias, nameless, long_memo, zero, refund, only_control]
    world = make_world(seed_with(payments))

    report = world.run()

    assert report.failed == {}
    assert set(statuses(world).values()) == {"synced"}
    created = _by_import_id(world)
    assert len(created) == len(payments)
    amounts = {p["id"]: created[f"bunq:{p['id']}"]["amount"] for p in payments}
    assert amounts == {
        no_alias["id"]: -1000,
        nameless["id"]: -2000,
        long_memo["id"]: -3000,
        zero["id"]: 0,
        refund["id"]: 19990,
        only_control["id"]: -4000,
    }
    long_transaction = created[f"bunq:{long_memo['id']}"]
    assert len(long_transaction["memo"]) <= 500
    assert long_transaction["memo"].startswith("Bestelling 🍕 nr 12 Bestelling")
    assert not _CONTROL.search(long_transaction["memo"])
    assert long_transaction["payee_name"] == "😀" * 200
    assert created[f"bunq:{nameless['id']}"]["payee_name"] is None
    assert created[f"bunq:{only_control['id']}"]["memo"] is None


def test_unsyncable_payments_fail_with_reason(make_world):
    dollars = w.payment(11, "-1.00")
    dollars["currency"] = "USD"
    ancient = w.payment(11, "-2.00", created=dt.datetime.now(dt.UTC) - dt.timedelta(days=6 * 366))
    fine = w.payment(11, "-3.00")
    world = make_world(seed_with([dollars, ancient, fine]))

    report = world.run()

    queue = world.queue()
    assert queue[dollars["id"]]["status"] == "failed"
    assert "USD" in queue[dollars["id"]]["reason"]
    assert queue[ancient["id"]]["status"] == "failed"
    assert "5 years" in queue[ancient["id"]]["reason"]
    assert queue[fine["id"]]["status"] == "synced"
    assert report.created == [fine["id"]]
    assert list(_by_import_id(world)) == [f"bunq:{fine['id']}"]
