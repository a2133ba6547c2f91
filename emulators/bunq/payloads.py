"""Build full bunq JSON objects (user, monetary accounts, payments) from short seed entries.

Field names, nesting and JSON types follow payloads recorded from bunq's sandbox and API
documentation. A seed entry only needs the facts that matter to a test. Every other field
gets a realistic default, and absent objects are `null`, never `{}`.

In every builder, a key of the seed entry that is not one of the documented shorthands is
copied into the output verbatim, replacing the default. This is how a test sends an odd
payload, for example `"amount": {"value": "1.005", "currency": "USD"}` or
`"counterparty_alias": null`.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

# bunq formats every timestamp as UTC "YYYY-MM-DD hh:mm:ss.ffffff".
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

# The default account creation time, so that seeds without timestamps give stable output.
DEFAULT_ACCOUNT_CREATED = "2024-01-15 09:00:00.000000"

DEFAULT_SESSION_TIMEOUT_SECONDS = 604800

# Account type -> the slug of its typed listing endpoint, `user/{id}/monetary-account-<slug>`,
# as bunq-sdk 1.28.0 calls them. Types missing here are listed only by `monetary-account`.
TYPED_ACCOUNT_ENDPOINTS = {
    "MonetaryAccountBank": "bank",
    "MonetaryAccountSavings": "savings",
    "MonetaryAccountJoint": "joint",
    "MonetaryAccountExternal": "external",
    "MonetaryAccountExternalSavings": "external-savings",
    "MonetaryAccountCard": "card",
}

ACCOUNT_TYPES = frozenset(
    {
        *TYPED_ACCOUNT_ENDPOINTS,
        "MonetaryAccountLight",
        "MonetaryAccountInvestment",
        "MonetaryAccountSwitchService",
    }
)

# Account types without a bunq IBAN: they get no generated IBAN and no e-mail pointer.
_TYPES_WITHOUT_BUNQ_IBAN = frozenset({"MonetaryAccountExternal", "MonetaryAccountCard"})

_TYPES_WITH_OVERDRAFT = frozenset({"MonetaryAccountBank", "MonetaryAccountJoint"})

# Payment type -> default sub_type. bunq's own documentation pairs EBA_SCT with SCT.
_DEFAULT_SUB_TYPES = {"EBA_SCT": "SCT", "EBA_SDD": "SDD"}

_ACCOUNT_COLORS = ("#54C7FC", "#FE2851", "#2DD84B", "#FFCC00", "#9E79FF", "#FF8C00")

_UUID_NAMESPACE = uuid.UUID("0a6f7f62-6f1c-4b9a-9d5c-6a1f1c0e5b2d")

_USER_SHORTHANDS = frozenset({"email", "phone_number"})
_ACCOUNT_SHORTHANDS = frozenset(
    {"type", "iban", "balance", "daily_limit", "overdraft_limit", "savings_goal", "co_owners"}
)
_PAYMENT_SHORTHANDS = frozenset({"amount", "currency", "counterparty", "balance_after_mutation"})


def format_timestamp(moment: datetime.datetime) -> str:
    """Format an aware or naive-UTC datetime the way bunq does."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)

    return moment.strftime(TIMESTAMP_FORMAT)


def utc_now_timestamp() -> str:
    return format_timestamp(datetime.datetime.now(datetime.UTC))


def stable_uuid(kind: str, key: object) -> str:
    """Return a UUID that is the same on every run for the same kind and key."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{kind}:{key}"))


def format_amount_value(value: Any) -> str:
    """Return bunq's string form of an amount.

    Numbers are written with two decimals, as bunq does. A string is kept verbatim so that a
    seed can carry malformed values on purpose.
    """
    if isinstance(value, str):
        return value

    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"amount must be a string or a number, got {value!r}")

    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def parse_amount_value(value: Any) -> Decimal | None:
    """Return the amount as a Decimal, or None when it is not a finite number."""
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None

    if not parsed.is_finite():
        return None

    return parsed


def build_amount(value: Any, currency: str) -> dict[str, Any]:
    """Build a bunq Amount object; a dict is taken as a complete Amount and copied verbatim."""
    if isinstance(value, dict):
        return copy.deepcopy(value)

    return {"currency": currency, "value": format_amount_value(value)}


def dutch_iban(bank_code: str, account_number: int) -> str:
    """Return a Dutch IBAN with valid ISO 13616 check digits."""
    bban = f"{bank_code}{account_number:010d}"
    digits = "".join(str(int(char, 36)) for char in bban + "NL00")
    check = 98 - int(digits) % 97

    return f"NL{check:02d}{bban}"


def _avatar(kind: str, key: object) -> dict[str, Any]:
    anchor = stable_uuid(kind, key)

    return {
        "uuid": stable_uuid(f"{kind}-avatar", key),
        "image": [
            {
                "attachment_public_uuid": stable_uuid(f"{kind}-avatar-image", key),
                "height": 1024,
                "width": 1024,
                "content_type": "image/png",
            }
        ],
        "anchor_uuid": anchor,
    }


def _apply_overrides(built: dict[str, Any], entry: dict[str, Any], shorthands: frozenset) -> None:
    for key, value in entry.items():
        if key not in shorthands:
            built[key] = copy.deepcopy(value)


def build_user_person(entry: dict[str, Any]) -> dict[str, Any]:
    """Build a UserPerson object from the seed's `user` entry.

    `id` is required. Shorthands: `email` and `phone_number` become the user's aliases.
    """
    if "id" not in entry:
        raise ValueError("the seed's bunq.user entry needs an 'id'")

    user_id = entry["id"]
    display_name = entry.get("display_name", "Sam Visser")
    first_name, _, last_name = display_name.partition(" ")
    email = entry.get("email", f"user{user_id}@example.com")
    phone_number = entry.get("phone_number", "+31600000000")
    created = entry.get("created", DEFAULT_ACCOUNT_CREATED)
    address = {
        "street": "Damrak",
        "house_number": "1",
        "po_box": None,
        "postal_code": "1012LG",
        "city": "Amsterdam",
        "country": "NL",
        "province": None,
        "extra": None,
        "mailbox_name": None,
    }

    user = {
        "id": user_id,
        "created": created,
        "updated": created,
        "public_uuid": stable_uuid("user", user_id),
        "first_name": first_name,
        "middle_name": "",
        "last_name": last_name,
        "legal_name": display_name,
        "display_name": display_name,
        "public_nick_name": first_name or display_name,
        "alias": [
            {"type": "PHONE_NUMBER", "value": phone_number, "name": phone_number},
            {"type": "EMAIL", "value": email, "name": email},
        ],
        "tax_resident": [],
        "address_main": address,
        "address_postal": copy.deepcopy(address),
        "date_of_birth": "1990-01-01",
        "place_of_birth": "Amsterdam",
        "country_of_birth": "NL",
        "nationality": "NL",
        "language": "nl_NL",
        "region": "nl_NL",
        "gender": "NONE",
        "avatar": _avatar("user", user_id),
        "version_terms_of_service": "1.0",
        "status": "ACTIVE",
        "sub_status": "NONE",
        "session_timeout": DEFAULT_SESSION_TIMEOUT_SECONDS,
        "daily_limit_without_confirmation_login": {"currency": "EUR", "value": "250.00"},
        "notification_filters": [],
    }
    _apply_overrides(user, entry, _USER_SHORTHANDS)

    return user


def _label_user(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": user["public_uuid"],
        "display_name": user["display_name"],
        "country": "NL",
        "avatar": copy.deepcopy(user["avatar"]),
        "public_nick_name": user["public_nick_name"],
    }


def build_account(entry: dict[str, Any], user: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Build a monetary account from a seed entry; return its type and its JSON object.

    `id` is required. The shorthands are:

    - `type`, default MonetaryAccountBank;
    - `iban`, where null gives no IBAN pointer in `alias` (External and Card accounts have
      none by default);
    - `balance`, `daily_limit`, `overdraft_limit` and `savings_goal`, amounts in the
      account's currency;
    - `co_owners`, the display names of the other owners of a joint account.
    """
    if "id" not in entry:
        raise ValueError(f"a bunq.accounts entry needs an 'id': {entry!r}")

    account_id = entry["id"]
    account_type = entry.get("type", "MonetaryAccountBank")

    if account_type not in ACCOUNT_TYPES:
        known = ", ".join(sorted(ACCOUNT_TYPES))
        raise ValueError(f"account {account_id}: unknown type {account_type!r}; use one of {known}")

    currency = entry.get("currency", "EUR")
    created = entry.get("created", DEFAULT_ACCOUNT_CREATED)
    display_name = entry.get("display_name", user["display_name"])

    if "iban" in entry:
        iban = entry["iban"]
    elif account_type in _TYPES_WITHOUT_BUNQ_IBAN:
        iban = None
    else:
        iban = dutch_iban("BUNQ", 2000000000 + int(account_id))

    alias = []
    if iban is not None:
        alias.append({"type": "IBAN", "value": iban, "name": display_name})
    if account_type not in _TYPES_WITHOUT_BUNQ_IBAN:
        alias.append({"type": "EMAIL", "value": user["alias"][1]["value"], "name": display_name})

    account = {
        "id": account_id,
        "created": created,
        "updated": entry.get("updated", created),
        "alias": alias,
        "avatar": _avatar("account", account_id),
        "balance": build_amount(entry.get("balance", "0.00"), currency),
        "country": "NL",
        "currency": currency,
        "display_name": display_name,
        "daily_limit": build_amount(entry.get("daily_limit", "1000.00"), currency),
        "daily_spent": build_amount("0.00", currency),
        "description": entry.get("description", "bunq account"),
        "public_uuid": stable_uuid("account", account_id),
        "status": "ACTIVE",
        "sub_status": "NONE",
        "reason": None,
        "reason_description": None,
        "timezone": "europe/amsterdam",
        "user_id": user["id"],
        "monetary_account_profile": {
            "profile_fill": None,
            "profile_drain": None,
            "profile_action_required": "NO_ACTION_NEEDED",
            "profile_amount_required": build_amount("0.00", currency),
        },
        "notification_filters": [],
        "setting": {
            "color": _ACCOUNT_COLORS[int(account_id) % len(_ACCOUNT_COLORS)],
            "icon": None,
            "default_avatar_status": "AVATAR_DEFAULT",
            "restriction_chat": "ALLOW_INCOMING",
        },
        "budget": [],
        "all_auto_save_id": [],
    }

    if account_type in _TYPES_WITH_OVERDRAFT:
        account["overdraft_limit"] = build_amount(entry.get("overdraft_limit", "0.00"), currency)

    if account_type == "MonetaryAccountSavings":
        account["savings_goal"] = build_amount(entry.get("savings_goal", "5000.00"), currency)
        account["savings_goal_progress"] = _savings_progress(account)

    if account_type == "MonetaryAccountJoint":
        account["all_co_owner"] = _co_owners(user, entry.get("co_owners", ["Alex de Vries"]))

    _apply_overrides(account, entry, _ACCOUNT_SHORTHANDS)

    return account_type, account


def _savings_progress(account: dict[str, Any]) -> float:
    balance = parse_amount_value(account["balance"]["value"])
    goal = parse_amount_value(account["savings_goal"]["value"])

    if balance is None or not goal:
        return 0.0

    return round(float(balance / goal), 2)


def _co_owners(user: dict[str, Any], other_names: list[str]) -> list[dict[str, Any]]:
    owners = [{"alias": _label_user(user), "status": "ACCEPTED"}]

    for name in other_names:
        owners.append(
            {
                "alias": {
                    "uuid": stable_uuid("co-owner", name),
                    "display_name": name,
                    "country": "NL",
                    "avatar": None,
                    "public_nick_name": name.partition(" ")[0] or name,
                },
                "status": "ACCEPTED",
            }
        )

    return owners


def account_iban(account: dict[str, Any]) -> str | None:
    """Return the value of the account's IBAN pointer, or None when it has none."""
    for pointer in account.get("alias") or []:
        if isinstance(pointer, dict) and pointer.get("type") == "IBAN":
            return pointer.get("value")

    return None


def own_label(account: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """Build the LabelMonetaryAccount of the user's own side of a payment.

    The labels leave out `bunq_me`: bunq-sdk 1.28.0 parses it with the MonetaryAccountReference
    adapter, which raises AttributeError on `null`.
    """
    iban = account_iban(account)

    return {
        "iban": iban,
        "is_light": False,
        "display_name": account.get("display_name", user["display_name"]),
        "avatar": copy.deepcopy(account.get("avatar")),
        "label_user": _label_user(user),
        "country": "NL",
        "swift_bic": "BUNQNL2A" if iban else None,
        "swift_account_number": iban,
    }


def counterparty_label(entry: dict[str, Any] | None) -> dict[str, Any]:
    """Build a counterparty LabelMonetaryAccount from a seed's `counterparty` entry.

    `iban` is null for card merchants. Keys beyond iban, display_name and country (for
    example merchant_category_code or label_user) are copied verbatim.
    """
    entry = entry or {}
    display_name = entry.get("display_name")
    country = entry.get("country", "NL")

    label = {
        "iban": entry.get("iban"),
        "is_light": None,
        "display_name": display_name,
        "avatar": None,
        "label_user": {
            "uuid": None,
            "display_name": display_name,
            "country": country,
            "avatar": None,
            "public_nick_name": display_name,
        },
        "country": country,
        "swift_bic": None,
        "swift_account_number": None,
    }
    _apply_overrides(label, entry, frozenset({"iban", "display_name", "country"}))

    return label


def build_payment(
    entry: dict[str, Any],
    account: dict[str, Any],
    user: dict[str, Any],
    balance_after: Decimal | None,
) -> dict[str, Any]:
    """Build a Payment object for `account` from a seed entry.

    `id` is required. The shorthands are:

    - `amount`, negative for outgoing payments. A string is kept verbatim, and a number gets
      two decimals.
    - `currency`, default the account's;
    - `counterparty`, see counterparty_label;
    - `balance_after_mutation`, default `balance_after`.
    `updated` defaults to `created`, and `created` to the current UTC time.
    """
    if "id" not in entry:
        raise ValueError(f"a bunq.payments entry needs an 'id': {entry!r}")

    currency = entry.get("currency", account.get("currency", "EUR"))
    created = entry.get("created") or utc_now_timestamp()
    payment_type = entry.get("type", "BUNQ")
    description = entry.get("description", "")

    counterparty = entry.get("counterparty")
    if counterparty is None:
        counterparty = {"iban": None, "display_name": description or "Unknown"}

    if "balance_after_mutation" in entry:
        balance_after_mutation = build_amount(entry["balance_after_mutation"], currency)
    elif balance_after is not None:
        balance_after_mutation = build_amount(balance_after, currency)
    else:
        balance_after_mutation = None

    payment = {
        "id": entry["id"],
        "created": created,
        "updated": entry.get("updated", created),
        "monetary_account_id": account["id"],
        "amount": build_amount(entry.get("amount", "0.00"), currency),
        "description": description,
        "type": payment_type,
        "sub_type": _DEFAULT_SUB_TYPES.get(payment_type, "PAYMENT"),
        "merchant_reference": None,
        "maturity_date": created[:10],
        "alias": own_label(account, user),
        "counterparty_alias": counterparty_label(counterparty),
        "attachment": [],
        "geolocation": None,
        "batch_id": None,
        "scheduled_id": None,
        "address_billing": None,
        "address_shipping": None,
        "bunqto_status": None,
        "bunqto_sub_status": None,
        "bunqto_share_url": None,
        "bunqto_expiry": None,
        "bunqto_time_responded": None,
        "payment_arrival_expected": None,
        "request_reference_split_the_bill": [],
        "balance_after_mutation": balance_after_mutation,
        "payment_auto_allocate_instance": None,
        "payment_suspended_outgoing": None,
        "payment_fee": None,
        "conversation": None,
        "allow_chat": True,
    }
    _apply_overrides(payment, entry, _PAYMENT_SHORTHANDS)

    return payment
