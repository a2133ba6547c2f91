"""A small, explicit bunq + YNAB world for the integration tests.

bunq user 1001 has a bank account (11), a savings account (12), a joint account (13) and an
external account without IBAN (14). YNAB has the plan "Household" with accounts linked to 11
and 12, and the plan "Shared" with an account linked to 13.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools

API_KEY = "sandbox_test_key_0123456789abcdef"
YNAB_TOKEN = "test-ynab-token-not-a-secret"

IBAN_BANK = "NL15BUNQ0417164300"
IBAN_SAVINGS = "NL72BUNQ2092154812"
IBAN_JOINT = "NL13BUNQ2045531563"

PLAN_HOUSEHOLD = "6c3a3e1e-1f6e-4c41-9d6b-1a2b3c4d5e01"
PLAN_SHARED = "6c3a3e1e-1f6e-4c41-9d6b-1a2b3c4d5e02"
YNAB_BANK = "7d4b4f2f-2a7f-4d52-8e7c-2b3c4d5e6f01"
YNAB_SAVINGS = "7d4b4f2f-2a7f-4d52-8e7c-2b3c4d5e6f02"
YNAB_JOINT = "7d4b4f2f-2a7f-4d52-8e7c-2b3c4d5e6f03"
CATEGORY_GROCERIES = "8e5c5a3a-3b8a-4e63-9f8d-3c4d5e6f7a01"

_payment_ids = itertools.count(10_000)


def bunq_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def base_seed(accounts: list[dict] | None = None) -> dict:
    """Return a seed with the accounts and plans above and no payments."""
    return copy.deepcopy(
        {
            "bunq": {
                "api_keys": [API_KEY],
                "user": {"id": 1001, "display_name": "Test User"},
                "accounts": accounts
                or [
                    _account(11, "MonetaryAccountBank", "Betaalrekening", IBAN_BANK),
                    _account(12, "MonetaryAccountSavings", "Spaarrekening", IBAN_SAVINGS),
                    _account(13, "MonetaryAccountJoint", "Samen", IBAN_JOINT),
                    _account(14, "MonetaryAccountExternal", "ING", None),
                ],
                "payments": [],
            },
            "ynab": {
                "token": YNAB_TOKEN,
                "plans": [
                    {
                        "id": PLAN_HOUSEHOLD,
                        "name": "Household",
                        "currency": "EUR",
                        "accounts": [
                            _ynab_account(YNAB_BANK, "bunq bank", "IBAN: nl15 bunq 0417 1643 00"),
                            _ynab_account(YNAB_SAVINGS, "bunq savings", f"{IBAN_SAVINGS} (sparen)"),
                        ],
                        "category_groups": [
                            {
                                "name": "Everyday",
                                "categories": [{"id": CATEGORY_GROCERIES, "name": "Groceries"}],
                            }
                        ],
                    },
                    {
                        "id": PLAN_SHARED,
                        "name": "Shared",
                        "currency": "EUR",
                        "accounts": [_ynab_account(YNAB_JOINT, "bunq joint", IBAN_JOINT)],
                        "category_groups": [],
                    },
                ],
            },
        }
    )


def _account(account_id: int, account_type: str, description: str, iban: str | None) -> dict:
    return {
        "id": account_id,
        "type": account_type,
        "description": description,
        "status": "ACTIVE",
        "currency": "EUR",
        "iban": iban,
        "balance": "1000.00",
    }


def _ynab_account(account_id: str, name: str, note: str) -> dict:
    return {
        "id": account_id,
        "name": name,
        "type": "checking",
        "on_budget": True,
        "closed": False,
        "note": note,
        "balance": 0,
    }


def payment(
    account_id: int,
    amount: str,
    *,
    created: dt.datetime | None = None,
    description: str = "Payment",
    counterparty_name: str = "Albert Heijn 1234",
    counterparty_iban: str | None = None,
    payment_type: str = "MASTERCARD",
    payment_id: int | None = None,
) -> dict:
    """Return one seed payment; ids increase like bunq's global payment ids."""
    created = created or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return {
        "id": payment_id or next(_payment_ids),
        "monetary_account_id": account_id,
        "created": bunq_time(created),
        "amount": amount,
        "currency": "EUR",
        "description": description,
        "type": payment_type,
        "sub_type": "PAYMENT",
        "counterparty": {"iban": counterparty_iban, "display_name": counterparty_name},
    }


def transfer(
    from_account: tuple[int, str], to_account: tuple[int, str], amount: str, created=None
) -> list[dict]:
    """Return the two bunq payments of a transfer between own accounts (same time)."""
    created = created or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    (source_id, source_iban), (target_id, target_iban) = from_account, to_account
    return [
        payment(
            source_id,
            f"-{amount}",
            created=created,
            description="Naar sparen",
            counterparty_name="Spaarrekening",
            counterparty_iban=target_iban,
            payment_type="BUNQ",
        ),
        payment(
            target_id,
            amount,
            created=created,
            description="Naar sparen",
            counterparty_name="Betaalrekening",
            counterparty_iban=source_iban,
            payment_type="BUNQ",
        ),
    ]
