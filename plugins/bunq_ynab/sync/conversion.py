"""Turn one stored bunq payment into the YNAB transaction that represents it.

The conversion is pure: it takes a payment row and its target and returns a
:class:`TransactionDraft`, or raises :class:`PaymentRejected` with a reason a user can act on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bunq_ynab.settings import Settings

IMPORT_ID_PREFIX = "bunq:"
MEMO_MAX_CHARS = 500  # YNAB API limit on memo
PAYEE_NAME_MAX_CHARS = 200  # YNAB API limit on payee_name
IMPORT_ID_MAX_CHARS = 36  # YNAB API limit on import_id
MAX_AGE_YEARS = 5  # YNAB rejects dates more than five years ago

_WHITESPACE = re.compile(r"\s+")
# C0/C1 control characters other than whitespace; YNAB shows them as boxes at best.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class PaymentRejected(ValueError):
    """The payment cannot become a YNAB transaction; the message gives the reason."""


@dataclasses.dataclass(frozen=True)
class TransactionDraft:
    """A YNAB transaction to create, in the SDK's field names."""

    payment_id: int
    plan_id: str
    account_id: str
    date: dt.date
    amount: int  # milliunits
    import_id: str
    payee_name: str | None
    payee_id: str | None  # set for transfers: the other account's transfer_payee_id
    memo: str | None
    cleared: str
    approved: bool
    flag_color: str | None
    category_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON body of this transaction as the YNAB API expects it."""
        payload = {
            "account_id": self.account_id,
            "date": self.date.isoformat(),
            "amount": self.amount,
            "import_id": self.import_id,
            "payee_id": self.payee_id,
            "payee_name": None if self.payee_id else self.payee_name,
            "memo": self.memo,
            "cleared": self.cleared,
            "approved": self.approved,
            "flag_color": self.flag_color,
            "category_id": self.category_id,
        }
        return {key: value for key, value in payload.items() if value is not None}


def import_id_for(payment_id: int) -> str:
    """Return the deterministic YNAB import_id of a bunq payment.

    It is built from the bunq payment id alone, which bunq never changes, so a rerun, a retry or a
    second bunq user who sees the same joint-account payment produce the same id.
    """
    import_id = f"{IMPORT_ID_PREFIX}{int(payment_id)}"
    if len(import_id) > IMPORT_ID_MAX_CHARS:
        raise PaymentRejected(f"payment id {payment_id} is too long for a YNAB import_id")
    return import_id


def to_milliunits(amount: Decimal | str) -> int:
    """Convert a bunq amount such as ``"-24.95"`` to YNAB milliunits exactly (-24950).

    Raises PaymentRejected for a value that is not a finite number with at most two decimals.
    """
    try:
        value = Decimal(str(amount))
    except InvalidOperation as error:
        raise PaymentRejected(f"amount {amount!r} is not a number") from error
    if not value.is_finite():
        raise PaymentRejected(f"amount {amount!r} is not a finite number")
    if value != value.quantize(Decimal("0.01")):
        # bunq amounts are in cents; anything finer is a malformed amount, not money to round.
        raise PaymentRejected(f"amount {amount} has more than two decimals")
    return int(value * 1000)


def local_date(created: dt.datetime, settings: Settings) -> dt.date:
    """Return the user's calendar date of a bunq timestamp (bunq sends UTC)."""
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return created.astimezone(settings.zone).date()


def clean_text(text: str | None, max_chars: int) -> str | None:
    """Collapse whitespace, drop control characters and cut to ``max_chars`` characters."""
    if not text:
        return None
    text = _CONTROL_CHARACTERS.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        return None
    return text[:max_chars].rstrip()


def build_transaction(
    payment: dict[str, Any],
    *,
    plan_id: str,
    account_id: str,
    settings: Settings,
    plan_currency: str | None,
    transfer_payee_id: str | None = None,
    today: dt.date | None = None,
) -> TransactionDraft:
    """Convert a ``bunq_payment`` row into a draft for the linked YNAB account.

    ``transfer_payee_id`` makes the draft a YNAB transfer to the account behind that payee.
    Raises :class:`PaymentRejected` for a payment YNAB would reject or misrepresent.
    """
    currency = payment.get("currency")
    if plan_currency and currency and currency.upper() != plan_currency.upper():
        raise PaymentRejected(
            f"currency {currency} differs from the YNAB plan's currency {plan_currency}"
        )

    amount = to_milliunits(payment["amount"])
    date = local_date(payment["created"], settings)
    today = today or dt.datetime.now(settings.zone).date()
    oldest = _years_before(today, MAX_AGE_YEARS)
    if date < oldest:
        raise PaymentRejected(
            f"date {date} is more than {MAX_AGE_YEARS} years ago; YNAB accepts {oldest} or later"
        )

    return TransactionDraft(
        payment_id=int(payment["id"]),
        plan_id=plan_id,
        account_id=account_id,
        date=min(date, today),
        amount=amount,
        import_id=import_id_for(payment["id"]),
        payee_name=clean_text(payment.get("counterparty_name"), PAYEE_NAME_MAX_CHARS),
        payee_id=transfer_payee_id,
        memo=clean_text(payment.get("description"), MEMO_MAX_CHARS),
        cleared=settings.cleared,
        approved=settings.approved,
        flag_color=settings.flag_color,
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
