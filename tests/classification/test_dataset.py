"""Building a plan's labelled dataset from the app database."""

from __future__ import annotations

import logging

import pytest

from bunq_ynab.classification.dataset import load_dataset
from tests.classification.support import (
    CHECKING_ACCOUNT_ID,
    PLAN_ID,
    SAVINGS_ACCOUNT_ID,
    Builder,
    local_time,
    milliunits,
)


@pytest.fixture
def builder(ml_db):
    builder = Builder(ml_db)
    builder.plan()
    builder.ynab_account(CHECKING_ACCOUNT_ID)
    builder.ynab_account(SAVINGS_ACCOUNT_ID, name="Savings")
    builder.bunq_account()
    return builder


def _labels_by_payment(dataset):
    return dict(zip(dataset.payment_ids, dataset.labels, strict=True))


def test_import_id_link_wins_over_matching(builder, ml_db):
    groceries = builder.category("Groceries")
    eating_out = builder.category("Eating out")
    created = local_time(2026, 6, 3, 12)
    payment = builder.payment(created, "-18.40", counterparty_name="Albert Heijn 1234")
    # Same amount and date, no import_id: the history match would pick it if linking came second.
    builder.transaction(created.date(), milliunits("-18.40"), eating_out, payee_name="Albert Heijn")
    builder.transaction(
        created.date(),
        milliunits("-18.40"),
        groceries,
        payee_name="Albert Heijn",
        import_id=f"bunq:{payment}",
    )
    builder.queue(payment, import_id=f"bunq:{payment}")

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert _labels_by_payment(dataset) == {payment: groceries}
    assert dataset.report.exact_links == 1
    assert dataset.report.matched == 0


def test_queue_transaction_id_links_despite_edits(builder, ml_db):
    groceries = builder.category("Groceries")
    created = local_time(2026, 6, 3, 12)
    payment = builder.payment(created, "-18.40", counterparty_name="Albert Heijn 1234")
    # The user changed the date and amount in YNAB; the recorded link still holds.
    transaction = builder.transaction(created.date().replace(day=5), -20_000, groceries)
    builder.queue(payment, transaction_id=transaction)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert dataset.transaction_ids == [transaction]
    assert dataset.report.exact_links == 1


def test_import_id_without_queue_row_links(builder, ml_db):
    groceries = builder.category("Groceries")
    created = local_time(2026, 6, 3, 12)
    payment = builder.payment(created, "-18.40")
    builder.transaction(
        created.date(), milliunits("-18.40"), groceries, import_id=f"bunq:{payment}"
    )

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert _labels_by_payment(dataset) == {payment: groceries}
    assert dataset.report.exact_links == 1


def test_history_matches_on_amount_and_local_date(builder, ml_db):
    groceries = builder.category("Groceries")
    eating_out = builder.category("Eating out")
    # 00:30 in Amsterdam on 1 August is 22:30 UTC on 31 July.
    created = local_time(2026, 8, 1, 0, 30)
    payment = builder.payment(created, "-31.00", counterparty_name="Cafe De Zon")
    utc_day = builder.transaction(created.date().replace(month=7, day=31), -31_000, groceries)
    local_day = builder.transaction(created.date(), -31_000, eating_out)

    amsterdam = load_dataset(ml_db, PLAN_ID, min_examples=1)
    utc = load_dataset(ml_db, PLAN_ID, tz="UTC", min_examples=1)

    assert amsterdam.transaction_ids == [local_day]
    assert utc.transaction_ids == [utc_day]
    assert _labels_by_payment(amsterdam) == {payment: eating_out}


def test_history_needs_exact_milliunits(builder, ml_db):
    groceries = builder.category("Groceries")
    created = local_time(2026, 8, 1, 12)
    builder.payment(created, "-31.00")
    builder.transaction(created.date(), -31_010, groceries)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert len(dataset) == 0
    assert dataset.report.unmatched_payments == 1


def test_each_payment_and_transaction_used_once(builder, ml_db):
    coffee = builder.category("Coffee")
    created = local_time(2026, 4, 10, 9)
    payments = [builder.payment(created.replace(hour=9 + i), "-2.50") for i in range(3)]
    transactions = [builder.transaction(created.date(), -2_500, coffee) for _ in range(2)]
    other_day = local_time(2026, 4, 11, 9)
    lone_payment = builder.payment(other_day, "-4.10")
    lone_transactions = [builder.transaction(other_day.date(), -4_100, coffee) for _ in range(2)]

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert len(dataset.payment_ids) == len(set(dataset.payment_ids))
    assert len(dataset.transaction_ids) == len(set(dataset.transaction_ids))
    assert set(dataset.transaction_ids) <= set(transactions) | set(lone_transactions)
    assert sum(p in dataset.payment_ids for p in payments) == 2
    assert lone_payment in dataset.payment_ids
    assert dataset.report.matched == 3
    assert dataset.report.unmatched_payments == 1


def test_ties_counted_and_broken_by_payee(builder, ml_db):
    coffee = builder.category("Coffee")
    bakery = builder.category("Bakery")
    created = local_time(2026, 4, 10, 9)
    coffee_payment = builder.payment(created, "-2.50", counterparty_name="Coffee Company 12")
    bakery_payment = builder.payment(
        created.replace(hour=10), "-2.50", counterparty_name="Bakkerij Bart"
    )
    # Inserted so that pairing by time and id alone would swap the labels.
    builder.transaction(created.date(), -2_500, bakery, payee_name="Bakkerij Bart")
    builder.transaction(created.date(), -2_500, coffee, payee_name="Coffee Company")

    first = load_dataset(ml_db, PLAN_ID, min_examples=1)
    second = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert _labels_by_payment(first) == {coffee_payment: coffee, bakery_payment: bakery}
    assert first.report.tied_groups == 1
    assert first.report.tied_pairs == 2
    assert second.transaction_ids == first.transaction_ids


def test_excluded_kinds_are_excluded(builder, ml_db):
    groceries = builder.category("Groceries")
    ready_to_assign = builder.category("Inflow: Ready to Assign", group="Internal", internal=True)
    uncategorized = builder.category("Uncategorized", group="Internal", internal=True)
    retired = builder.category("Old hobby", deleted=True)
    cases = {
        "uncategorised": dict(category_id=None),
        "split": dict(category_id=None, is_split=True),
        "transfer": dict(category_id=None, transfer_account_id=SAVINGS_ACCOUNT_ID),
        "starting_balance": dict(category_id=ready_to_assign, payee_name="Starting Balance"),
        "internal_category": dict(category_id=uncategorized),
        "deleted": dict(category_id=groceries, deleted=True),
        "deleted_category": dict(category_id=retired),
        "unapproved": dict(category_id=groceries, approved=False),
    }
    created = local_time(2026, 6, 1, 12)
    for number, fields in enumerate(cases.values()):
        payment = builder.payment(created.replace(minute=number), f"-{10 + number}.00")
        transaction = builder.transaction(created.date(), -(10 + number) * 1000, **fields)
        builder.queue(payment, transaction_id=transaction)
    income = builder.payment(created, "2900.00", counterparty_name="Werkgever B.V.")
    income_transaction = builder.transaction(created.date(), 2_900_000, ready_to_assign)
    builder.queue(income, transaction_id=income_transaction)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert dataset.report.excluded == {rule: 1 for rule in sorted(cases)}
    assert _labels_by_payment(dataset) == {income: ready_to_assign}
    assert dataset.category_names == {ready_to_assign: "Inflow: Ready to Assign"}


def test_unapproved_kept_when_asked(builder, ml_db):
    groceries = builder.category("Groceries")
    created = local_time(2026, 6, 1, 12)
    payment = builder.payment(created, "-12.00")
    builder.transaction(created.date(), -12_000, groceries, approved=False)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1, include_unapproved=True)

    assert _labels_by_payment(dataset) == {payment: groceries}


def test_deleted_transaction_not_matched(builder, ml_db):
    groceries = builder.category("Groceries")
    eating_out = builder.category("Eating out")
    created = local_time(2026, 6, 1, 12)
    payment = builder.payment(created, "-12.00")
    builder.transaction(created.date(), -12_000, eating_out, deleted=True, transaction_id="t-0")
    live = builder.transaction(created.date(), -12_000, groceries, transaction_id="t-1")

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert dataset.transaction_ids == [live]
    assert _labels_by_payment(dataset) == {payment: groceries}
    assert dataset.report.tied_groups == 0


def test_label_is_current_category(builder, ml_db):
    groceries = builder.category("Groceries")
    household = builder.category("Household goods")
    created = local_time(2026, 6, 1, 12)
    payment = builder.payment(created, "-42.00", counterparty_name="HEMA")
    transaction = builder.transaction(created.date(), -42_000, groceries, payee_name="HEMA")
    builder.queue(payment, transaction_id=transaction)
    assert load_dataset(ml_db, PLAN_ID, min_examples=1).labels == [groceries]

    builder.set_category(transaction, household)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)
    assert dataset.labels == [household]
    assert dataset.category_names == {household: "Household goods"}


def test_rare_categories_dropped_and_logged(builder, ml_db, caplog):
    groceries = builder.category("Groceries")
    gifts = builder.category("Gifts")
    for day in range(1, 6):
        created = local_time(2026, 6, day, 12)
        builder.payment(created, "-20.00")
        builder.transaction(created.date(), -20_000, groceries)
    for day in range(1, 3):
        created = local_time(2026, 7, day, 12)
        builder.payment(created, "-35.00")
        builder.transaction(created.date(), -35_000, gifts)

    with caplog.at_level(logging.INFO, logger="bunq_ynab.classification.dataset"):
        dataset = load_dataset(ml_db, PLAN_ID, min_examples=3)

    assert set(dataset.labels) == {groceries}
    assert dataset.report.dropped_categories == {"Gifts": 2}
    assert "Gifts (2)" in caplog.text
    assert dataset.report.examples == 5


def test_unlinked_account_is_not_matched(builder, ml_db):
    groceries = builder.category("Groceries")
    builder.bunq_account(4300, plan_id=None, ynab_account_id=None, iban="NL12BUNQ2025000003")
    created = local_time(2026, 6, 1, 12)
    builder.payment(created, "-12.00", account_id=4300)
    builder.transaction(created.date(), -12_000, groceries)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert len(dataset) == 0
    assert dataset.report.payments == 0


def test_other_plans_rows_ignored(builder, ml_db):
    groceries = builder.category("Groceries")
    builder.plan("plan-2", "Other")
    builder.ynab_account("acc-2", "plan-2")
    other_category = builder.category("Groceries", plan_id="plan-2")
    created = local_time(2026, 6, 1, 12)
    payment = builder.payment(created, "-12.00")
    builder.transaction(
        created.date(), -12_000, other_category, plan_id="plan-2", account_id="acc-2"
    )
    builder.transaction(created.date(), -12_000, groceries)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert _labels_by_payment(dataset) == {payment: groceries}


def test_unknown_plan_raises(ml_db):
    with pytest.raises(LookupError, match="not found"):
        load_dataset(ml_db, "no-such-plan")


def test_rows_are_feature_records(builder, ml_db):
    groceries = builder.category("Groceries")
    created = local_time(2026, 6, 1, 23, 45)
    builder.payment(
        created, "-12.00", description="AH 1234", counterparty_iban="NL02ABNA0457000001"
    )
    builder.transaction(created.date(), -12_000, groceries)

    dataset = load_dataset(ml_db, PLAN_ID, min_examples=1)

    assert dataset.rows == [
        {
            "description": "AH 1234",
            "counterparty_name": "",
            "counterparty_iban": "NL02ABNA0457000001",
            "amount": "-12.00",
            "payment_type": "MASTERCARD",
            "sub_type": "PAYMENT",
            "created_local": "2026-06-01T23:45:00",
        }
    ]
