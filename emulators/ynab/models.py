"""The YNAB entities the emulator stores, and the currency formats it reports.

Every entity carries ``knowledge``: the plan's server knowledge at the write that last changed
it. Delta requests (``last_knowledge_of_server=N``) return the entities whose knowledge is
greater than N.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# Base namespace of every deterministic id the emulator makes, so a seed without ids loads
# with the same ids every time.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bunq-ynab-airflow:ynab-emulator")

ACCOUNT_TYPES = frozenset(
    {
        "checking",
        "savings",
        "cash",
        "creditCard",
        "lineOfCredit",
        "otherAsset",
        "otherLiability",
        "mortgage",
        "autoLoan",
        "studentLoan",
        "personalLoan",
        "medicalDebt",
        "otherDebt",
    }
)
# Account types that YNAB puts on budget when the seed does not say.
ON_BUDGET_ACCOUNT_TYPES = frozenset({"checking", "savings", "cash", "creditCard", "lineOfCredit"})

CLEARED_STATUSES = ("cleared", "uncleared", "reconciled")
FLAG_COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "")

# Payees YNAB creates in every new plan.
BUILTIN_PAYEES = (
    "Starting Balance",
    "Manual Balance Adjustment",
    "Reconciliation Balance Adjustment",
)

INTERNAL_GROUP_NAME = "Internal Master Category"
READY_TO_ASSIGN_NAME = "Inflow: Ready to Assign"
UNCATEGORIZED_NAME = "Uncategorized"
CREDIT_CARD_GROUP_NAME = "Credit Card Payments"
# YNAB gives a split's parent a special category that no category list contains.
SPLIT_CATEGORY_NAME = "Split"

CURRENCY_FORMATS: dict[str, dict] = {
    "EUR": {
        "iso_code": "EUR",
        "example_format": "123.456,78",
        "decimal_digits": 2,
        "decimal_separator": ",",
        "symbol_first": True,
        "group_separator": ".",
        "currency_symbol": "€",
        "display_symbol": True,
    },
    "USD": {
        "iso_code": "USD",
        "example_format": "123,456.78",
        "decimal_digits": 2,
        "decimal_separator": ".",
        "symbol_first": True,
        "group_separator": ",",
        "currency_symbol": "$",
        "display_symbol": True,
    },
    "GBP": {
        "iso_code": "GBP",
        "example_format": "123,456.78",
        "decimal_digits": 2,
        "decimal_separator": ".",
        "symbol_first": True,
        "group_separator": ",",
        "currency_symbol": "£",
        "display_symbol": True,
    },
}

# Date format per currency for plans whose seed names none. YNAB stores one per plan.
DATE_FORMATS = {"EUR": "DD-MM-YYYY", "USD": "MM/DD/YYYY", "GBP": "DD/MM/YYYY"}


def stable_uuid(*parts: object) -> str:
    """Return a UUID derived from ``parts`` alone, the same on every run."""
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def currency_format_for(iso_code: str) -> dict:
    """Return the YNAB currency format of ``iso_code``, a plain one for unknown codes."""
    if iso_code in CURRENCY_FORMATS:
        return dict(CURRENCY_FORMATS[iso_code])

    return {
        "iso_code": iso_code,
        "example_format": "123,456.78",
        "decimal_digits": 2,
        "decimal_separator": ".",
        "symbol_first": False,
        "group_separator": ",",
        "currency_symbol": iso_code,
        "display_symbol": True,
    }


def format_amount(milliunits: int, currency_format: dict) -> str:
    """Format milliunits the way the plan shows money, e.g. -24950 in EUR as "-€24,95".

    NOTE: YNAB documents the ``*_formatted`` fields only as "formatted in the plan's currency
    format", so the placement of the minus sign and of the symbol here is a guess.
    """
    digits = currency_format["decimal_digits"]
    value = abs(Decimal(milliunits) / 1000).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    whole, _, fraction = f"{value:f}".partition(".")
    number = f"{int(whole):,}".replace(",", currency_format["group_separator"])
    if digits:
        number += currency_format["decimal_separator"] + fraction

    if currency_format["display_symbol"]:
        symbol = currency_format["currency_symbol"]
        number = symbol + number if currency_format["symbol_first"] else number + symbol

    return "-" + number if milliunits < 0 else number


def amount_currency(milliunits: int) -> float | int:
    """Return milliunits as a decimal currency amount, as the ``*_currency`` fields carry it."""
    value = Decimal(milliunits) / 1000
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class Account:
    id: str
    name: str
    type: str
    on_budget: bool
    closed: bool
    note: str | None
    transfer_payee_id: str
    # Balance before the first stored transaction. It is not a transaction of its own.
    opening_balance: int = 0
    deleted: bool = False
    direct_import_linked: bool = False
    last_reconciled_at: str | None = None
    knowledge: int = 0


@dataclass
class CategoryGroup:
    id: str
    name: str
    hidden: bool = False
    internal: bool = False
    deleted: bool = False
    knowledge: int = 0


@dataclass
class Category:
    id: str
    category_group_id: str
    name: str
    hidden: bool = False
    internal: bool = False
    note: str | None = None
    # Amounts of the current month, copied from the seed. Transactions do not change them.
    budgeted: int = 0
    activity: int = 0
    balance: int = 0
    goal_type: str | None = None
    goal_target: int | None = None
    deleted: bool = False
    knowledge: int = 0


@dataclass
class Payee:
    id: str
    name: str
    transfer_account_id: str | None = None
    deleted: bool = False
    knowledge: int = 0


@dataclass
class SubTransaction:
    id: str
    transaction_id: str
    amount: int
    memo: str | None = None
    payee_id: str | None = None
    category_id: str | None = None
    deleted: bool = False


@dataclass
class Transaction:
    id: str
    account_id: str
    date: str
    amount: int
    memo: str | None = None
    cleared: str = "uncleared"
    approved: bool = False
    flag_color: str | None = None
    flag_name: str | None = None
    payee_id: str | None = None
    category_id: str | None = None
    transfer_account_id: str | None = None
    transfer_transaction_id: str | None = None
    matched_transaction_id: str | None = None
    import_id: str | None = None
    import_payee_name: str | None = None
    import_payee_name_original: str | None = None
    debt_transaction_type: str | None = None
    deleted: bool = False
    subtransactions: list[SubTransaction] = field(default_factory=list)
    # An imported transaction that YNAB matched to a user-entered one: it keeps its id but
    # list requests leave it out, because the user-entered transaction is the visible row.
    hidden: bool = False
    knowledge: int = 0
