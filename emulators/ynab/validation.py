"""Checks on the transaction fields of POST, PATCH and PUT bodies, worded like YNAB's errors.

YNAB rejects a whole request when any item is invalid and joins the messages with ", ", each
ending in "(index: N)". The date and account messages are YNAB's own wording as seen in
public bug reports, and the other messages follow their style.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from emulators.ynab.models import CLEARED_STATUSES, FLAG_COLORS

if TYPE_CHECKING:
    from emulators.ynab.plan import Plan

MAX_MEMO_LENGTH = 500
MAX_PAYEE_NAME_LENGTH = 200
MAX_IMPORT_ID_LENGTH = 36
MAX_DATE_AGE_YEARS = 5
# YNAB does not say in which time zone it decides that a date is "in the future". A payment
# made just after midnight in Amsterdam is still "yesterday" in UTC and in the US, so the
# emulator accepts dates up to one day after its own local date.
FUTURE_DATE_LENIENCY = timedelta(days=1)

UUID_FORMAT = "must be formatted as a uuid (universally unique identifier)"
DATE_RANGE = "date must not be in the future or over 5 years ago"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPTIONAL_ID_FIELDS = (("payee_id", "payee"), ("category_id", "category"))
_TEXT_FIELDS = (
    ("memo", MAX_MEMO_LENGTH),
    ("payee_name", MAX_PAYEE_NAME_LENGTH),
    ("import_id", MAX_IMPORT_ID_LENGTH),
)


def is_uuid(value: Any) -> bool:
    """Return whether ``value`` is a string in UUID form."""
    if not isinstance(value, str):
        return False

    try:
        uuid.UUID(value)
    except ValueError:
        return False

    return True


def parse_iso_date(value: Any) -> date | None:
    """Return ``value`` as a date if it is a "YYYY-MM-DD" string of a real day, else None."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None

    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def years_before(day: date, years: int) -> date:
    """Return the same calendar day ``years`` earlier, 28 February for a 29 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def is_integer(value: Any) -> bool:
    """Return whether ``value`` is a JSON integer (``true`` and ``1.0`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_transaction(
    item: Any,
    index: int,
    plan: Plan,
    today: date | None,
    *,
    require_core: bool,
) -> tuple[dict, list[str]]:
    """Check one transaction object and return its normalised fields and its error messages.

    ``require_core`` makes ``account_id``, ``date`` and ``amount`` mandatory, as on create.
    ``today`` None skips the date range check, which seeds need for old history. The
    returned dict holds only the fields present in ``item``, UUIDs in lower case.
    """
    errors: list[str] = []

    def fail(message: str) -> None:
        errors.append(f"{message} (index: {index})")

    if not isinstance(item, dict):
        fail("transaction must be an object")
        return {}, errors

    fields: dict[str, Any] = {}
    _check_account(item, plan, require_core, fields, fail)
    _check_date(item, today, require_core, fields, fail)

    amount = item.get("amount")
    if amount is None:
        if require_core:
            fail("amount is required")
    elif not is_integer(amount):
        fail("amount must be an integer in milliunits")
    else:
        fields["amount"] = amount

    for key, label in _OPTIONAL_ID_FIELDS:
        if key in item:
            _check_reference(item[key], key, label, plan, fields, fail)

    for key, max_length in _TEXT_FIELDS:
        if key not in item or item[key] is None:
            if key in item:
                fields[key] = None
            continue

        value = item[key]
        if not isinstance(value, str):
            fail(f"{key} must be a string")
        elif len(value) > max_length:
            fail(f"{key} must not be longer than {max_length} characters")
        else:
            fields[key] = value

    if fields.get("import_id") == "":
        fields["import_id"] = None

    _check_flags(item, fields, fail)

    if item.get("subtransactions"):
        subtransactions = _check_subtransactions(item["subtransactions"], plan, fail)
        if subtransactions is not None:
            fields["subtransactions"] = subtransactions
            total = sum(sub["amount"] for sub in subtransactions)
            if "amount" in fields and total != fields["amount"]:
                fail("subtransaction amounts must add up to the transaction amount")

    return fields, errors


def _check_account(item, plan, require_core, fields, fail) -> None:
    account_id = item.get("account_id")
    if account_id is None:
        if require_core:
            fail("account_id is required")
        return

    if not is_uuid(account_id):
        fail(f"account {UUID_FORMAT}")
        return

    account = plan.accounts.get(account_id.lower())
    if account is None or account.deleted:
        fail("account not found")
        return

    fields["account_id"] = account.id


def _check_date(item, today, require_core, fields, fail) -> None:
    raw = item.get("date")
    if raw is None:
        if require_core:
            fail("date is required")
        return

    day = parse_iso_date(raw)
    if day is None:
        fail("date must be a valid date in ISO format (YYYY-MM-DD)")
        return

    if today is not None:
        too_new = day > today + FUTURE_DATE_LENIENCY
        too_old = day < years_before(today, MAX_DATE_AGE_YEARS)
        if too_new or too_old:
            fail(DATE_RANGE)
            return

    fields["date"] = day.isoformat()


def _check_reference(value, key, label, plan, fields, fail) -> None:
    if value is None:
        fields[key] = None
        return

    if not is_uuid(value):
        fail(f"{label} {UUID_FORMAT}")
        return

    entity = (plan.payees if key == "payee_id" else plan.categories).get(value.lower())
    if entity is None or entity.deleted:
        fail(f"{label} not found")
        return

    fields[key] = entity.id


def _check_flags(item, fields, fail) -> None:
    if item.get("cleared") is not None:
        if item["cleared"] in CLEARED_STATUSES:
            fields["cleared"] = item["cleared"]
        else:
            fail("cleared must be one of: " + ", ".join(CLEARED_STATUSES))

    if item.get("approved") is not None:
        if isinstance(item["approved"], bool):
            fields["approved"] = item["approved"]
        else:
            fail("approved must be true or false")

    if "flag_color" in item:
        color = item["flag_color"]
        if color is None or color in FLAG_COLORS:
            fields["flag_color"] = color or None
        else:
            fail("flag_color must be one of: red, orange, yellow, green, blue, purple")


def _check_subtransactions(raw, plan, fail) -> list[dict] | None:
    if not isinstance(raw, list):
        fail("subtransactions must be an array")
        return None

    failures: list[str] = []

    def fail_subtransaction(message: str) -> None:
        failures.append(message)
        fail(f"subtransaction {message}")

    checked: list[dict] = []
    for sub in raw:
        if not isinstance(sub, dict):
            fail_subtransaction("must be an object")
            continue

        fields: dict[str, Any] = {}
        if is_integer(sub.get("amount")):
            fields["amount"] = sub["amount"]
        else:
            fail_subtransaction("amount must be an integer in milliunits")

        for key, label in _OPTIONAL_ID_FIELDS:
            if key in sub:
                _check_reference(sub[key], key, label, plan, fields, fail_subtransaction)

        for key, max_length in (("memo", MAX_MEMO_LENGTH), ("payee_name", MAX_PAYEE_NAME_LENGTH)):
            value = sub.get(key)
            if value is None:
                continue
            if isinstance(value, str) and len(value) <= max_length:
                fields[key] = value
            else:
                fail_subtransaction(f"{key} must be a string of at most {max_length} characters")

        checked.append(fields)

    return None if failures else checked
