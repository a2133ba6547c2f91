"""Labelled training data per YNAB plan: bunq payments paired with the category of their YNAB row.

Pairs come from two sources. The exact link is the one the sync records: the queue's
``ynab_transaction_id``, or the transaction's ``import_id``. History from before the product ran
has no such link, so payments of a linked bunq account are matched to transactions of the linked
YNAB account on the exact milliunit amount and the local calendar date. Each payment and each
transaction is used at most once.

The label is the category the transaction has now, because ``ynab_transaction`` is kept current
by delta reads, so a category the user fixed later is the one the model learns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from bunq_ynab.classification.records import (
    DEFAULT_TIMEZONE,
    as_zone,
    clean_counterparty_name,
    clean_description,
    local_datetime,
    payment_features,
)
from bunq_ynab.storage import Database

log = logging.getLogger(__name__)

# The sync creates YNAB transactions with import_id "bunq:<payment id>".
IMPORT_ID_PREFIX = "bunq:"
DEFAULT_MIN_EXAMPLES = 3
STARTING_BALANCE_PAYEE = "Starting Balance"
# YNAB's internal income category; unlike the other internal categories it is a real label.
READY_TO_ASSIGN_NAMES = frozenset({"Inflow: Ready to Assign", "Ready to Assign"})

__all__ = [
    "DEFAULT_MIN_EXAMPLES",
    "Dataset",
    "DatasetReport",
    "IMPORT_ID_PREFIX",
    "load_dataset",
    "payment_features",
]


@dataclasses.dataclass
class DatasetReport:
    """Counts of how a plan's payments became training examples, per rule."""

    payments: int = 0  # payments that belong to the plan
    transactions: int = 0  # YNAB transactions of the plan, deleted ones included
    exact_links: int = 0  # pairs through the queue's transaction id or the import_id
    matched: int = 0  # pairs found by amount and local date
    tied_groups: int = 0  # (account, amount, date) groups with more than one possible pairing
    tied_pairs: int = 0  # pairs chosen inside such groups by the tie-break
    unmatched_payments: int = 0
    excluded: dict[str, int] = dataclasses.field(default_factory=dict)  # rule -> pairs
    dropped_categories: dict[str, int] = dataclasses.field(default_factory=dict)  # name -> pairs
    examples: int = 0
    categories: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Dataset:
    """Training examples of one plan, ordered by payment id."""

    plan_id: str
    plan_name: str
    rows: list[dict[str, str]]  # payment feature records, see records.FEATURE_COLUMNS
    labels: list[str]  # YNAB category ids, one per row
    payment_ids: list[int]
    transaction_ids: list[str]
    category_names: dict[str, str]  # category id -> current name, for the labels present
    report: DatasetReport

    def __len__(self) -> int:
        return len(self.rows)


def load_dataset(
    db: Database,
    plan_id: str,
    *,
    tz: str | dt.tzinfo = DEFAULT_TIMEZONE,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    include_unapproved: bool = False,
) -> Dataset:
    """Build the labelled dataset of one plan.

    Args:
        db: The app database.
        plan_id: The YNAB plan id.
        tz: Time zone for the local calendar date of a payment (bunq sends UTC).
        min_examples: Categories with fewer examples are dropped and reported by name.
        include_unapproved: Keep transactions the user has not approved yet. They are excluded by
            default because their category may still be the model's own guess.

    Raises:
        LookupError: The plan is not in ``ynab_plan``.
    """
    plans = db.query("training_plan", {"plan_id": plan_id})
    if not plans:
        raise LookupError(f"YNAB plan {plan_id!r} not found in ynab_plan")
    zone = as_zone(tz)
    payments = db.query("training_payments", {"plan_id": plan_id})
    transactions = db.query("training_transactions", {"plan_id": plan_id})
    report = DatasetReport(payments=len(payments), transactions=len(transactions))

    pairs = _link_exactly(payments, transactions, report)
    linked_payments = {payment["id"] for payment, _ in pairs}
    linked_transactions = {transaction["id"] for _, transaction in pairs}
    pairs += _match_history(
        [p for p in payments if p["id"] not in linked_payments],
        [t for t in transactions if t["id"] not in linked_transactions],
        zone,
        report,
    )
    report.unmatched_payments = report.payments - len(pairs)

    labelled = _apply_exclusions(pairs, report, include_unapproved=include_unapproved)
    labelled = _drop_rare_categories(labelled, min_examples, report)
    labelled.sort(key=lambda pair: pair[0]["id"])

    category_names = {t["category_id"]: t["category_name"] or t["category_id"] for _, t in labelled}
    report.examples = len(labelled)
    report.categories = len(category_names)
    log.info("Dataset of plan %s: %s", plan_id, report.as_dict())
    return Dataset(
        plan_id=plan_id,
        plan_name=plans[0]["name"],
        rows=[payment_features(payment, zone) for payment, _ in labelled],
        labels=[transaction["category_id"] for _, transaction in labelled],
        payment_ids=[payment["id"] for payment, _ in labelled],
        transaction_ids=[transaction["id"] for _, transaction in labelled],
        category_names=category_names,
        report=report,
    )


Row = Mapping[str, Any]
Pair = tuple[Row, Row]


def _link_exactly(
    payments: list[Row], transactions: list[Row], report: DatasetReport
) -> list[Pair]:
    """Pair payments with the transaction the sync created for them."""
    by_id = {t["id"]: t for t in transactions}
    by_import_id: dict[str, Row] = {}
    for transaction in transactions:
        import_id = transaction["import_id"]
        # A deleted row may share the import_id of the live one that replaced it.
        if import_id and (import_id not in by_import_id or not transaction["deleted"]):
            by_import_id[import_id] = transaction

    pairs: list[Pair] = []
    used: set[str] = set()
    for payment in payments:
        transaction = by_id.get(payment["queue_transaction_id"])
        if transaction is None and payment["queue_import_id"]:
            transaction = by_import_id.get(payment["queue_import_id"])
        if transaction is None:
            transaction = by_import_id.get(f"{IMPORT_ID_PREFIX}{payment['id']}")
        if transaction is None or transaction["id"] in used:
            continue
        used.add(transaction["id"])
        pairs.append((payment, transaction))
    report.exact_links = len(pairs)
    return pairs


def _match_history(
    payments: list[Row], transactions: list[Row], zone: dt.tzinfo, report: DatasetReport
) -> list[Pair]:
    """Pair payments and transactions on (linked YNAB account, milliunit amount, local date).

    Inside a group with more than one possible pairing, pairs are chosen greedily by how similar
    the counterparty name and description are to the payee name and memo. Equal similarities go
    by payment time and id, then transaction id, so the result does not depend on row order.
    """
    payments_by_key: dict[tuple, list[Row]] = defaultdict(list)
    for payment in payments:
        if payment["ynab_account_id"] is None:
            continue
        key = (
            payment["ynab_account_id"],
            _milliunits(payment["amount"]),
            local_datetime(payment["created"], zone).date(),
        )
        payments_by_key[key].append(payment)

    transactions_by_key: dict[tuple, list[Row]] = defaultdict(list)
    for transaction in transactions:
        import_id = transaction["import_id"] or ""
        # Rows the sync created belong to their own payment, which was not found among these.
        if transaction["deleted"] or import_id.startswith(IMPORT_ID_PREFIX):
            continue
        key = (transaction["account_id"], transaction["amount"], transaction["date"])
        transactions_by_key[key].append(transaction)

    pairs: list[Pair] = []
    for key in sorted(payments_by_key.keys() & transactions_by_key.keys(), key=repr):
        group_payments = sorted(payments_by_key[key], key=lambda p: (p["created"], p["id"]))
        group_transactions = sorted(transactions_by_key[key], key=lambda t: t["id"])
        if len(group_payments) == 1 and len(group_transactions) == 1:
            pairs.append((group_payments[0], group_transactions[0]))
            continue
        chosen = _break_tie(group_payments, group_transactions)
        report.tied_groups += 1
        report.tied_pairs += len(chosen)
        pairs += chosen
    report.matched = len(pairs)
    return pairs


def _break_tie(payments: list[Row], transactions: list[Row]) -> list[Pair]:
    candidates = []
    for payment_rank, payment in enumerate(payments):
        for transaction_rank, transaction in enumerate(transactions):
            similarity = _similarity(payment, transaction)
            candidates.append((-similarity, payment_rank, transaction_rank))
    candidates.sort()
    used_payments: set[int] = set()
    used_transactions: set[int] = set()
    chosen: list[Pair] = []
    for _, payment_rank, transaction_rank in candidates:
        if payment_rank in used_payments or transaction_rank in used_transactions:
            continue
        used_payments.add(payment_rank)
        used_transactions.add(transaction_rank)
        chosen.append((payments[payment_rank], transactions[transaction_rank]))
    return chosen


def _similarity(payment: Row, transaction: Row) -> float:
    name = _ratio(
        clean_counterparty_name(payment["counterparty_name"] or ""),
        clean_counterparty_name(transaction["payee_name"] or ""),
    )
    text = _ratio(
        clean_description(payment["description"] or ""),
        clean_description(transaction["memo"] or ""),
    )
    return max(name, text)


def _ratio(first: str, second: str) -> float:
    """Return difflib's similarity of two strings, or 0.0 when either is empty."""
    if not first or not second:
        return 0.0
    return difflib.SequenceMatcher(None, first, second).ratio()


def _milliunits(amount: Decimal | str) -> int:
    value = Decimal(str(amount)) * 1000
    if value != value.to_integral_value():
        raise ValueError(f"amount {amount} has more than three decimals")
    return int(value)


def _exclusion_rule(transaction: Row, *, include_unapproved: bool) -> str | None:
    """Return why a transaction cannot be a training label, or None when it can."""
    if transaction["deleted"]:
        return "deleted"
    if transaction["is_split"]:
        return "split"
    if transaction["transfer_account_id"] is not None:
        return "transfer"
    if (transaction["payee_name"] or "").strip() == STARTING_BALANCE_PAYEE:
        return "starting_balance"
    if transaction["category_id"] is None:
        return "uncategorised"
    if transaction["category_internal"] and transaction["category_name"] not in (
        READY_TO_ASSIGN_NAMES
    ):
        return "internal_category"
    if transaction["category_deleted"]:
        return "deleted_category"
    if not include_unapproved and not transaction["approved"]:
        return "unapproved"
    return None


def _apply_exclusions(
    pairs: Iterable[Pair], report: DatasetReport, *, include_unapproved: bool
) -> list[Pair]:
    labelled: list[Pair] = []
    excluded: Counter[str] = Counter()
    for payment, transaction in pairs:
        rule = _exclusion_rule(transaction, include_unapproved=include_unapproved)
        if rule is None:
            labelled.append((payment, transaction))
        else:
            excluded[rule] += 1
    report.excluded = dict(sorted(excluded.items()))
    return labelled


def _drop_rare_categories(
    pairs: list[Pair], min_examples: int, report: DatasetReport
) -> list[Pair]:
    counts = Counter(transaction["category_id"] for _, transaction in pairs)
    rare = {category for category, count in counts.items() if count < min_examples}
    if not rare:
        return pairs
    names = {t["category_id"]: t["category_name"] or t["category_id"] for _, t in pairs}
    name_counts = Counter(names.values())
    for category in sorted(rare, key=lambda category: (names[category], category)):
        # Two category groups may each have a category of that name, so the id is added.
        name = names[category]
        key = name if name_counts[name] == 1 else f"{name} [{category}]"
        report.dropped_categories[key] = counts[category]
    log.info(
        "Dropped %d categories with fewer than %d examples: %s",
        len(rare),
        min_examples,
        ", ".join(f"{name} ({count})" for name, count in report.dropped_categories.items()),
    )
    return [pair for pair in pairs if pair[1]["category_id"] not in rare]
