"""The payment feature record, the model's input, and the text cleaning the model applies to it.

A record is a flat dict of strings built from one ``bunq_payment`` row. The same record is used
for training, for the MLflow input example and signature, and as the columns of the V2 inference
request that MLServer receives. This module uses the standard library only, so DAG files and the
sync can build records without importing scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Amsterdam"

FEATURE_COLUMNS: tuple[str, ...] = (
    "description",
    "counterparty_name",
    "counterparty_iban",
    "amount",  # decimal string, e.g. "-24.95"; negative is money going out
    "payment_type",  # bunq type: MASTERCARD, IDEAL, BUNQ, EBA_SCT, ...
    "sub_type",  # bunq sub_type: PAYMENT, SDD, REQUEST, ...
    "created_local",  # ISO local date and time without offset, e.g. "2026-11-02T09:15:00"
)

# Made-up records, used as the MLflow input example and as the smoke request after a deployment,
# so no real payment data is copied into model artifacts.
EXAMPLE_RECORDS: tuple[dict[str, str], ...] = (
    {
        "description": "ALBERT HEIJN 1234 AMSTERDAM NLD",
        "counterparty_name": "Albert Heijn 1234",
        "counterparty_iban": "",
        "amount": "-24.95",
        "payment_type": "MASTERCARD",
        "sub_type": "PAYMENT",
        "created_local": "2026-11-02T09:15:00",
    },
    {
        "description": "Salaris november 2026",
        "counterparty_name": "Werkgever B.V.",
        "counterparty_iban": "NL91ABNA0417164300",
        "amount": "2850.00",
        "payment_type": "EBA_SCT",
        "sub_type": "SCT",
        "created_local": "2026-11-25T06:00:00",
    },
)

_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[\W_]+")
# Card terminals and payment processors put their own prefix before the merchant name, for
# example "CCV*Bakkerij de Bruin", "SumUp *Koffiebar", "iZ *Kapper" or "PAYPAL *NETFLIX".
_PROCESSOR_PREFIX = re.compile(
    r"^\s*(?:ccv|sumup|zettle|iz|sq|sp|pay\.nl|paypal|pp|bck|msp|mollie)\s*[*_]+\s*",
    re.IGNORECASE,
)
_LEGAL_FORM = re.compile(r"\b(?:b\s?v|n\s?v|vof|gmbh|ltd|inc|llc)\b")


def as_zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    """Return ``tz`` as a tzinfo, looking names such as "Europe/Amsterdam" up in the tz database."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def local_datetime(created: dt.datetime | str, tz: str | dt.tzinfo) -> dt.datetime:
    """Convert a payment's ``created`` timestamp to naive local time in ``tz``.

    bunq timestamps are UTC, so a naive value (or a string without an offset) is read as UTC.
    """
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created.astimezone(as_zone(tz)).replace(tzinfo=None)


def format_amount(amount: Decimal | str | int) -> str:
    """Return an amount as a plain decimal string ("-24.95"), never in exponent notation."""
    if isinstance(amount, float):
        raise TypeError(f"amount must be a Decimal or a decimal string, not the float {amount!r}")
    return format(Decimal(str(amount)), "f")


def payment_features(row: Mapping[str, Any], tz: str | dt.tzinfo = DEFAULT_TIMEZONE) -> dict:
    """Build the feature record of one ``bunq_payment`` row.

    The row needs ``created`` and ``amount``; missing or NULL text columns become "".
    """
    created_local = local_datetime(row["created"], tz)
    return {
        "description": row.get("description") or "",
        "counterparty_name": row.get("counterparty_name") or "",
        "counterparty_iban": row.get("counterparty_iban") or "",
        "amount": format_amount(row["amount"]),
        "payment_type": row.get("payment_type") or "",
        "sub_type": row.get("sub_type") or "",
        "created_local": created_local.isoformat(timespec="seconds"),
    }


def fold_text(text: str) -> str:
    """Lowercase ``text`` and remove accents ("Café" becomes "cafe")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def clean_description(text: str) -> str:
    """Fold a description and replace digits by spaces, so order and terminal numbers drop out."""
    return _NON_WORD.sub(" ", _DIGITS.sub(" ", fold_text(text or ""))).strip()


def clean_counterparty_name(name: str) -> str:
    """Reduce a counterparty name to the words that identify the payee.

    The name is folded, a payment-processor prefix is removed, and digits, punctuation and legal
    forms (B.V., GmbH, ...) are dropped: "CCV*Albert Heijn 1234 B.V." becomes "albert heijn".
    """
    text = _PROCESSOR_PREFIX.sub("", fold_text(name or ""))
    text = _NON_WORD.sub(" ", _DIGITS.sub(" ", text))
    text = _LEGAL_FORM.sub(" ", text)
    return " ".join(text.split())
