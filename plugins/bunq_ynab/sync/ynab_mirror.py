"""Keep the app database's copy of YNAB current with as few requests as possible.

Plans and accounts come from one ``GET /plans?include_accounts=true``. Transactions, categories
and payees are read with delta requests: the first read is full, every later one passes the
stored ``server_knowledge`` and receives only what changed, deletions included.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from psycopg.types.json import Jsonb

from bunq_ynab.storage import Database, load_query
from bunq_ynab.ynab.client import YnabClient

log = logging.getLogger(__name__)

# The first full read requests everything from this date on; YNAB's default is one year back.
FULL_HISTORY_SINCE = dt.date(2000, 1, 1)


def refresh_plans(db: Database, ynab: YnabClient) -> list[dict[str, Any]]:
    """Store every plan and its accounts; return the plans as YNAB sent them."""
    plans = ynab.get_plans_with_accounts()
    with db.transaction():
        for plan in plans:
            currency = (plan.get("currency_format") or {}).get("iso_code")
            raw = {key: value for key, value in plan.items() if key != "accounts"}
            db.execute(
                load_query("upsert_ynab_plan"),
                {
                    "id": str(plan["id"]),
                    "name": plan["name"],
                    "currency_iso_code": currency,
                    "raw": Jsonb(raw, dumps=_dumps),
                },
            )
            accounts = plan.get("accounts") or []
            db.execute_many(
                load_query("upsert_ynab_account"),
                [_account_row(str(plan["id"]), account) for account in accounts],
            )
            # YNAB leaves deleted accounts out of this list, so an account it stopped listing
            # is deleted: it must not stay linked.
            db.execute(
                "UPDATE ynab_account SET deleted = true, updated_at = now()"
                " WHERE plan_id = %s AND NOT deleted AND NOT (id = ANY(%s))",
                (str(plan["id"]), [str(account["id"]) for account in accounts]),
            )
        listed = [str(plan["id"]) for plan in plans]
        unlisted = db.fetch_all(
            "UPDATE ynab_plan SET deleted = true, updated_at = now()"
            " WHERE NOT deleted AND NOT (id = ANY(%s)) RETURNING id, name",
            (listed,),
        )
        db.execute(
            "UPDATE ynab_account SET deleted = true, updated_at = now()"
            " WHERE NOT deleted AND NOT (plan_id = ANY(%s))",
            (listed,),
        )
        for row in unlisted:
            log.warning(
                "YNAB no longer lists plan %s (%s); its accounts are unlinked", *row.values()
            )
    account_count = sum(len(plan.get("accounts") or []) for plan in plans)
    log.info("YNAB: %d plans with %d accounts stored", len(plans), account_count)
    return plans


def refresh_transactions(db: Database, ynab: YnabClient, plan_id: str) -> int:
    """Apply the transaction delta of one plan; return the number of changed transactions."""
    knowledge = _knowledge(db, plan_id, "transactions")
    since = FULL_HISTORY_SINCE if knowledge is None else None
    transactions, server_knowledge = ynab.get_transactions(plan_id, knowledge, since_date=since)
    with db.transaction():
        store_transactions(db, plan_id, transactions)
        _save_knowledge(db, plan_id, "transactions", server_knowledge)
    log.info(
        "YNAB plan %s: %d transactions changed since server knowledge %s",
        plan_id,
        len(transactions),
        knowledge,
    )
    return len(transactions)


def refresh_categories(db: Database, ynab: YnabClient, plan_id: str) -> int:
    knowledge = _knowledge(db, plan_id, "categories")
    groups, server_knowledge = ynab.get_categories(plan_id, knowledge)
    rows = [
        {
            "id": str(category["id"]),
            "plan_id": plan_id,
            "category_group_id": str(group["id"]),
            "category_group_name": group["name"],
            "name": category["name"],
            "hidden": bool(category.get("hidden")),
            "deleted": bool(category.get("deleted")) or bool(group.get("deleted")),
            "internal": bool(group.get("internal")) or bool(category.get("internal")),
        }
        for group in groups
        for category in group.get("categories") or []
    ]
    with db.transaction():
        db.execute_many(load_query("upsert_ynab_category"), rows)
        _save_knowledge(db, plan_id, "categories", server_knowledge)
    log.info("YNAB plan %s: %d categories changed", plan_id, len(rows))
    return len(rows)


def refresh_payees(db: Database, ynab: YnabClient, plan_id: str) -> int:
    knowledge = _knowledge(db, plan_id, "payees")
    payees, server_knowledge = ynab.get_payees(plan_id, knowledge)
    rows = [
        {
            "id": str(payee["id"]),
            "plan_id": plan_id,
            "name": payee["name"],
            "transfer_account_id": _text(payee.get("transfer_account_id")),
            "deleted": bool(payee.get("deleted")),
        }
        for payee in payees
    ]
    with db.transaction():
        db.execute_many(load_query("upsert_ynab_payee"), rows)
        _save_knowledge(db, plan_id, "payees", server_knowledge)
    return len(rows)


def store_transactions(db: Database, plan_id: str, transactions: list[dict[str, Any]]) -> None:
    """Upsert YNAB transactions (as the SDK's ``to_dict`` returns them) into the mirror."""
    db.execute_many(
        load_query("upsert_ynab_transaction"),
        [_transaction_row(plan_id, transaction) for transaction in transactions],
    )


def _transaction_row(plan_id: str, transaction: dict[str, Any]) -> dict[str, Any]:
    subtransactions = transaction.get("subtransactions") or []
    return {
        "id": str(transaction["id"]),
        "plan_id": plan_id,
        "account_id": str(transaction["account_id"]),
        "date": transaction.get("var_date") or transaction.get("date"),
        "amount": int(transaction["amount"]),
        "memo": transaction.get("memo"),
        "cleared": str(transaction.get("cleared") or "uncleared"),
        "approved": bool(transaction.get("approved")),
        "flag_color": _text(transaction.get("flag_color")),
        "payee_id": _text(transaction.get("payee_id")),
        "payee_name": transaction.get("payee_name"),
        "category_id": _text(transaction.get("category_id")),
        "category_name": transaction.get("category_name"),
        "transfer_account_id": _text(transaction.get("transfer_account_id")),
        "transfer_transaction_id": _text(transaction.get("transfer_transaction_id")),
        "import_id": transaction.get("import_id"),
        "is_split": any(not sub.get("deleted") for sub in subtransactions),
        "deleted": bool(transaction.get("deleted")),
        "raw": Jsonb(transaction, dumps=_dumps),
    }


def _account_row(plan_id: str, account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(account["id"]),
        "plan_id": plan_id,
        "name": account["name"],
        "account_type": str(account.get("type")),
        "note": account.get("note"),
        "closed": bool(account.get("closed")),
        "deleted": bool(account.get("deleted")),
        "on_budget": bool(account.get("on_budget")),
        "transfer_payee_id": _text(account.get("transfer_payee_id")),
        "raw": Jsonb(account, dumps=_dumps),
    }


def _knowledge(db: Database, plan_id: str, resource: str) -> int | None:
    row = db.fetch_one(
        "SELECT server_knowledge FROM ynab_server_knowledge WHERE plan_id = %s AND resource = %s",
        (plan_id, resource),
    )
    return int(row["server_knowledge"]) if row else None


def _save_knowledge(db: Database, plan_id: str, resource: str, knowledge: int) -> None:
    db.execute(
        load_query("upsert_server_knowledge"),
        {"plan_id": plan_id, "resource": resource, "server_knowledge": knowledge},
    )


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(getattr(value, "value", value))


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # SDK enums
        return value.value
    return str(value)
