"""Behavioural tests of the fitted pipeline: minimum functionality, invariance and direction.

Each candidate classifier is fitted on the synthetic household, which needs neither a database
nor MLflow.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bunq_ynab.classification.features import to_frame
from bunq_ynab.classification.models import CANDIDATES, LastCategoryBaseline, build_pipeline
from tests.classification.support import INCOME, generate_household

GYM = {
    "description": "Contributie Sportschool Fit Nu lid 20931",
    "counterparty_name": "Sportschool Fit Nu",
    "counterparty_iban": "NL30RABO0312345678",
    "payment_type": "EBA_SDD",
    "sub_type": "SDD",
}
# Salary-like: a large transfer received near the end of the month from a payer never seen, with
# a description that names no category, so only the sign separates income from spending.
SALARY_LIKE = [
    {
        "description": description,
        "counterparty_name": name,
        "counterparty_iban": iban,
        "amount": amount,
        "payment_type": "EBA_SCT",
        "sub_type": "SCT",
        "created_local": created,
    }
    for description, name, iban, amount, created in [
        ("Overboeking", "J. Pietersen", "NL55SNSB0912345678", "2950.00", "2026-10-24T06:00:00"),
        ("Betaling okt", "Stichting Noord", "NL20INGB0001234567", "2710.35", "2026-10-25T07:10:00"),
        ("Transactie 88123", "K. de Wit", "NL71RABO0301234567", "3120.00", "2026-09-23T08:00:00"),
    ]
]
# The same, but the description and payee name suggest a salary, which an outflow is not.
NEW_SALARY = {
    "description": "Salaris 10-2026 werknemer 5521",
    "counterparty_name": "Nieuwe Werkgever B.V.",
    "counterparty_iban": "NL20INGB0001234567",
    "amount": "2950.00",
    "payment_type": "EBA_SCT",
    "sub_type": "SCT",
    "created_local": "2026-10-24T06:00:00",
}


def _negated(record):
    return {**record, "amount": f"-{record['amount']}"}


def _training_data():
    records, labels = [], []
    for payment in generate_household(seed=7):
        if payment.category is not None:
            records.append(payment.record())
            labels.append(payment.category)
    for month in range(1, 21):
        year, month_of_year = divmod(month - 1, 12)
        records.append(
            {
                **GYM,
                "amount": "-29.99",
                "created_local": f"{2025 + year}-{month_of_year + 1:02d}-03T07:00:00",
            }
        )
        labels.append("Personal care")
    return records, labels


@pytest.fixture(scope="module")
def training_data():
    return _training_data()


@pytest.fixture(scope="module", params=CANDIDATES)
def fitted(request, training_data):
    records, labels = training_data
    return build_pipeline(request.param, seed=0).fit(records, labels)


def test_frequent_payee_keeps_category(fitted):
    record = {**GYM, "amount": "-29.99", "created_local": "2026-11-03T07:00:00"}
    assert fitted.predict([record])[0] == "Personal care"


def test_order_number_keeps_prediction(fitted, training_data):
    records, _ = training_data
    with_numbers = [r for r in records if re.search(r"\d", r["description"])][:150]
    renumbered = [
        {**r, "description": re.sub(r"\d", lambda m: str((int(m[0]) + 3) % 10), r["description"])}
        for r in with_numbers
    ]
    assert any(
        a["description"] != b["description"] for a, b in zip(with_numbers, renumbered, strict=True)
    )
    original = fitted.predict_proba(with_numbers)
    changed = fitted.predict_proba(renumbered)
    np.testing.assert_array_equal(original, changed)


def test_sign_flip_moves_salary_to_income(fitted):
    incoming = fitted.predict(SALARY_LIKE)
    outgoing = fitted.predict([_negated(record) for record in SALARY_LIKE])
    assert list(incoming) == [INCOME] * len(SALARY_LIKE)
    assert INCOME not in set(outgoing)


@pytest.mark.parametrize("fitted", ["logistic_regression", "random_forest"], indirect=True)
def test_outgoing_salary_text_is_not_income(fitted):
    # ComplementNB is left out: its text evidence outweighs the sign on this record.
    income, outgoing = fitted.predict([NEW_SALARY, _negated(NEW_SALARY)])
    assert income == INCOME
    assert outgoing != INCOME


def test_pipeline_accepts_frame_and_records(fitted, training_data):
    records, _ = training_data
    sample = records[:20]
    assert list(fitted.predict(sample)) == list(fitted.predict(to_frame(sample)))


def test_unknown_values_do_not_fail(fitted):
    odd = {
        "description": "",
        "counterparty_name": "",
        "counterparty_iban": "",
        "amount": "not a number",
        "payment_type": "NEW_TYPE",
        "sub_type": "",
        "created_local": "",
    }
    probabilities = fitted.predict_proba([odd])
    assert probabilities.shape == (1, len(fitted.classes_))
    assert probabilities.sum() == pytest.approx(1.0)


def test_baseline_uses_last_category_of_payee():
    first = {"counterparty_name": "Albert Heijn 1234", "created_local": "2026-01-01T10:00:00"}
    later = {"counterparty_name": "Albert Heijn 5678", "created_local": "2026-02-01T10:00:00"}
    other = {"counterparty_name": "Jumbo", "created_local": "2026-01-15T10:00:00"}
    extra = {"counterparty_name": "Jumbo", "created_local": "2026-01-16T10:00:00"}
    baseline = LastCategoryBaseline().fit(
        [later, first, other, extra], ["Household", "Groceries", "Groceries", "Groceries"]
    )
    unknown = {"counterparty_name": "Nieuwe Winkel"}
    assert list(baseline.predict([first, other, unknown])) == [
        "Household",
        "Groceries",
        "Groceries",
    ]
