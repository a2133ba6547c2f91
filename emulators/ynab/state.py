"""The emulator's state: all plans of one YNAB user and the API's operations on them.

Callers hold ``YnabState.lock`` around every read and write, because the HTTP server runs one
thread per connection.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from emulators.ynab.models import Category, Transaction
from emulators.ynab.plan import Plan
from emulators.ynab.validation import check_transaction

# Fields a test may change through ``YnabState.edit_transaction``, acting as the user in the app.
USER_EDITABLE_FIELDS = frozenset(
    {
        "date",
        "amount",
        "memo",
        "cleared",
        "approved",
        "flag_color",
        "payee_id",
        "payee_name",
        "category_id",
        "category_name",
        "account_id",
    }
)


class ApiError(Exception):
    """An error response in YNAB's envelope ``{"error": {"id", "name", "detail"}}``."""

    def __init__(self, status: int, error_id: str, name: str, detail: str) -> None:
        super().__init__(f"{status} {name}: {detail}")
        self.status = status
        self.error_id = error_id
        self.name = name
        self.detail = detail

    def body(self) -> dict:
        return {"error": {"id": self.error_id, "name": self.name, "detail": self.detail}}


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "400", "bad_request", detail)


def resource_not_found() -> ApiError:
    return ApiError(404, "404.2", "resource_not_found", "Resource not found")


def conflict(detail: str) -> ApiError:
    return ApiError(409, "409", "conflict", detail)


class YnabState:
    """All plans of one emulated YNAB user, behind one lock, with the API's operations.

    The methods return the ``data`` object of a successful response and raise ApiError for
    an error response. ``today`` returns the date that transaction dates are checked against.
    """

    def __init__(
        self,
        token: str,
        user_id: str,
        plans: list[Plan],
        *,
        default_plan_id: str | None = None,
        today: Callable[[], date] = date.today,
        default_since_days: int | None = None,
    ) -> None:
        self.token = token
        self.user_id = user_id
        self.plans = {plan.id: plan for plan in plans}
        self.default_plan_id = default_plan_id
        self.last_used_plan_id = plans[0].id if plans else None
        self.today = today
        self.default_since_days = default_since_days
        self.lock = threading.RLock()

    def plan(self, plan_id: str) -> Plan:
        """Return the plan for an id or for the aliases "last-used" and "default"."""
        if plan_id == "last-used":
            plan_id = self.last_used_plan_id or ""
        elif plan_id == "default":
            plan_id = self.default_plan_id or self.last_used_plan_id or ""

        plan = self.plans.get(plan_id.lower())
        if plan is None:
            raise resource_not_found()

        self.last_used_plan_id = plan.id
        return plan

    # --- reads ----------------------------------------------------------------------------

    def get_user(self) -> dict:
        return {"user": {"id": self.user_id}}

    def list_plans(self, *, include_accounts: bool) -> dict:
        today = self.today()
        plans = [
            plan.summary_json(today, include_accounts=include_accounts)
            for plan in self.plans.values()
        ]
        default = self.plans.get(self.default_plan_id or "")
        return {
            "plans": plans,
            "default_plan": default.summary_json(today, include_accounts=include_accounts)
            if default
            else None,
        }

    def get_plan(self, plan_id: str, since_knowledge: int | None) -> dict:
        """Return the PlanDetail export, or what changed after ``since_knowledge``."""
        plan = self.plan(plan_id)
        data = plan.summary_json(self.today(), include_accounts=False)

        def changed(entity) -> bool:
            if since_knowledge is None:
                return not entity.deleted
            return entity.knowledge > since_knowledge

        balances = plan.balances()
        transactions = list(plan.visible_transactions(since_knowledge))
        data.update(
            accounts=[plan.account_json(a, balances) for a in plan.accounts.values() if changed(a)],
            payees=[plan.payee_json(p) for p in plan.payees.values() if changed(p)],
            payee_locations=[],
            category_groups=[
                plan.group_json(g, None) for g in plan.category_groups.values() if changed(g)
            ],
            categories=[plan.category_json(c) for c in plan.categories.values() if changed(c)],
            months=[],
            transactions=[plan.transaction_json(t, with_names=False) for t in transactions],
            subtransactions=[
                plan.subtransaction_json(sub) for t in transactions for sub in t.subtransactions
            ],
            scheduled_transactions=[],
            scheduled_subtransactions=[],
        )
        return {"plan": data, "server_knowledge": plan.knowledge}

    def get_settings(self, plan_id: str) -> dict:
        plan = self.plan(plan_id)
        return {
            "settings": {
                "date_format": {"format": plan.date_format},
                "currency_format": dict(plan.currency_format),
            }
        }

    def list_accounts(self, plan_id: str, since_knowledge: int | None) -> dict:
        plan = self.plan(plan_id)
        balances = plan.balances()
        accounts = [
            plan.account_json(account, balances)
            for account in plan.accounts.values()
            if _in_list(account, since_knowledge)
        ]
        return {"accounts": accounts, "server_knowledge": plan.knowledge}

    def get_account(self, plan_id: str, account_id: str) -> dict:
        plan = self.plan(plan_id)
        account = plan.accounts.get(account_id.lower())
        if account is None:
            raise resource_not_found()
        return {"account": plan.account_json(account, plan.balances())}

    def list_categories(self, plan_id: str, since_knowledge: int | None) -> dict:
        """Return the category groups, or only the changed groups and categories in a delta."""
        plan = self.plan(plan_id)
        members: dict[str, list[Category]] = defaultdict(list)
        for category in plan.categories.values():
            if _in_list(category, since_knowledge):
                members[category.category_group_id].append(category)

        groups = []
        for group in plan.category_groups.values():
            if since_knowledge is None and group.deleted:
                continue
            if since_knowledge is not None:
                if group.knowledge <= since_knowledge and not members[group.id]:
                    continue
            groups.append(plan.group_json(group, members[group.id]))

        return {"category_groups": groups, "server_knowledge": plan.knowledge}

    def get_category(self, plan_id: str, category_id: str) -> dict:
        plan = self.plan(plan_id)
        category = plan.categories.get(category_id.lower())
        if category is None:
            raise resource_not_found()
        return {"category": plan.category_json(category)}

    def list_payees(self, plan_id: str, since_knowledge: int | None) -> dict:
        plan = self.plan(plan_id)
        payees = [
            plan.payee_json(payee)
            for payee in plan.payees.values()
            if _in_list(payee, since_knowledge)
        ]
        return {"payees": payees, "server_knowledge": plan.knowledge}

    def get_payee(self, plan_id: str, payee_id: str) -> dict:
        plan = self.plan(plan_id)
        payee = plan.payees.get(payee_id.lower())
        if payee is None:
            raise resource_not_found()
        return {"payee": plan.payee_json(payee)}

    def list_transactions(
        self,
        plan_id: str,
        *,
        account_id: str | None = None,
        since_date: date | None = None,
        until_date: date | None = None,
        kind: str | None = None,
        since_knowledge: int | None = None,
    ) -> dict:
        """Return transactions sorted by date, filtered as GET /transactions filters them.

        ``kind`` is the API's ``type`` parameter: "uncategorized" or "unapproved".
        """
        plan = self.plan(plan_id)
        if account_id is not None and account_id.lower() not in plan.accounts:
            raise resource_not_found()

        if since_date is None and self.default_since_days is not None:
            since_date = self.today() - timedelta(days=self.default_since_days)

        since = since_date.isoformat() if since_date else None
        until = until_date.isoformat() if until_date else None
        selected = []
        for transaction in plan.visible_transactions(since_knowledge):
            if account_id is not None and transaction.account_id != account_id.lower():
                continue
            if since is not None and transaction.date < since:
                continue
            if until is not None and transaction.date > until:
                continue
            if kind == "uncategorized" and not plan.is_uncategorized(transaction):
                continue
            if kind == "unapproved" and transaction.approved:
                continue
            selected.append(transaction)

        selected.sort(key=lambda transaction: transaction.date)
        return {
            "transactions": [plan.transaction_json(t) for t in selected],
            "server_knowledge": plan.knowledge,
        }

    def get_transaction(self, plan_id: str, transaction_id: str) -> dict:
        plan = self.plan(plan_id)
        transaction = plan.transactions.get(transaction_id.lower())
        if transaction is None:
            raise resource_not_found()
        return {
            "transaction": plan.transaction_json(transaction),
            "server_knowledge": plan.knowledge,
        }

    def all_transactions(self, plan_id: str, *, include_deleted: bool, include_hidden: bool):
        """Return every stored transaction of a plan, for tests and the demo to inspect."""
        plan = self.plan(plan_id)
        return [
            plan.transaction_json(transaction)
            for transaction in plan.transactions.values()
            if (include_deleted or not transaction.deleted)
            and (include_hidden or not transaction.hidden)
        ]

    # --- writes ---------------------------------------------------------------------------

    def create_transactions(self, plan_id: str, body: Any) -> dict:
        """Create transactions from a POST body, skipping import_ids the account already has.

        A single ``transaction`` whose import_id exists is a 409 conflict, while in a
        ``transactions`` list it goes into ``duplicate_import_ids``. An import_id counts even
        when its transaction was deleted. YNAB does not document this case, and keeping the
        id is the choice that can never create a duplicate.
        """
        plan = self.plan(plan_id)
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")

        single = body.get("transaction") is not None
        if single and body.get("transactions") is not None:
            raise bad_request("only one of transaction or transactions may be given")
        if not single and body.get("transactions") is None:
            raise bad_request("transaction or transactions is required")

        items = [body["transaction"]] if single else body["transactions"]
        if not isinstance(items, list):
            raise bad_request("transactions must be an array")

        today = self.today()
        checked, errors = [], []
        for index, item in enumerate(items):
            fields, item_errors = check_transaction(item, index, plan, today, require_core=True)
            if not item_errors:
                item_errors = plan.check_semantics(fields, index, None)
            errors.extend(item_errors)
            checked.append(fields)

        if errors:
            raise bad_request(", ".join(errors))

        to_create, duplicates, seen = [], [], set()
        for fields in checked:
            import_id = fields.get("import_id")
            key = (fields["account_id"], import_id)
            if import_id and (key in plan.import_index or key in seen):
                duplicates.append(import_id)
                continue
            seen.add(key)
            to_create.append(fields)

        if single and duplicates:
            raise conflict(
                f"a transaction with import_id {duplicates[0]!r} already exists on this account"
            )

        created = []
        if to_create:
            knowledge = plan.bump()
            created = [plan.create_transaction(f, knowledge, match=True) for f in to_create]

        data: dict[str, Any] = {"transaction_ids": [t.id for t in created]}
        if single:
            data["transaction"] = plan.transaction_json(created[0])
        else:
            data["transactions"] = [plan.transaction_json(t) for t in created]
        data["duplicate_import_ids"] = duplicates
        data["server_knowledge"] = plan.knowledge
        return data

    def update_transactions(self, plan_id: str, body: Any) -> dict:
        """Apply a PATCH body: each item finds its transaction by ``id``, else ``import_id``."""
        plan = self.plan(plan_id)
        items = body.get("transactions") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise bad_request("transactions is required")

        updates = self._check_updates(plan, items, by_id=None)
        knowledge = plan.bump()
        for transaction, fields in updates:
            plan.update_transaction(transaction, fields, knowledge)

        return {
            "transaction_ids": [transaction.id for transaction, _ in updates],
            "transactions": [plan.transaction_json(transaction) for transaction, _ in updates],
            "server_knowledge": plan.knowledge,
        }

    def put_transaction(self, plan_id: str, transaction_id: str, body: Any) -> dict:
        """Apply a PUT body. As in YNAB, fields left out keep their values."""
        plan = self.plan(plan_id)
        transaction = plan.transactions.get(transaction_id.lower())
        if transaction is None or transaction.deleted or transaction.hidden:
            raise resource_not_found()

        item = body.get("transaction") if isinstance(body, dict) else None
        if item is None:
            raise bad_request("transaction is required")

        [(transaction, fields)] = self._check_updates(plan, [item], by_id=transaction)
        plan.update_transaction(transaction, fields, plan.bump())
        return {
            "transaction": plan.transaction_json(transaction),
            "server_knowledge": plan.knowledge,
        }

    def delete_transaction(self, plan_id: str, transaction_id: str) -> dict:
        plan = self.plan(plan_id)
        transaction = plan.transactions.get(transaction_id.lower())
        if transaction is None or transaction.deleted:
            raise resource_not_found()

        plan.delete_transaction(transaction, plan.bump())
        return {
            "transaction": plan.transaction_json(transaction),
            "server_knowledge": plan.knowledge,
        }

    def edit_transaction(self, plan_id: str, transaction_id: str, **changes: Any) -> dict:
        """Change a transaction as the user would in the YNAB app, bypassing HTTP.

        Accepts the fields of USER_EDITABLE_FIELDS, with ``category_name`` looked up in the plan.
        Raises KeyError for an unknown transaction and ValueError for invalid values.
        """
        unknown = set(changes) - USER_EDITABLE_FIELDS
        if unknown:
            raise ValueError(f"fields that cannot be edited: {sorted(unknown)}")

        plan = self.plan(plan_id)
        transaction = plan.transactions.get(transaction_id.lower())
        if transaction is None or transaction.deleted:
            raise KeyError(transaction_id)

        if "category_name" in changes:
            name = changes.pop("category_name")
            changes["category_id"] = plan.category_by_name(name).id if name else None

        fields, errors = check_transaction(changes, 0, plan, None, require_core=False)
        errors = errors or plan.check_semantics(fields, 0, transaction)
        if errors:
            raise ValueError(", ".join(errors))

        plan.update_transaction(transaction, fields, plan.bump())
        return plan.transaction_json(transaction)

    def _check_updates(
        self, plan: Plan, items: list, *, by_id: Transaction | None
    ) -> list[tuple[Transaction, dict]]:
        """Check every update item and find its transaction, or raise one 400 for all errors."""
        today = self.today()
        updates, errors = [], []
        for index, item in enumerate(items):
            fields, item_errors = check_transaction(item, index, plan, today, require_core=False)
            transaction = by_id
            if transaction is None and isinstance(item, dict):
                transaction, lookup_error = _find_for_update(plan, item, fields)
                if lookup_error:
                    item_errors.append(f"{lookup_error} (index: {index})")

            if transaction is not None and fields.get("import_id") not in (
                None,
                transaction.import_id,
            ):
                item_errors.append(f"import_id cannot be changed (index: {index})")

            if transaction is not None and not item_errors:
                item_errors = plan.check_semantics(fields, index, transaction)

            errors.extend(item_errors)
            updates.append((transaction, fields))

        if errors:
            raise bad_request(", ".join(errors))
        return updates


def _find_for_update(plan: Plan, item: dict, fields: dict) -> tuple[Transaction | None, str]:
    """Find the transaction a PATCH item names, by ``id`` if given, else by ``import_id``."""
    transaction_id = item.get("id")
    if transaction_id is not None:
        transaction = plan.transactions.get(str(transaction_id).lower())
        if transaction is None or transaction.deleted or transaction.hidden:
            return None, "transaction not found"
        return transaction, ""

    import_id = fields.get("import_id")
    if not import_id:
        return None, "id or import_id is required"

    accounts = [fields["account_id"]] if fields.get("account_id") else list(plan.accounts)
    found = [
        plan.transactions[plan.import_index[(account_id, import_id)]]
        for account_id in accounts
        if (account_id, import_id) in plan.import_index
    ]
    found = [transaction for transaction in found if not transaction.deleted]
    if not found:
        return None, "transaction not found"
    if len(found) > 1:
        return None, "import_id exists on more than one account, so account_id is required"
    return found[0], ""


def _in_list(entity, since_knowledge: int | None) -> bool:
    if since_knowledge is None:
        return not entity.deleted
    return entity.knowledge > since_knowledge
