"""Loading the ``"ynab"`` part of a seed file into the emulator's state.

The seed file is shared with the bunq emulator, which reads its ``"bunq"`` key. Ids left out
of the seed are derived from names with uuid5, so the same seed always loads with the same
ids. Seed transactions are the user's own history: they are checked like API requests except
for the date range, and they are never matched to each other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from typing import Any

from emulators.ynab.models import (
    ACCOUNT_TYPES,
    CREDIT_CARD_GROUP_NAME,
    DATE_FORMATS,
    INTERNAL_GROUP_NAME,
    ON_BUDGET_ACCOUNT_TYPES,
    READY_TO_ASSIGN_NAME,
    UNCATEGORIZED_NAME,
    Account,
    Category,
    CategoryGroup,
    currency_format_for,
    stable_uuid,
)
from emulators.ynab.plan import Plan
from emulators.ynab.state import YnabState
from emulators.ynab.validation import check_transaction


def read_seed(seed: dict | str | os.PathLike) -> dict:
    """Return the whole seed: ``seed`` itself if it is a dict, else the JSON file it names."""
    if isinstance(seed, dict):
        return seed

    with open(seed, encoding="utf-8") as seed_file:
        return json.load(seed_file)


def build_state(
    seed: dict | str | os.PathLike,
    *,
    today: Callable[[], date] = date.today,
    default_since_days: int | None = None,
) -> YnabState:
    """Build the emulator state from a seed, or raise ValueError if the seed is inconsistent."""
    config = read_seed(seed).get("ynab")
    if not isinstance(config, dict) or not config.get("token"):
        raise ValueError('the seed needs a "ynab" object with a "token"')

    plans, default_plan_id = [], None
    for plan_seed in config.get("plans", []):
        plan = build_plan(plan_seed)
        plans.append(plan)
        if plan_seed.get("default"):
            default_plan_id = plan.id

    return YnabState(
        token=config["token"],
        user_id=config.get("user_id") or stable_uuid("user"),
        plans=plans,
        default_plan_id=default_plan_id,
        today=today,
        default_since_days=default_since_days,
    )


def build_plan(plan_seed: dict) -> Plan:
    """Build one plan with YNAB's built-in categories and payees plus the seeded ones."""
    name = plan_seed["name"]
    plan_id = (plan_seed.get("id") or stable_uuid("plan", name)).lower()
    currency = plan_seed.get("currency", "EUR")
    plan = Plan(
        plan_id,
        name,
        plan_seed.get("currency_format") or currency_format_for(currency),
        plan_seed.get("date_format") or DATE_FORMATS.get(currency, "YYYY-MM-DD"),
    )
    knowledge = plan.bump()

    _add_categories(plan, plan_seed.get("category_groups", []), knowledge)
    plan.add_builtin_payees(knowledge)
    for account_seed in plan_seed.get("accounts", []):
        plan.add_account(_account_from_seed(plan_id, account_seed, knowledge))

    for payee_seed in plan_seed.get("payees", []):
        plan.payee_by_name(payee_seed["name"], knowledge)

    for index, transaction_seed in enumerate(plan_seed.get("transactions", [])):
        _add_transaction(plan, index, transaction_seed, knowledge)

    return plan


def _add_categories(plan: Plan, group_seeds: list[dict], knowledge: int) -> None:
    internal = [
        {"name": INTERNAL_GROUP_NAME, "internal": True,
         "categories": [{"name": READY_TO_ASSIGN_NAME}, {"name": UNCATEGORIZED_NAME}]},
        {"name": CREDIT_CARD_GROUP_NAME, "categories": []},
    ]  # fmt: skip
    for group_seed in internal + group_seeds:
        group_name = group_seed["name"]
        group_internal = group_seed.get("internal", False)
        group = CategoryGroup(
            id=(group_seed.get("id") or stable_uuid(plan.id, "group", group_name)).lower(),
            name=group_name,
            hidden=group_seed.get("hidden", False),
            internal=group_internal,
            deleted=group_seed.get("deleted", False),
            knowledge=knowledge,
        )
        plan.category_groups[group.id] = group

        for category_seed in group_seed.get("categories", []):
            category_name = category_seed["name"]
            category_id = category_seed.get("id") or stable_uuid(
                plan.id, "category", group_name, category_name
            )
            category = Category(
                id=category_id.lower(),
                category_group_id=group.id,
                name=category_name,
                hidden=category_seed.get("hidden", False),
                internal=group_internal,
                note=category_seed.get("note"),
                budgeted=category_seed.get("budgeted", 0),
                activity=category_seed.get("activity", 0),
                balance=category_seed.get("balance", 0),
                goal_type=category_seed.get("goal_type"),
                goal_target=category_seed.get("goal_target"),
                deleted=category_seed.get("deleted", False),
                knowledge=knowledge,
            )
            plan.categories[category.id] = category
            if group_internal and category_name == UNCATEGORIZED_NAME:
                plan.uncategorized_category_id = category.id


def _account_from_seed(plan_id: str, account_seed: dict, knowledge: int) -> Account:
    account_type = account_seed.get("type", "checking")
    if account_type not in ACCOUNT_TYPES:
        raise ValueError(f"account {account_seed.get('name')!r} has unknown type {account_type!r}")

    account_id = account_seed.get("id") or stable_uuid(plan_id, "account", account_seed["name"])
    account_id = account_id.lower()
    return Account(
        id=account_id,
        name=account_seed["name"],
        type=account_type,
        on_budget=account_seed.get("on_budget", account_type in ON_BUDGET_ACCOUNT_TYPES),
        closed=account_seed.get("closed", False),
        note=account_seed.get("note"),
        transfer_payee_id=(
            account_seed.get("transfer_payee_id") or stable_uuid(plan_id, "transfer", account_id)
        ).lower(),
        opening_balance=account_seed.get("balance", 0),
        deleted=account_seed.get("deleted", False),
        direct_import_linked=account_seed.get("direct_import_linked", False),
        last_reconciled_at=account_seed.get("last_reconciled_at"),
        knowledge=knowledge,
    )


def _add_transaction(plan: Plan, index: int, transaction_seed: dict, knowledge: int) -> None:
    """Add one seeded transaction, which may name its category and transfer target by id.

    Besides the API's fields a seed transaction may carry ``category_name`` (also on
    subtransactions), ``transfer_account_id`` (the other account of a transfer), ``id``,
    ``flag_name`` and ``deleted``.
    """
    item: dict[str, Any] = dict(transaction_seed)
    if item.get("subtransactions"):
        item["subtransactions"] = [dict(sub) for sub in item["subtransactions"]]
    try:
        _resolve_seed_names(plan, item)
    except (KeyError, ValueError) as error:
        raise ValueError(f"seed plan {plan.name!r}, transaction {index}: {error}") from error

    fields, errors = check_transaction(item, index, plan, None, require_core=True)
    errors = errors or plan.check_semantics(fields, index, None)
    if fields.get("import_id") and (fields["account_id"], fields["import_id"]) in plan.import_index:
        errors.append(f"import_id {fields['import_id']!r} is used twice (index: {index})")
    if errors:
        raise ValueError(f"seed plan {plan.name!r}: " + ", ".join(errors))

    transaction_id = item.get("id") or stable_uuid(plan.id, "transaction", index)
    transaction = plan.create_transaction(
        fields, knowledge, match=False, transaction_id=transaction_id.lower()
    )
    transaction.flag_name = item.get("flag_name")
    if transaction.transfer_transaction_id:
        # History is entered after the fact, so both sides of a transfer share its status.
        plan.transactions[transaction.transfer_transaction_id].cleared = transaction.cleared
    if item.get("deleted"):
        plan.delete_transaction(transaction, knowledge)


def _resolve_seed_names(plan: Plan, item: dict) -> None:
    target_id = item.pop("transfer_account_id", None)
    if target_id is not None:
        item["payee_id"] = plan.accounts[target_id.lower()].transfer_payee_id

    for holder in [item, *(item.get("subtransactions") or [])]:
        category_name = holder.pop("category_name", None)
        if category_name is not None:
            holder["category_id"] = plan.category_by_name(category_name).id
