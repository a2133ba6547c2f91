import datetime as dt
from decimal import Decimal

import pytest

from bunq_ynab.settings import Settings
from bunq_ynab.sync.conversion import (
    PaymentRejected,
    build_transaction,
    clean_text,
    import_id_for,
    local_date,
    to_milliunits,
)

UTC = dt.UTC
SETTINGS = Settings()


def payment(**overrides):
    row = {
        "id": 5001,
        "created": dt.datetime(2026, 11, 2, 8, 15, tzinfo=UTC),
        "amount": Decimal("-24.95"),
        "currency": "EUR",
        "description": "AH 1234   Amsterdam\nNLD",
        "counterparty_name": "Albert Heijn 1234",
    }
    row.update(overrides)
    return row


def build(row, **kwargs):
    kwargs.setdefault("plan_id", "plan")
    kwargs.setdefault("account_id", "account")
    kwargs.setdefault("settings", SETTINGS)
    kwargs.setdefault("plan_currency", "EUR")
    kwargs.setdefault("today", dt.date(2026, 12, 4))
    return build_transaction(row, **kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-24.95", -24950), ("0.01", 10), ("1234567.89", 1234567890), ("-7.5", -7500), ("0", 0)],
)
def test_milliunits_exact(value, expected):
    assert to_milliunits(value) == expected


def test_milliunits_decimal_not_float():
    # 0.1 + 0.2 style errors would show up as 299 or 301 with floats.
    assert to_milliunits(Decimal("0.1") + Decimal("0.2")) == 300


@pytest.mark.parametrize("value", ["1.001", "1.0001", "abc", "NaN", "Infinity"])
def test_milliunits_rejects_bad_amounts(value):
    with pytest.raises(PaymentRejected):
        to_milliunits(value)


def test_import_id_is_short_and_stable():
    assert import_id_for(1234567890) == "bunq:1234567890"
    assert len(import_id_for(10**30)) <= 36


def test_import_id_too_long_rejected():
    with pytest.raises(PaymentRejected):
        import_id_for(10**40)


def test_local_date_after_midnight_in_amsterdam():
    # 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Amsterdam (CET, UTC+1).
    created = dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert local_date(created, SETTINGS) == dt.date(2026, 11, 1)


def test_local_date_summer_time():
    # 22:30 UTC on 30 June is 00:30 on 1 July in Amsterdam (CEST, UTC+2).
    created = dt.datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    assert local_date(created, SETTINGS) == dt.date(2026, 7, 1)


def test_local_date_configurable_zone():
    created = dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert local_date(created, Settings(timezone="UTC")) == dt.date(2026, 10, 31)


def test_memo_whitespace_collapsed():
    draft = build(payment())
    assert draft.memo == "AH 1234 Amsterdam NLD"


def test_memo_cut_by_characters():
    text = "é" * 600
    assert clean_text(text, 500) == "é" * 500


def test_control_characters_removed():
    assert clean_text("a\x00b\x07c", 10) == "abc"


def test_empty_description_gives_no_memo():
    assert build(payment(description="   ")).memo is None


def test_defaults_match_predecessor():
    draft = build(payment())
    assert draft.cleared == "uncleared"
    assert draft.approved is False
    assert draft.flag_color == "blue"
    assert draft.category_id is None


def test_configured_cleared_approved_flag():
    settings = Settings(cleared="cleared", approved=True, flag_color=None)
    payload = build(payment(), settings=settings).to_payload()
    assert payload["cleared"] == "cleared"
    assert payload["approved"] is True
    assert "flag_color" not in payload


def test_payload_fields():
    payload = build(payment()).to_payload()
    assert payload == {
        "account_id": "account",
        "date": "2026-11-02",
        "amount": -24950,
        "import_id": "bunq:5001",
        "payee_name": "Albert Heijn 1234",
        "memo": "AH 1234 Amsterdam NLD",
        "cleared": "uncleared",
        "approved": False,
        "flag_color": "blue",
    }


def test_transfer_uses_payee_id_not_name():
    payload = build(payment(), transfer_payee_id="payee-uuid").to_payload()
    assert payload["payee_id"] == "payee-uuid"
    assert "payee_name" not in payload


def test_other_currency_rejected():
    with pytest.raises(PaymentRejected, match="currency USD"):
        build(payment(currency="USD"))


def test_date_older_than_five_years_rejected():
    old = payment(created=dt.datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(PaymentRejected, match="5 years"):
        build(old)


def test_payee_name_cut_to_200():
    draft = build(payment(counterparty_name="x" * 300))
    assert len(draft.payee_name) == 200


def test_missing_counterparty_gives_no_payee():
    assert build(payment(counterparty_name=None)).payee_name is None
