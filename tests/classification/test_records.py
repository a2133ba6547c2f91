"""The payment feature record and its text cleaning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bunq_ynab.classification.records import (
    FEATURE_COLUMNS,
    clean_counterparty_name,
    clean_description,
    format_amount,
    payment_features,
)


def _row(**overrides):
    row = {
        "id": 1,
        "created": dt.datetime(2026, 11, 2, 8, 15, tzinfo=dt.UTC),
        "amount": Decimal("-24.95"),
        "description": "ALBERT HEIJN 1234",
        "counterparty_name": "Albert Heijn 1234",
        "counterparty_iban": None,
        "payment_type": "MASTERCARD",
        "sub_type": "PAYMENT",
    }
    row.update(overrides)
    return row


def test_payment_features_keys_and_values():
    record = payment_features(_row(), "Europe/Amsterdam")
    assert tuple(record) == FEATURE_COLUMNS
    assert record["amount"] == "-24.95"
    assert record["counterparty_iban"] == ""
    assert record["created_local"] == "2026-11-02T09:15:00"


def test_payment_features_local_date_crosses_midnight():
    late = _row(created=dt.datetime(2026, 7, 31, 22, 30, tzinfo=dt.UTC))
    assert payment_features(late, "Europe/Amsterdam")["created_local"] == "2026-08-01T00:30:00"
    assert payment_features(late, "UTC")["created_local"] == "2026-07-31T22:30:00"


def test_payment_features_null_text_becomes_empty():
    record = payment_features(_row(description=None, counterparty_name=None, sub_type=None))
    assert record["description"] == ""
    assert record["counterparty_name"] == ""
    assert record["sub_type"] == ""


def test_payment_features_all_strings():
    record = payment_features(_row(amount="1250.5"))
    assert all(isinstance(value, str) for value in record.values())
    assert record["amount"] == "1250.5"


def test_format_amount_rejects_float():
    with pytest.raises(TypeError):
        format_amount(-24.95)


def test_format_amount_no_exponent():
    assert format_amount(Decimal("1E+1")) == "10"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("CCV*Albert Heijn 1234 B.V.", "albert heijn"),
        ("SumUp *Koffiebar De Zon", "koffiebar de zon"),
        ("iZ *Kapsalon Knip", "kapsalon knip"),
        ("PAYPAL *NETFLIX", "netflix"),
        ("Café Ñandú", "cafe nandu"),
        ("Vattenfall Klantenservice N.V.", "vattenfall klantenservice"),
        ("", ""),
    ],
)
def test_clean_counterparty_name(raw, cleaned):
    assert clean_counterparty_name(raw) == cleaned


def test_clean_description_drops_digits():
    assert clean_description("Bestelling 4100123 Thuisbezorgd.nl") == "bestelling thuisbezorgd nl"
