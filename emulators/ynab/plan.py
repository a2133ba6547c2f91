"""One YNAB plan: its accounts, categories, payees and transactions, and YNAB's rules for them.

The plan has one server-knowledge counter. Every write request increments it once and stamps
every entity it changed with the new value, which is what delta requests filter on.
Transfers, matching and import ids follow YNAB's documented rules. Where YNAB documents
nothing, the choice made here is stated at the code that makes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime

from emulators.ynab.models import (
    BUILTIN_PAYEES,
    SPLIT_CATEGORY_NAME,
    Account,
    Category,
    CategoryGroup,
    Payee,
    SubTransaction,
    Transaction,
    amount_currency,
    format_amount,
    stable_uuid,
)

# A new imported transaction is matched to a user-entered one at most this many days apart.
MATCH_WINDOW_DAYS = 10


class Plan:
    """One YNAB plan (formerly "budget") and everything in it."""

    def __init__(self, plan_id: str, name: str, currency_format: dict, date_format: str) -> None:
        self.id = plan_id
        self.name = name
        self.currency_format = currency_format
        self.date_format = date_format
        self.knowledge = 0
        self.last_modified_on = datetime.now(UTC)

        self.accounts: dict[str, Account] = {}
        self.category_groups: dict[str, CategoryGroup] = {}
        self.categories: dict[str, Category] = {}
        self.payees: dict[str, Payee] = {}
        self.transactions: dict[str, Transaction] = {}

        # (account_id, import_id) of every import ever created, deleted ones included, to the
        # visible transaction that carries it.
        self.import_index: dict[tuple[str, str], str] = {}
        # (account_id, amount) to transaction ids: the places a match can come from.
        self._match_index: dict[tuple[str, int], list[str]] = defaultdict(list)

        self.split_category_id = stable_uuid(plan_id, "category", "split")
        self.uncategorized_category_id: str | None = None

    def bump(self) -> int:
        """Start a write: increment the server knowledge and return the new value."""
        self.knowledge += 1
        self.last_modified_on = datetime.now(UTC)
        return self.knowledge

    # --- accounts, categories, payees -----------------------------------------------------

    def add_account(self, account: Account) -> None:
        """Add an account and the transfer payee that other transactions use to reach it."""
        self.accounts[account.id] = account
        self.payees[account.transfer_payee_id] = Payee(
            id=account.transfer_payee_id,
            name=f"Transfer : {account.name}",
            transfer_account_id=account.id,
            deleted=account.deleted,
            knowledge=account.knowledge,
        )

    def add_builtin_payees(self, knowledge: int) -> None:
        for name in BUILTIN_PAYEES:
            payee_id = stable_uuid(self.id, "payee", name)
            self.payees[payee_id] = Payee(id=payee_id, name=name, knowledge=knowledge)

    def payee_by_name(self, name: str, knowledge: int) -> Payee:
        """Return the non-transfer payee called ``name``, creating it if there is none."""
        for payee in self.payees.values():
            if payee.name == name and not payee.deleted and payee.transfer_account_id is None:
                return payee

        # Named ids keep seeded payees the same on every load. A clash falls back to random.
        payee_id = stable_uuid(self.id, "payee", name)
        if payee_id in self.payees:
            payee_id = str(uuid.uuid4())
        payee = Payee(id=payee_id, name=name, knowledge=knowledge)
        self.payees[payee.id] = payee
        return payee

    def category_by_name(self, name: str) -> Category:
        """Return the one category called ``name``, or raise ValueError for none or several."""
        found = [c for c in self.categories.values() if c.name == name and not c.deleted]
        if len(found) != 1:
            raise ValueError(f"plan {self.name!r} has {len(found)} categories named {name!r}")
        return found[0]

    def is_on_budget_transfer(self, account_id: str, payee_id: str | None) -> bool:
        target = self.transfer_target(payee_id)
        return target is not None and target.on_budget and self.accounts[account_id].on_budget

    def transfer_target(self, payee_id: str | None) -> Account | None:
        payee = self.payees.get(payee_id) if payee_id else None
        if payee is None or payee.transfer_account_id is None:
            return None
        return self.accounts[payee.transfer_account_id]

    # --- transactions ---------------------------------------------------------------------

    def check_semantics(self, fields: dict, index: int, existing: Transaction | None) -> list[str]:
        """Return the errors that need more than one field to see, before anything changes."""
        errors = []
        account_id = fields.get("account_id") or (existing.account_id if existing else None)
        # A payee_name never resolves to a transfer payee, so only payee_id can make a transfer.
        if "payee_id" in fields or "payee_name" in fields or existing is None:
            payee_id = fields.get("payee_id")
        else:
            payee_id = existing.payee_id

        target = self.transfer_target(payee_id)
        if target is not None and target.id == account_id:
            errors.append(f"a transfer must go to another account (index: {index})")

        has_subtransactions = bool(fields.get("subtransactions")) or bool(
            existing and existing.subtransactions
        )
        if target is not None and has_subtransactions:
            # NOTE: YNAB allows transfers inside splits, but this emulator does not model them.
            errors.append(f"split transfers are not supported by the emulator (index: {index})")

        for sub in fields.get("subtransactions") or ():
            if self.transfer_target(sub.get("payee_id")) is not None:
                errors.append(f"split transfers are not supported by the emulator (index: {index})")
                break

        moving = existing is not None and account_id != existing.account_id
        if moving and existing.transfer_account_id is not None:
            errors.append(f"a transfer cannot move to another account (index: {index})")
        if moving and existing.import_id and (account_id, existing.import_id) in self.import_index:
            errors.append(f"import_id already exists on the target account (index: {index})")

        return errors

    def resolve_payee(self, fields: dict, knowledge: int) -> Payee | None:
        """Return the payee ``fields`` name: ``payee_id`` first, then ``payee_name``."""
        if fields.get("payee_id"):
            return self.payees[fields["payee_id"]]
        if fields.get("payee_name"):
            return self.payee_by_name(fields["payee_name"], knowledge)
        return None

    def create_transaction(
        self, fields: dict, knowledge: int, *, match: bool, transaction_id: str | None = None
    ) -> Transaction:
        """Store a new transaction from checked ``fields`` and return it.

        With ``match`` an imported transaction (one with an import_id) is first matched to a
        user-entered one, as YNAB does (see ``_match``). Otherwise a transfer payee creates the
        other side of the transfer.
        """
        transaction = Transaction(
            id=transaction_id or str(uuid.uuid4()),
            account_id=fields["account_id"],
            date=fields["date"],
            amount=fields["amount"],
            memo=fields.get("memo"),
            cleared=fields.get("cleared", "uncleared"),
            approved=fields.get("approved", False),
            flag_color=fields.get("flag_color"),
            import_id=fields.get("import_id"),
            knowledge=knowledge,
        )
        payee = self.resolve_payee(fields, knowledge)
        transaction.payee_id = payee.id if payee else None
        if transaction.import_id and fields.get("payee_name"):
            transaction.import_payee_name = fields["payee_name"]
            transaction.import_payee_name_original = fields["payee_name"]

        transaction.category_id = self._category_for(transaction, fields.get("category_id"))
        if fields.get("subtransactions"):
            self._make_split(transaction, fields["subtransactions"], knowledge)

        self.transactions[transaction.id] = transaction
        self._touch_account(transaction.account_id, knowledge)

        matched = self._match(transaction, knowledge) if match and transaction.import_id else None
        if matched is None:
            self._match_index[(transaction.account_id, transaction.amount)].append(transaction.id)
            target = self.transfer_target(transaction.payee_id)
            if target is not None:
                self._create_counterpart(transaction, target, knowledge)

        if transaction.import_id:
            key = (transaction.account_id, transaction.import_id)
            self.import_index[key] = matched.id if matched else transaction.id

        return transaction

    def _category_for(self, transaction: Transaction, category_id: str | None) -> str | None:
        if category_id == self.uncategorized_category_id:
            return None
        if self.is_on_budget_transfer(transaction.account_id, transaction.payee_id):
            # YNAB drops the category of a transfer between two on-budget accounts.
            return None
        return category_id

    def _make_split(self, transaction: Transaction, subtransactions: list[dict], knowledge: int):
        transaction.category_id = self.split_category_id
        transaction.subtransactions = []
        for position, fields in enumerate(subtransactions):
            payee = self.resolve_payee(fields, knowledge)
            transaction.subtransactions.append(
                SubTransaction(
                    id=stable_uuid(transaction.id, "subtransaction", knowledge, position),
                    transaction_id=transaction.id,
                    amount=fields["amount"],
                    memo=fields.get("memo"),
                    payee_id=payee.id if payee else None,
                    category_id=fields.get("category_id"),
                )
            )

    def _match(self, imported: Transaction, knowledge: int) -> Transaction | None:
        """Link ``imported`` to a user-entered transaction, if one qualifies, and return it.

        A candidate is on the same account, has the same amount, no import_id, is neither
        deleted nor already matched, and is dated at most MATCH_WINDOW_DAYS away. The nearest
        date wins. Reconciled transactions are locked in YNAB, so they are never candidates.
        YNAB does not document this, so it is the emulator's assumption.

        As in YNAB, the user-entered transaction stays the visible row and keeps its date,
        payee, category and memo. It takes over the import_id and a cleared status from the
        bank, and both sides point at each other through matched_transaction_id. The
        imported transaction is stored but hidden from list requests.
        """
        day = date.fromisoformat(imported.date)
        best: Transaction | None = None
        best_gap = MATCH_WINDOW_DAYS + 1
        for candidate_id in self._match_index.get((imported.account_id, imported.amount), ()):
            candidate = self.transactions[candidate_id]
            eligible = (
                candidate.account_id == imported.account_id
                and candidate.amount == imported.amount
                and candidate.import_id is None
                and candidate.matched_transaction_id is None
                and candidate.cleared != "reconciled"
                and not candidate.deleted
                and not candidate.hidden
            )
            if not eligible:
                continue

            gap = abs((date.fromisoformat(candidate.date) - day).days)
            if gap < best_gap:
                best, best_gap = candidate, gap

        if best is None:
            return None

        imported.hidden = True
        imported.matched_transaction_id = best.id
        best.matched_transaction_id = imported.id
        best.import_id = imported.import_id
        best.import_payee_name = imported.import_payee_name
        best.import_payee_name_original = imported.import_payee_name_original
        if imported.cleared != "uncleared" and best.cleared == "uncleared":
            best.cleared = imported.cleared
        best.knowledge = knowledge
        return best

    def _create_counterpart(self, source: Transaction, target: Account, knowledge: int) -> None:
        """Create the other side of a transfer on ``target``, as YNAB does on its own.

        The counterpart has the negated amount and the same date and memo, no import_id, and
        starts uncleared and approved.
        """
        source_account = self.accounts[source.account_id]
        counterpart = Transaction(
            id=stable_uuid(source.id, "transfer", knowledge),
            account_id=target.id,
            date=source.date,
            amount=-source.amount,
            memo=source.memo,
            cleared="uncleared",
            approved=True,
            payee_id=source_account.transfer_payee_id,
            transfer_account_id=source.account_id,
            transfer_transaction_id=source.id,
            knowledge=knowledge,
        )
        self.transactions[counterpart.id] = counterpart
        self._match_index[(counterpart.account_id, counterpart.amount)].append(counterpart.id)
        source.transfer_account_id = target.id
        source.transfer_transaction_id = counterpart.id
        self._touch_account(target.id, knowledge)

    def update_transaction(self, transaction: Transaction, fields: dict, knowledge: int) -> None:
        """Apply checked ``fields`` to an existing transaction, as PATCH and PUT do.

        As in YNAB, a split keeps its date, amount, category and subtransactions. A change of
        payee to or from a transfer payee creates or deletes the other side of the transfer,
        and a new date or amount is copied to it.
        """
        is_split = bool(transaction.subtransactions)
        old_key = (transaction.account_id, transaction.amount)
        self._touch_account(transaction.account_id, knowledge)

        if "account_id" in fields and fields["account_id"] != transaction.account_id:
            if transaction.import_id:
                del self.import_index[(transaction.account_id, transaction.import_id)]
                self.import_index[(fields["account_id"], transaction.import_id)] = transaction.id
            transaction.account_id = fields["account_id"]
        if "date" in fields and not is_split:
            transaction.date = fields["date"]
        if "amount" in fields and not is_split:
            transaction.amount = fields["amount"]

        if (transaction.account_id, transaction.amount) != old_key:
            self._match_index[old_key].remove(transaction.id)
            self._match_index[(transaction.account_id, transaction.amount)].append(transaction.id)

        if "payee_id" in fields or "payee_name" in fields:
            self._set_payee(transaction, self.resolve_payee(fields, knowledge), knowledge)

        if "category_id" in fields and not is_split:
            transaction.category_id = self._category_for(transaction, fields["category_id"])
        elif self.is_on_budget_transfer(transaction.account_id, transaction.payee_id):
            transaction.category_id = None

        for key in ("memo", "cleared", "approved", "flag_color"):
            if key in fields:
                setattr(transaction, key, fields[key])

        if fields.get("subtransactions") and not is_split:
            self._make_split(transaction, fields["subtransactions"], knowledge)

        counterpart = self.transactions.get(transaction.transfer_transaction_id or "")
        if counterpart is not None:
            counterpart_key = (counterpart.account_id, counterpart.amount)
            counterpart.date = transaction.date
            counterpart.amount = -transaction.amount
            if (counterpart.account_id, counterpart.amount) != counterpart_key:
                self._match_index[counterpart_key].remove(counterpart.id)
                self._match_index[(counterpart.account_id, counterpart.amount)].append(
                    counterpart.id
                )
            counterpart.knowledge = knowledge
            self._touch_account(counterpart.account_id, knowledge)

        transaction.knowledge = knowledge
        self._touch_account(transaction.account_id, knowledge)

    def _set_payee(self, transaction: Transaction, payee: Payee | None, knowledge: int) -> None:
        new_target = payee.transfer_account_id if payee else None
        if transaction.transfer_transaction_id and new_target != transaction.transfer_account_id:
            old = self.transactions[transaction.transfer_transaction_id]
            old.deleted = True
            old.knowledge = knowledge
            self._touch_account(old.account_id, knowledge)
            transaction.transfer_account_id = None
            transaction.transfer_transaction_id = None

        transaction.payee_id = payee.id if payee else None
        if new_target is not None and transaction.transfer_transaction_id is None:
            self._create_counterpart(transaction, self.accounts[new_target], knowledge)

    def delete_transaction(self, transaction: Transaction, knowledge: int) -> None:
        """Delete a transaction together with its transfer counterpart and its matched import."""
        linked = [transaction]
        for linked_id in (transaction.transfer_transaction_id, transaction.matched_transaction_id):
            if linked_id and linked_id in self.transactions:
                linked.append(self.transactions[linked_id])

        for linked_transaction in linked:
            linked_transaction.deleted = True
            linked_transaction.knowledge = knowledge
            for sub in linked_transaction.subtransactions:
                sub.deleted = True
            self._touch_account(linked_transaction.account_id, knowledge)

    def _touch_account(self, account_id: str, knowledge: int) -> None:
        # A transaction change changes the account's balance, so the account is in the delta.
        self.accounts[account_id].knowledge = knowledge

    def visible_transactions(self, since_knowledge: int | None) -> Iterable[Transaction]:
        """Yield the transactions a list returns, with deleted ones only in a delta request."""
        for transaction in self.transactions.values():
            if transaction.hidden:
                continue
            if since_knowledge is None:
                if transaction.deleted:
                    continue
            elif transaction.knowledge <= since_knowledge:
                continue
            yield transaction

    def is_uncategorized(self, transaction: Transaction) -> bool:
        if (
            transaction.category_id is not None
            or not self.accounts[transaction.account_id].on_budget
        ):
            return False
        return not self.is_on_budget_transfer(transaction.account_id, transaction.payee_id)

    # --- JSON -----------------------------------------------------------------------------

    def balances(self) -> dict[str, tuple[int, int]]:
        """Return each account's (cleared, uncleared) balance in milliunits."""
        totals = {aid: [account.opening_balance, 0] for aid, account in self.accounts.items()}
        for transaction in self.transactions.values():
            if transaction.deleted or transaction.hidden:
                continue
            column = 1 if transaction.cleared == "uncleared" else 0
            totals[transaction.account_id][column] += transaction.amount
        return {aid: (cleared, uncleared) for aid, (cleared, uncleared) in totals.items()}

    def _money(self, key: str, milliunits: int) -> dict:
        return {
            key: milliunits,
            f"{key}_formatted": format_amount(milliunits, self.currency_format),
            f"{key}_currency": amount_currency(milliunits),
        }

    def account_json(self, account: Account, balances: dict[str, tuple[int, int]]) -> dict:
        cleared, uncleared = balances[account.id]
        return {
            "id": account.id,
            "name": account.name,
            "type": account.type,
            "on_budget": account.on_budget,
            "closed": account.closed,
            "note": account.note,
            **self._money("balance", cleared + uncleared),
            **self._money("cleared_balance", cleared),
            **self._money("uncleared_balance", uncleared),
            "transfer_payee_id": account.transfer_payee_id,
            "direct_import_linked": account.direct_import_linked,
            "direct_import_in_error": False,
            "last_reconciled_at": account.last_reconciled_at,
            "debt_original_balance": None,
            "debt_interest_rates": {},
            "debt_minimum_payments": {},
            "debt_escrow_amounts": {},
            "deleted": account.deleted,
        }

    def category_json(self, category: Category) -> dict:
        group = self.category_groups[category.category_group_id]
        return {
            "id": category.id,
            "category_group_id": category.category_group_id,
            "category_group_name": group.name,
            "name": category.name,
            "hidden": category.hidden,
            "internal": category.internal,
            "original_category_group_id": None,
            "note": category.note,
            **self._money("budgeted", category.budgeted),
            **self._money("activity", category.activity),
            **self._money("balance", category.balance),
            "goal_type": category.goal_type,
            "goal_needs_whole_amount": None,
            "goal_day": None,
            "goal_cadence": None,
            "goal_cadence_frequency": None,
            "goal_creation_month": None,
            "goal_target": category.goal_target,
            "goal_target_month": None,
            "goal_target_date": None,
            "goal_percentage_complete": None,
            "goal_months_to_budget": None,
            "goal_under_funded": None,
            "goal_overall_funded": None,
            "goal_overall_left": None,
            "goal_snoozed_at": None,
            "deleted": category.deleted,
        }

    def group_json(self, group: CategoryGroup, categories: list[Category] | None) -> dict:
        data = {
            "id": group.id,
            "name": group.name,
            "hidden": group.hidden,
            "internal": group.internal,
            "deleted": group.deleted,
        }
        if categories is not None:
            data["categories"] = [self.category_json(category) for category in categories]
        return data

    @staticmethod
    def payee_json(payee: Payee) -> dict:
        return {
            "id": payee.id,
            "name": payee.name,
            "transfer_account_id": payee.transfer_account_id,
            "deleted": payee.deleted,
        }

    def category_name(self, category_id: str | None) -> str | None:
        if category_id is None:
            return None
        if category_id == self.split_category_id:
            return SPLIT_CATEGORY_NAME
        return self.categories[category_id].name

    def payee_name(self, payee_id: str | None) -> str | None:
        return self.payees[payee_id].name if payee_id else None

    def transaction_json(self, transaction: Transaction, *, with_names: bool = True) -> dict:
        """Return a TransactionDetail, or a TransactionSummary without ``with_names``."""
        data = {
            "id": transaction.id,
            "date": transaction.date,
            "amount": transaction.amount,
            "memo": transaction.memo,
            "cleared": transaction.cleared,
            "approved": transaction.approved,
            "flag_color": transaction.flag_color,
            "flag_name": transaction.flag_name,
            "account_id": transaction.account_id,
            "payee_id": transaction.payee_id,
            "category_id": transaction.category_id,
            "transfer_account_id": transaction.transfer_account_id,
            "transfer_transaction_id": transaction.transfer_transaction_id,
            "matched_transaction_id": transaction.matched_transaction_id,
            "import_id": transaction.import_id,
            "import_payee_name": transaction.import_payee_name,
            "import_payee_name_original": transaction.import_payee_name_original,
            "debt_transaction_type": transaction.debt_transaction_type,
            "deleted": transaction.deleted,
            "amount_formatted": format_amount(transaction.amount, self.currency_format),
            "amount_currency": amount_currency(transaction.amount),
        }
        if with_names:
            data["account_name"] = self.accounts[transaction.account_id].name
            data["payee_name"] = self.payee_name(transaction.payee_id)
            data["category_name"] = self.category_name(transaction.category_id)
            data["subtransactions"] = [
                self.subtransaction_json(sub)
                for sub in transaction.subtransactions
                if not sub.deleted or transaction.deleted
            ]
        return data

    def subtransaction_json(self, sub: SubTransaction) -> dict:
        return {
            "id": sub.id,
            "transaction_id": sub.transaction_id,
            "amount": sub.amount,
            "memo": sub.memo,
            "payee_id": sub.payee_id,
            "payee_name": self.payee_name(sub.payee_id),
            "category_id": sub.category_id,
            "category_name": self.category_name(sub.category_id),
            "transfer_account_id": None,
            "transfer_transaction_id": None,
            "deleted": sub.deleted,
            "amount_formatted": format_amount(sub.amount, self.currency_format),
            "amount_currency": amount_currency(sub.amount),
        }

    def summary_json(self, today: date, *, include_accounts: bool) -> dict:
        """Return the PlanSummary that GET /plans lists."""
        months = [t.date[:7] for t in self.transactions.values() if not t.deleted]
        this_month = today.isoformat()[:7]
        data = {
            "id": self.id,
            "name": self.name,
            "last_modified_on": self.last_modified_on.isoformat(timespec="seconds"),
            "first_month": min([*months, this_month]) + "-01",
            "last_month": max([*months, this_month]) + "-01",
            "date_format": {"format": self.date_format},
            "currency_format": dict(self.currency_format),
        }
        if include_accounts:
            balances = self.balances()
            data["accounts"] = [
                self.account_json(account, balances)
                for account in self.accounts.values()
                if not account.deleted
            ]
        return data
