"""A small YNAB client: delta reads, one bulk create per call, and typed errors.

It counts every request it sends so that the sync can report (and stay within) YNAB's limit of
200 requests per token per rolling hour.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 60.0
_ERROR_INDEX = re.compile(r"\(index: (\d+)\)")


class YnabError(RuntimeError):
    """A YNAB request failed; ``status`` is the HTTP status and ``detail`` YNAB's message."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class YnabRateLimited(YnabError):
    """YNAB returned 429 because the token's hourly request budget is used up."""


class YnabBadRequest(YnabError):
    """YNAB rejected the request body (400); ``errors_by_index`` maps item index to message."""

    @property
    def errors_by_index(self) -> dict[int, str]:
        errors: dict[int, str] = {}
        for part in self.detail.split(", "):
            match = _ERROR_INDEX.search(part)
            if match:
                index = int(match.group(1))
                message = _ERROR_INDEX.sub("", part).strip()
                errors[index] = f"{errors[index]}; {message}" if index in errors else message
        return errors


@dataclass
class CreateResult:
    """Result of one bulk create."""

    transactions: list[dict[str, Any]] = field(default_factory=list)
    duplicate_import_ids: list[str] = field(default_factory=list)
    server_knowledge: int | None = None


class YnabClient:
    """The calls the sync and the training need, on one SDK ``ApiClient``."""

    def __init__(self, access_token: str, host: str | None = None) -> None:
        import ynab

        configuration = ynab.Configuration(access_token=access_token)
        if host:
            configuration = ynab.Configuration(host=host.rstrip("/"), access_token=access_token)
        self._api_client = ynab.ApiClient(configuration)
        self._plans = ynab.PlansApi(self._api_client)
        self._accounts = ynab.AccountsApi(self._api_client)
        self._categories = ynab.CategoriesApi(self._api_client)
        self._payees = ynab.PayeesApi(self._api_client)
        self._transactions = ynab.TransactionsApi(self._api_client)
        self.requests: Counter = Counter()

    def close(self) -> None:
        # ynab 4.4's ApiClient keeps a urllib3 pool manager and has no close(), so clear its pools.
        self._api_client.rest_client.pool_manager.clear()

    def __enter__(self) -> YnabClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def get_plans_with_accounts(self) -> list[dict[str, Any]]:
        """Return every plan with its accounts, in one request."""
        response = self._send("get_plans", self._plans.get_plans, include_accounts=True)
        return [plan.to_dict() for plan in response.data.plans]

    def get_transactions(
        self, plan_id: str, last_knowledge: int | None, since_date: dt.date | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return the plan's transactions changed since ``last_knowledge`` (all when None).

        Without ``since_date`` YNAB returns only the last year, so a first full read passes an
        early date to get the whole history.
        """
        response = self._send(
            "get_transactions",
            self._transactions.get_transactions,
            plan_id,
            since_date=since_date,
            last_knowledge_of_server=last_knowledge,
        )
        data = response.data
        return [item.to_dict() for item in data.transactions], data.server_knowledge

    def get_categories(
        self, plan_id: str, last_knowledge: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return category groups (with their categories) changed since ``last_knowledge``."""
        response = self._send(
            "get_categories",
            self._categories.get_categories,
            plan_id,
            last_knowledge_of_server=last_knowledge,
        )
        data = response.data
        return [group.to_dict() for group in data.category_groups], data.server_knowledge

    def get_payees(
        self, plan_id: str, last_knowledge: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        response = self._send(
            "get_payees", self._payees.get_payees, plan_id, last_knowledge_of_server=last_knowledge
        )
        data = response.data
        return [payee.to_dict() for payee in data.payees], data.server_knowledge

    def create_transactions(self, plan_id: str, payloads: list[dict[str, Any]]) -> CreateResult:
        """Create ``payloads`` (YNAB transaction JSON objects) in one bulk POST."""
        import ynab

        wrapper = ynab.PostTransactionsWrapper(
            transactions=[ynab.NewTransaction.from_dict(payload) for payload in payloads]
        )
        response = self._send(
            "create_transactions", self._transactions.create_transaction, plan_id, wrapper
        )
        data = response.data
        return CreateResult(
            transactions=[item.to_dict() for item in data.transactions or []],
            duplicate_import_ids=list(data.duplicate_import_ids or []),
            server_knowledge=data.server_knowledge,
        )

    def _send(self, name: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        import ynab

        self.requests[name] += 1
        try:
            return method(*args, _request_timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
        except ynab.ApiException as error:
            raise _translate(error, name) from None


def _translate(error: Any, request_name: str) -> YnabError:
    """Turn an SDK exception into a YnabError whose message has YNAB's detail, not headers."""
    import json

    detail = ""
    try:
        detail = json.loads(error.body or "{}").get("error", {}).get("detail", "")
    except (ValueError, AttributeError):
        detail = (error.body or "")[:500]
    status = error.status
    message = f"YNAB {request_name} failed with HTTP {status}: {detail or error.reason}"
    if status == 429:
        return YnabRateLimited(message, status, detail)
    if status == 400:
        return YnabBadRequest(message, status, detail)
    return YnabError(message, status, detail)
