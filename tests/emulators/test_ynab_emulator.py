"""The YNAB emulator driven by the official ynab 4.4.1 SDK over HTTP on 127.0.0.1.

Requests the SDK cannot send (it checks lengths and types on the client) go through
urllib, so the emulator's own validation is tested too. The recorded responses in
tests/fixtures/ynab check that the emulator's JSON has YNAB's field names and types.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
import urllib3
import ynab
from ynab.exceptions import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    ServiceException,
    UnauthorizedException,
)

from emulators.ynab import YnabEmulator

TOKEN = "test-ynab-token"
TODAY = date(2026, 6, 15)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ynab"
REPO_ROOT = Path(__file__).resolve().parents[2]

PLAN_ID = "11111111-1111-4111-8111-111111111111"
SHARED_PLAN_ID = "22222222-2222-4222-8222-222222222222"
CHECKING = "aaaaaaaa-0000-4000-8000-000000000001"
SAVINGS = "aaaaaaaa-0000-4000-8000-000000000002"
TRACKING = "aaaaaaaa-0000-4000-8000-000000000003"
JOINT = "aaaaaaaa-0000-4000-8000-000000000004"
GROCERIES = "cccccccc-0000-4000-8000-000000000001"
EATING_OUT = "cccccccc-0000-4000-8000-000000000002"
PERSONAL_CARE = "cccccccc-0000-4000-8000-000000000003"
USER_ENTERED = "dddddddd-0000-4000-8000-000000000001"
SPLIT = "dddddddd-0000-4000-8000-000000000002"
UNCATEGORIZED = "dddddddd-0000-4000-8000-000000000003"
RECONCILED = "dddddddd-0000-4000-8000-000000000004"
DELETED = "dddddddd-0000-4000-8000-000000000005"
SEED_TRANSFER = "dddddddd-0000-4000-8000-000000000006"
UNKNOWN_UUID = "eeeeeeee-0000-4000-8000-000000000000"

TRANSACTIONS_ROUTE = "/v1/plans/{plan_id}/transactions"


def make_seed() -> dict:
    return {
        "ynab": {
            "token": TOKEN,
            "plans": [
                {
                    "id": PLAN_ID,
                    "name": "Household",
                    "currency": "EUR",
                    "accounts": [
                        {"id": CHECKING, "name": "Checking", "type": "checking",
                         "note": "IBAN NL12 BUNQ 0123 4567 01", "balance": 100000},
                        {"id": SAVINGS, "name": "Savings", "type": "savings"},
                        {"id": TRACKING, "name": "Pension", "type": "otherAsset"},
                    ],
                    "category_groups": [
                        {"name": "Everyday", "categories": [
                            {"id": GROCERIES, "name": "Groceries"},
                            {"id": EATING_OUT, "name": "Eating out"},
                            {"id": PERSONAL_CARE, "name": "Personal care"},
                        ]},
                    ],
                    "payees": [{"name": "Albert Heijn"}],
                    "transactions": [
                        {"id": USER_ENTERED, "account_id": CHECKING, "date": "2026-06-01",
                         "amount": -24950, "payee_name": "Albert Heijn",
                         "category_id": GROCERIES, "cleared": "cleared", "approved": True},
                        {"id": SPLIT, "account_id": CHECKING, "date": "2026-06-03",
                         "amount": -60000, "payee_name": "Kruidvat", "approved": True,
                         "subtransactions": [
                             {"amount": -20000, "category_id": GROCERIES},
                             {"amount": -40000, "category_name": "Personal care"},
                         ]},
                        {"id": UNCATEGORIZED, "account_id": CHECKING, "date": "2026-06-04",
                         "amount": -5000, "payee_name": "Tikkie"},
                        {"id": RECONCILED, "account_id": CHECKING, "date": "2026-05-20",
                         "amount": -7700, "payee_name": "Bakery", "category_id": EATING_OUT,
                         "cleared": "reconciled", "approved": True},
                        {"id": DELETED, "account_id": CHECKING, "date": "2026-06-05",
                         "amount": -3000, "payee_name": "Jumbo", "import_id": "bunq:deleted",
                         "deleted": True},
                        {"id": SEED_TRANSFER, "account_id": CHECKING, "date": "2026-06-02",
                         "amount": -100000, "transfer_account_id": SAVINGS, "approved": True,
                         "memo": "Sparen"},
                    ],
                },
                {
                    "id": SHARED_PLAN_ID,
                    "name": "Shared",
                    "currency": "EUR",
                    "default": True,
                    "accounts": [{"id": JOINT, "name": "Joint", "type": "checking"}],
                },
            ],
        }
    }  # fmt: skip


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def emulator():
    emulator = YnabEmulator(make_seed(), today=TODAY).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(emulator):
    # retries=0: urllib3 would otherwise retry GETs and hide the faults under test.
    config = ynab.Configuration(host=emulator.base_url, access_token=TOKEN, retries=0)
    with ynab.ApiClient(config) as api_client:
        yield api_client


@pytest.fixture
def transactions_api(client):
    return ynab.TransactionsApi(client)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def raw_request(emulator, method, path, body=None, token=TOKEN):
    """Send a request without the SDK; return (status, JSON body, headers)."""
    url = emulator.base_url.removesuffix("/v1") + path
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def new_transaction(**fields) -> ynab.NewTransaction:
    values = {"account_id": CHECKING, "var_date": TODAY - timedelta(days=1), "amount": -1234}
    values.update(fields)
    return ynab.NewTransaction(**values)


def post_many(transactions_api, *transactions):
    wrapper = ynab.PostTransactionsWrapper(transactions=list(transactions))
    return transactions_api.create_transaction(PLAN_ID, wrapper).data


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))[0]["response"]


# --- plans, user, auth -------------------------------------------------------------------


def test_plans_include_accounts(client):
    data = ynab.PlansApi(client).get_plans(include_accounts=True).data

    assert [str(plan.id) for plan in data.plans] == [PLAN_ID, SHARED_PLAN_ID]
    household = data.plans[0]
    assert [str(account.id) for account in household.accounts] == [CHECKING, SAVINGS, TRACKING]
    assert household.currency_format.iso_code == "EUR"
    assert household.currency_format.decimal_separator == ","
    assert household.date_format.format == "DD-MM-YYYY"
    assert str(data.default_plan.id) == SHARED_PLAN_ID


def test_plans_without_accounts(client):
    data = ynab.PlansApi(client).get_plans().data

    assert data.plans[0].accounts is None
    assert data.plans[0].first_month == date(2026, 5, 1)
    assert data.plans[0].last_month == date(2026, 6, 1)


def test_plan_detail_and_settings(client):
    plans = ynab.PlansApi(client)
    detail = plans.get_plan_by_id(PLAN_ID).data
    settings = plans.get_plan_settings_by_id(PLAN_ID).data.settings

    assert detail.plan.name == "Household"
    assert len(detail.plan.transactions) == 6  # five seeded, one transfer counterpart
    assert len(detail.plan.subtransactions) == 2
    assert detail.server_knowledge == 1
    assert settings.currency_format.currency_symbol == "€"


def test_plan_aliases(client):
    accounts = ynab.AccountsApi(client)

    default = accounts.get_accounts("default").data.accounts
    accounts.get_accounts(PLAN_ID)
    last_used = accounts.get_accounts("last-used").data.accounts

    assert [str(a.id) for a in default] == [JOINT]
    assert [str(a.id) for a in last_used] == [CHECKING, SAVINGS, TRACKING]


def test_user(client):
    user = ynab.UserApi(client).get_user().data.user

    assert user.id is not None


def test_unknown_plan_is_404(client):
    with pytest.raises(NotFoundException) as raised:
        ynab.AccountsApi(client).get_accounts(UNKNOWN_UUID)

    assert raised.value.status == 404
    assert json.loads(raised.value.body)["error"] == {
        "id": "404.2",
        "name": "resource_not_found",
        "detail": "Resource not found",
    }


def test_unknown_transaction_is_404(transactions_api):
    with pytest.raises(NotFoundException):
        transactions_api.get_transaction_by_id(PLAN_ID, UNKNOWN_UUID)


def test_wrong_token_is_401(emulator):
    config = ynab.Configuration(host=emulator.base_url, access_token="wrong", retries=0)
    with ynab.ApiClient(config) as api_client, pytest.raises(UnauthorizedException) as raised:
        ynab.PlansApi(api_client).get_plans()

    assert json.loads(raised.value.body)["error"] == {
        "id": "401",
        "name": "not_authorized",
        "detail": "Unauthorized",
    }


def test_missing_token_is_401(emulator):
    status, body, _ = raw_request(emulator, "GET", "/v1/plans", token=None)

    assert status == 401
    assert body["error"]["name"] == "not_authorized"


def test_unknown_path_is_404_1(emulator):
    status, body, _ = raw_request(emulator, "GET", "/v1/nothing-here")

    assert status == 404
    assert body["error"]["id"] == "404.1"


def test_no_rate_limit_header(emulator):
    _, _, headers = raw_request(emulator, "GET", "/v1/plans")

    assert headers.get("X-Rate-Limit") is None
    assert headers["Content-Type"].startswith("application/json")


# --- accounts, categories, payees --------------------------------------------------------


def test_accounts_parse_with_balances(client):
    accounts = ynab.AccountsApi(client).get_accounts(PLAN_ID).data.accounts
    checking = accounts[0]

    # Opening 100.00, user entries -24.95 -60.00 -5.00 -7.70, transfer -100.00.
    assert checking.note == "IBAN NL12 BUNQ 0123 4567 01"
    assert checking.balance == 100000 - 24950 - 60000 - 5000 - 7700 - 100000
    assert checking.uncleared_balance == -60000 - 5000 - 100000
    assert accounts[1].balance == 100000
    assert accounts[2].on_budget is False


def test_transfer_payees_match_accounts(client):
    accounts = ynab.AccountsApi(client).get_accounts(PLAN_ID).data.accounts
    payees = ynab.PayeesApi(client).get_payees(PLAN_ID).data.payees
    by_id = {payee.id: payee for payee in payees}

    for account in accounts:
        payee = by_id[account.transfer_payee_id]
        assert payee.transfer_account_id == str(account.id)
        assert payee.name == f"Transfer : {account.name}"


def test_single_account(client):
    account = ynab.AccountsApi(client).get_account_by_id(PLAN_ID, SAVINGS).data.account

    assert account.name == "Savings"


def test_categories_include_internal_group(client):
    groups = ynab.CategoriesApi(client).get_categories(PLAN_ID).data.category_groups
    names = [group.name for group in groups]
    internal = groups[0]

    assert names == ["Internal Master Category", "Credit Card Payments", "Everyday"]
    assert internal.internal is True
    assert [c.name for c in internal.categories] == ["Inflow: Ready to Assign", "Uncategorized"]
    assert all(category.internal for category in internal.categories)
    assert [c.name for c in groups[2].categories] == ["Groceries", "Eating out", "Personal care"]


def test_single_category(client):
    category = ynab.CategoriesApi(client).get_category_by_id(PLAN_ID, GROCERIES).data.category

    assert category.name == "Groceries"
    assert category.category_group_name == "Everyday"


def test_payees_include_builtin_and_seeded(client):
    payees = ynab.PayeesApi(client).get_payees(PLAN_ID).data.payees
    names = [payee.name for payee in payees]

    assert "Starting Balance" in names
    assert "Albert Heijn" in names
    assert "Kruidvat" in names  # created by a seeded transaction's payee_name


# --- reading transactions ----------------------------------------------------------------


def test_transactions_parse_with_names(transactions_api):
    data = transactions_api.get_transactions(PLAN_ID).data
    by_id = {t.id: t for t in data.transactions}

    user_entered = by_id[USER_ENTERED]
    assert user_entered.account_name == "Checking"
    assert user_entered.payee_name == "Albert Heijn"
    assert user_entered.category_name == "Groceries"
    assert user_entered.import_id is None
    assert DELETED not in by_id
    assert [t.var_date for t in data.transactions] == sorted(t.var_date for t in data.transactions)


def test_split_transaction(transactions_api):
    split = transactions_api.get_transaction_by_id(PLAN_ID, SPLIT).data.transaction

    assert split.category_name == "Split"
    assert [sub.amount for sub in split.subtransactions] == [-20000, -40000]
    assert [sub.category_name for sub in split.subtransactions] == ["Groceries", "Personal care"]
    assert all(sub.transaction_id == SPLIT for sub in split.subtransactions)


def test_transactions_by_account(transactions_api):
    savings = transactions_api.get_transactions_by_account(PLAN_ID, SAVINGS).data.transactions

    assert [t.amount for t in savings] == [100000]


def test_transactions_by_unknown_account_is_404(transactions_api):
    with pytest.raises(NotFoundException):
        transactions_api.get_transactions_by_account(PLAN_ID, UNKNOWN_UUID)


def test_since_and_until_date(transactions_api):
    since = transactions_api.get_transactions(PLAN_ID, since_date=date(2026, 6, 3)).data
    until = transactions_api.get_transactions(PLAN_ID, until_date=date(2026, 5, 31)).data

    assert {t.id for t in since.transactions} == {SPLIT, UNCATEGORIZED}
    assert [t.id for t in until.transactions] == [RECONCILED]


def test_type_filters(transactions_api):
    uncategorized = transactions_api.get_transactions(PLAN_ID, type="uncategorized").data
    unapproved = transactions_api.get_transactions(PLAN_ID, type="unapproved").data

    # Neither the split nor the transfer between two on-budget accounts is uncategorised.
    assert [t.id for t in uncategorized.transactions] == [UNCATEGORIZED]
    assert UNCATEGORIZED in [t.id for t in unapproved.transactions]
    assert USER_ENTERED not in [t.id for t in unapproved.transactions]


def test_bad_type_filter_is_400(emulator):
    path = f"/v1/plans/{PLAN_ID}/transactions?type=everything"
    status, body, _ = raw_request(emulator, "GET", path)

    assert status == 400
    assert body["error"]["name"] == "bad_request"


def test_default_since_days_limits_transactions():
    emulator = YnabEmulator(make_seed(), today=TODAY, default_since_days=13).start()
    try:
        status, body, _ = raw_request(emulator, "GET", f"/v1/plans/{PLAN_ID}/transactions")
    finally:
        emulator.stop()

    assert status == 200
    assert min(t["date"] for t in body["data"]["transactions"]) == "2026-06-02"


# --- delta requests ----------------------------------------------------------------------


def test_delta_returns_only_changes(emulator, transactions_api):
    knowledge = transactions_api.get_transactions(PLAN_ID).data.server_knowledge

    emulator.update_transaction(PLAN_ID, UNCATEGORIZED, category_name="Eating out")
    delta = transactions_api.get_transactions(PLAN_ID, last_knowledge_of_server=knowledge).data

    assert [t.id for t in delta.transactions] == [UNCATEGORIZED]
    assert delta.transactions[0].category_name == "Eating out"
    assert delta.server_knowledge == knowledge + 1


def test_delta_without_changes_is_empty(transactions_api):
    knowledge = transactions_api.get_transactions(PLAN_ID).data.server_knowledge
    delta = transactions_api.get_transactions(PLAN_ID, last_knowledge_of_server=knowledge).data

    assert delta.transactions == []
    assert delta.server_knowledge == knowledge


def test_deleted_appears_only_in_delta(emulator, transactions_api):
    knowledge = transactions_api.get_transactions(PLAN_ID).data.server_knowledge

    emulator.delete_transaction(PLAN_ID, USER_ENTERED)
    full = transactions_api.get_transactions(PLAN_ID).data
    delta = transactions_api.get_transactions(PLAN_ID, last_knowledge_of_server=knowledge).data

    assert USER_ENTERED not in [t.id for t in full.transactions]
    assert [(t.id, t.deleted) for t in delta.transactions] == [(USER_ENTERED, True)]


def test_delta_from_zero_includes_seeded_deletions(transactions_api):
    delta = transactions_api.get_transactions(PLAN_ID, last_knowledge_of_server=0).data

    assert DELETED in [t.id for t in delta.transactions if t.deleted]


def test_account_and_payee_deltas(client, transactions_api):
    accounts_api, payees_api = ynab.AccountsApi(client), ynab.PayeesApi(client)
    knowledge = accounts_api.get_accounts(PLAN_ID).data.server_knowledge

    post_many(transactions_api, new_transaction(payee_name="Brand New Shop"))
    accounts = accounts_api.get_accounts(PLAN_ID, last_knowledge_of_server=knowledge).data
    payees = payees_api.get_payees(PLAN_ID, last_knowledge_of_server=knowledge).data

    assert [str(a.id) for a in accounts.accounts] == [CHECKING]
    assert [p.name for p in payees.payees] == ["Brand New Shop"]


def test_category_delta_after_no_change_is_empty(client):
    categories = ynab.CategoriesApi(client)
    knowledge = categories.get_categories(PLAN_ID).data.server_knowledge

    delta = categories.get_categories(PLAN_ID, last_knowledge_of_server=knowledge).data

    assert delta.category_groups == []


# --- creating transactions ---------------------------------------------------------------


def test_bulk_create_answers_201(transactions_api):
    wrapper = ynab.PostTransactionsWrapper(
        transactions=[
            new_transaction(amount=-1000, import_id="bunq:1", payee_name="Jumbo"),
            new_transaction(amount=-2000, import_id="bunq:2", payee_name="Lidl"),
        ]
    )
    response = transactions_api.create_transaction_with_http_info(PLAN_ID, wrapper)
    data = response.data.data

    assert response.status_code == 201
    assert len(data.transaction_ids) == 2
    assert [t.id for t in data.transactions] == data.transaction_ids
    assert [t.import_id for t in data.transactions] == ["bunq:1", "bunq:2"]
    assert data.duplicate_import_ids == []
    assert data.server_knowledge == 2


def test_single_create_returns_transaction(transactions_api):
    wrapper = ynab.PostTransactionsWrapper(
        transaction=new_transaction(import_id="bunq:single", memo="one", approved=True)
    )
    data = transactions_api.create_transaction(PLAN_ID, wrapper).data

    assert data.transaction.memo == "one"
    assert data.transaction.approved is True
    assert data.transaction.cleared == "uncleared"
    assert data.transaction_ids == [data.transaction.id]


def test_bulk_duplicates_are_skipped(emulator, transactions_api):
    post_many(transactions_api, new_transaction(import_id="bunq:10"))

    data = post_many(
        transactions_api,
        new_transaction(import_id="bunq:10"),
        new_transaction(import_id="bunq:11"),
        new_transaction(import_id="bunq:11"),
    )

    assert data.duplicate_import_ids == ["bunq:10", "bunq:11"]
    assert len(data.transaction_ids) == 1
    imported = [t for t in emulator.transactions(PLAN_ID) if t["import_id"]]
    assert sorted(t["import_id"] for t in imported) == ["bunq:10", "bunq:11"]


def test_import_id_is_unique_per_account(transactions_api):
    data = post_many(
        transactions_api,
        new_transaction(import_id="bunq:20"),
        new_transaction(account_id=SAVINGS, import_id="bunq:20"),
    )

    assert data.duplicate_import_ids == []
    assert len(data.transaction_ids) == 2


def test_single_duplicate_is_409(transactions_api):
    wrapper = ynab.PostTransactionsWrapper(transaction=new_transaction(import_id="bunq:30"))
    transactions_api.create_transaction(PLAN_ID, wrapper)

    with pytest.raises(ConflictException) as raised:
        transactions_api.create_transaction(PLAN_ID, wrapper)

    assert raised.value.status == 409
    assert json.loads(raised.value.body)["error"]["id"] == "409"


def test_deleted_import_id_still_counts(transactions_api):
    data = post_many(
        transactions_api,
        new_transaction(amount=-3000, var_date=date(2026, 6, 5), import_id="bunq:deleted"),
    )

    assert data.duplicate_import_ids == ["bunq:deleted"]
    assert data.transaction_ids == []


def test_payee_name_resolves_existing_payee(client, transactions_api):
    payees = ynab.PayeesApi(client).get_payees(PLAN_ID).data.payees
    albert_heijn = next(p for p in payees if p.name == "Albert Heijn")

    data = post_many(transactions_api, new_transaction(payee_name="Albert Heijn"))

    assert data.transactions[0].payee_id == albert_heijn.id


def test_payee_name_creates_payee_once(client, transactions_api):
    first = post_many(transactions_api, new_transaction(payee_name="Coolblue")).transactions[0]
    second = post_many(transactions_api, new_transaction(payee_name="Coolblue")).transactions[0]
    payees = ynab.PayeesApi(client).get_payees(PLAN_ID).data.payees

    assert first.payee_id == second.payee_id
    assert [p.name for p in payees].count("Coolblue") == 1


def test_create_split(transactions_api):
    transaction = new_transaction(
        amount=-3000,
        subtransactions=[
            ynab.SaveSubTransaction(amount=-1000, category_id=GROCERIES),
            ynab.SaveSubTransaction(amount=-2000, category_id=EATING_OUT, memo="lunch"),
        ],
    )
    created = post_many(transactions_api, transaction).transactions[0]

    assert created.category_name == "Split"
    assert [sub.memo for sub in created.subtransactions] == [None, "lunch"]


# --- validation --------------------------------------------------------------------------

ACCOUNT_UUID = "account must be formatted as a uuid (universally unique identifier)"
DATE_RANGE = "date must not be in the future or over 5 years ago"
VALID = {"account_id": CHECKING, "date": "2026-06-10", "amount": -1000}

VALIDATION_CASES = [
    ("future date", {"date": "2026-06-17"}, DATE_RANGE),
    ("over five years old", {"date": "2021-06-14"}, DATE_RANGE),
    ("account not a uuid", {"account_id": "Gezamenlijke rekening"}, ACCOUNT_UUID),
    ("unknown account", {"account_id": UNKNOWN_UUID}, "account not found"),
    ("payee not a uuid", {"payee_id": "Albert Heijn"}, "payee must be formatted as a uuid"),
    ("unknown payee", {"payee_id": UNKNOWN_UUID}, "payee not found"),
    ("category not a uuid", {"category_id": "Groceries"}, "category must be formatted as a uuid"),
    ("missing account", {"account_id": None}, "account_id is required"),
    ("missing date", {"date": None}, "date is required"),
    ("missing amount", {"amount": None}, "amount is required"),
    ("malformed date", {"date": "10-06-2026"}, "date must be a valid date"),
    ("memo too long", {"memo": "m" * 501}, "memo must not be longer than 500 characters"),
    ("payee name too long", {"payee_name": "p" * 201}, "payee_name must not be longer than 200"),
    ("import id too long", {"import_id": "i" * 37}, "import_id must not be longer than 36"),
    ("fractional amount", {"amount": -10.5}, "amount must be an integer"),
    ("amount as string", {"amount": "-1000"}, "amount must be an integer"),
    ("unknown cleared", {"cleared": "pending"}, "cleared must be one of"),
    ("unknown flag", {"flag_color": "pink"}, "flag_color must be one of"),
    ("approved not bool", {"approved": "yes"}, "approved must be true or false"),
    ("split not adding up",
     {"subtransactions": [{"amount": -300}, {"amount": -600}]}, "must add up"),
    ("transfer to itself", {"payee_id": "TRANSFER_TO_CHECKING"}, "another account"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [(change, expected) for _, change, expected in VALIDATION_CASES],
    ids=[name for name, _, _ in VALIDATION_CASES],
)
def test_invalid_transaction_is_400(emulator, client, change, expected):
    if change.get("payee_id") == "TRANSFER_TO_CHECKING":
        account = ynab.AccountsApi(client).get_account_by_id(PLAN_ID, CHECKING).data.account
        change = {"payee_id": str(account.transfer_payee_id)}
    item = {key: value for key, value in {**VALID, **change}.items() if value is not None}

    path = f"/v1/plans/{PLAN_ID}/transactions"
    status, body, _ = raw_request(emulator, "POST", path, {"transactions": [VALID, item]})

    assert status == 400
    assert body["error"]["id"] == "400"
    assert body["error"]["name"] == "bad_request"
    assert expected in body["error"]["detail"]
    assert body["error"]["detail"].endswith("(index: 1)")


def test_validation_joins_errors_and_creates_nothing(emulator, transactions_api):
    before = len(emulator.transactions(PLAN_ID))
    future = TODAY + timedelta(days=2)

    with pytest.raises(BadRequestException) as raised:
        post_many(
            transactions_api,
            new_transaction(var_date=future),
            new_transaction(import_id="bunq:valid"),
            new_transaction(var_date=future),
        )

    assert json.loads(raised.value.body)["error"]["detail"] == (
        f"{DATE_RANGE} (index: 0), {DATE_RANGE} (index: 2)"
    )
    assert len(emulator.transactions(PLAN_ID)) == before


def test_tomorrow_is_accepted(transactions_api):
    data = post_many(transactions_api, new_transaction(var_date=TODAY + timedelta(days=1)))

    assert len(data.transaction_ids) == 1


def test_exactly_five_years_old_is_accepted(transactions_api):
    data = post_many(transactions_api, new_transaction(var_date=date(2021, 6, 15)))

    assert len(data.transaction_ids) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "transaction or transactions is required"),
        ({"transactions": {"amount": 1}}, "transactions must be an array"),
        (b"{not json", "request body must be valid JSON"),
        ({"transaction": VALID, "transactions": [VALID]}, "only one of"),
    ],
    ids=["empty", "not a list", "not json", "both"],
)
def test_malformed_body_is_400(emulator, body, expected):
    status, response, _ = raw_request(emulator, "POST", f"/v1/plans/{PLAN_ID}/transactions", body)

    assert status == 400
    assert expected in response["error"]["detail"]


# --- transfers and matching --------------------------------------------------------------


def test_transfer_creates_counterpart(client, transactions_api):
    savings = ynab.AccountsApi(client).get_account_by_id(PLAN_ID, SAVINGS).data.account
    sent = post_many(
        transactions_api,
        new_transaction(
            amount=-50000,
            payee_id=savings.transfer_payee_id,
            category_id=GROCERIES,
            import_id="bunq:40",
        ),
    ).transactions[0]

    counterpart = transactions_api.get_transaction_by_id(
        PLAN_ID, sent.transfer_transaction_id
    ).data.transaction

    assert str(sent.transfer_account_id) == SAVINGS
    assert sent.payee_name == "Transfer : Savings"
    assert sent.category_id is None  # both accounts are on budget
    assert str(counterpart.account_id) == SAVINGS
    assert counterpart.amount == 50000
    assert counterpart.var_date == sent.var_date
    assert str(counterpart.transfer_account_id) == CHECKING
    assert counterpart.transfer_transaction_id == sent.id
    assert counterpart.payee_name == "Transfer : Checking"
    assert counterpart.import_id is None
    assert counterpart.category_id is None


def test_transfer_to_off_budget_keeps_category(client, transactions_api):
    pension = ynab.AccountsApi(client).get_account_by_id(PLAN_ID, TRACKING).data.account
    sent = post_many(
        transactions_api,
        new_transaction(payee_id=pension.transfer_payee_id, category_id=GROCERIES),
    ).transactions[0]

    assert str(sent.category_id) == GROCERIES
    assert str(sent.transfer_account_id) == TRACKING


def test_seeded_transfer_has_both_sides(transactions_api):
    seeded = transactions_api.get_transaction_by_id(PLAN_ID, SEED_TRANSFER).data.transaction
    savings = transactions_api.get_transactions_by_account(PLAN_ID, SAVINGS).data.transactions

    assert [t.id for t in savings] == [seeded.transfer_transaction_id]
    assert savings[0].memo == "Sparen"


def test_import_matches_user_entered(emulator, transactions_api):
    imported = post_many(
        transactions_api,
        new_transaction(
            amount=-24950,
            var_date=date(2026, 6, 5),
            payee_name="ALBERT HEIJN 1234",
            import_id="bunq:50",
            cleared=ynab.TransactionClearedStatus.CLEARED,
        ),
    ).transactions[0]

    visible = [t for t in emulator.transactions(PLAN_ID) if t["amount"] == -24950]
    assert imported.matched_transaction_id == USER_ENTERED
    assert [t["id"] for t in visible] == [USER_ENTERED]
    assert visible[0]["import_id"] == "bunq:50"
    assert visible[0]["matched_transaction_id"] == imported.id
    assert visible[0]["category_name"] == "Groceries"
    assert visible[0]["date"] == "2026-06-01"
    assert visible[0]["payee_name"] == "Albert Heijn"
    hidden = emulator.transactions(PLAN_ID, include_hidden=True)
    assert imported.id in [t["id"] for t in hidden]


def test_matched_import_id_is_duplicate(transactions_api):
    transaction = new_transaction(amount=-24950, var_date=date(2026, 6, 5), import_id="bunq:51")
    post_many(transactions_api, transaction)

    data = post_many(transactions_api, transaction)

    assert data.duplicate_import_ids == ["bunq:51"]


@pytest.mark.parametrize(
    ("amount", "day"),
    [(-24950, date(2026, 6, 12)), (-24951, date(2026, 6, 2)), (-7700, date(2026, 5, 21))],
    ids=["eleven days later", "other amount", "reconciled"],
)
def test_no_match(emulator, transactions_api, amount, day):
    imported = post_many(
        transactions_api, new_transaction(amount=amount, var_date=day, import_id="bunq:52")
    ).transactions[0]

    assert imported.matched_transaction_id is None
    assert imported.id in [t["id"] for t in emulator.transactions(PLAN_ID)]


def test_user_entered_without_import_id_is_not_matched(transactions_api):
    created = post_many(
        transactions_api, new_transaction(amount=-24950, var_date=date(2026, 6, 2))
    ).transactions[0]

    assert created.matched_transaction_id is None


def test_second_side_of_transfer_matches_counterpart(client, transactions_api):
    savings = ynab.AccountsApi(client).get_account_by_id(PLAN_ID, SAVINGS).data.account
    sent = post_many(
        transactions_api,
        new_transaction(amount=-40000, payee_id=savings.transfer_payee_id, import_id="bunq:60"),
    ).transactions[0]

    received = post_many(
        transactions_api,
        new_transaction(account_id=SAVINGS, amount=40000, import_id="bunq:61"),
    ).transactions[0]

    assert received.matched_transaction_id == sent.transfer_transaction_id
    savings_rows = transactions_api.get_transactions_by_account(PLAN_ID, SAVINGS).data
    assert [t.amount for t in savings_rows.transactions].count(40000) == 1


# --- updating and deleting ---------------------------------------------------------------


def test_patch_by_id_and_by_import_id(transactions_api):
    created = post_many(transactions_api, new_transaction(import_id="bunq:70")).transactions[0]
    wrapper = ynab.PatchTransactionsWrapper(
        transactions=[
            ynab.SaveTransactionWithIdOrImportId(id=UNCATEGORIZED, category_id=EATING_OUT),
            ynab.SaveTransactionWithIdOrImportId(import_id="bunq:70", memo="patched"),
        ]
    )

    response = transactions_api.update_transactions_with_http_info(PLAN_ID, wrapper)
    data = response.data.data

    assert response.status_code == 200
    assert data.transaction_ids == [UNCATEGORIZED, created.id]
    assert data.transactions[0].category_name == "Eating out"
    assert data.transactions[1].memo == "patched"


def test_patch_unknown_transaction_is_400(transactions_api):
    wrapper = ynab.PatchTransactionsWrapper(
        transactions=[
            ynab.SaveTransactionWithIdOrImportId(id=USER_ENTERED, memo="fine"),
            ynab.SaveTransactionWithIdOrImportId(import_id="bunq:missing", memo="x"),
        ]
    )

    with pytest.raises(BadRequestException) as raised:
        transactions_api.update_transactions(PLAN_ID, wrapper)

    assert json.loads(raised.value.body)["error"]["detail"] == "transaction not found (index: 1)"


def test_patch_cannot_change_import_id(transactions_api):
    post_many(transactions_api, new_transaction(import_id="bunq:71"))
    created = transactions_api.get_transactions(PLAN_ID).data.transactions
    target = next(t for t in created if t.import_id == "bunq:71")
    wrapper = ynab.PatchTransactionsWrapper(
        transactions=[ynab.SaveTransactionWithIdOrImportId(id=target.id, import_id="bunq:72")]
    )

    with pytest.raises(BadRequestException) as raised:
        transactions_api.update_transactions(PLAN_ID, wrapper)

    assert (
        "import_id cannot be changed (index: 0)" in json.loads(raised.value.body)["error"]["detail"]
    )


def test_patch_transfer_amount_updates_counterpart(transactions_api):
    seeded = transactions_api.get_transaction_by_id(PLAN_ID, SEED_TRANSFER).data.transaction
    wrapper = ynab.PatchTransactionsWrapper(
        transactions=[ynab.SaveTransactionWithIdOrImportId(id=SEED_TRANSFER, amount=-80000)]
    )

    transactions_api.update_transactions(PLAN_ID, wrapper)
    counterpart = transactions_api.get_transaction_by_id(PLAN_ID, seeded.transfer_transaction_id)

    assert counterpart.data.transaction.amount == 80000


def test_patch_split_keeps_amount(transactions_api):
    wrapper = ynab.PatchTransactionsWrapper(
        transactions=[ynab.SaveTransactionWithIdOrImportId(id=SPLIT, amount=-1, memo="kept")]
    )

    split = transactions_api.update_transactions(PLAN_ID, wrapper).data.transactions[0]

    assert split.amount == -60000
    assert split.memo == "kept"


def test_put_get_delete(transactions_api):
    wrapper = ynab.PutTransactionWrapper(
        transaction=ynab.ExistingTransaction(memo="edited", flag_color="red")
    )

    put = transactions_api.update_transaction(PLAN_ID, USER_ENTERED, wrapper).data
    got = transactions_api.get_transaction_by_id(PLAN_ID, USER_ENTERED).data
    deleted = transactions_api.delete_transaction(PLAN_ID, USER_ENTERED).data

    assert put.transaction.memo == "edited"
    assert put.transaction.amount == -24950
    assert got.transaction.flag_color == "red"
    assert deleted.transaction.deleted is True
    assert deleted.server_knowledge == put.server_knowledge + 1
    with pytest.raises(NotFoundException):
        transactions_api.update_transaction(PLAN_ID, USER_ENTERED, wrapper)


def test_delete_transfer_deletes_both_sides(emulator, transactions_api):
    seeded = transactions_api.get_transaction_by_id(PLAN_ID, SEED_TRANSFER).data.transaction

    transactions_api.delete_transaction(PLAN_ID, SEED_TRANSFER)
    savings = transactions_api.get_transactions_by_account(PLAN_ID, SAVINGS).data.transactions
    everything = emulator.transactions(PLAN_ID, include_deleted=True)

    assert savings == []
    assert {t["id"] for t in everything if t["deleted"]} >= {
        SEED_TRANSFER,
        seeded.transfer_transaction_id,
    }


def test_user_edit_changes_category_and_knowledge(emulator, transactions_api):
    before = transactions_api.get_transactions(PLAN_ID).data.server_knowledge

    edited = emulator.update_transaction(PLAN_ID, USER_ENTERED, category_id=EATING_OUT)

    assert edited["category_name"] == "Eating out"
    assert transactions_api.get_transactions(PLAN_ID).data.server_knowledge == before + 1


def test_user_edit_rejects_unknown_field(emulator):
    with pytest.raises(ValueError, match="import_id"):
        emulator.update_transaction(PLAN_ID, USER_ENTERED, import_id="x")


# --- fault switches ----------------------------------------------------------------------


def test_http_429_fault(emulator, client):
    emulator.faults.http_429(1, path="/accounts")

    with pytest.raises(ynab.ApiException) as raised:
        ynab.AccountsApi(client).get_accounts(PLAN_ID)
    accounts = ynab.AccountsApi(client).get_accounts(PLAN_ID).data.accounts

    assert raised.value.status == 429
    assert json.loads(raised.value.body) == {
        "error": {"id": "429", "name": "too_many_requests", "detail": "Too many requests"}
    }
    assert len(accounts) == 3


@pytest.mark.parametrize(("status", "name"), [(500, "internal_server_error"),
                                              (503, "service_unavailable")])  # fmt: skip
def test_http_5xx_fault_leaves_state_unchanged(emulator, transactions_api, status, name):
    emulator.faults.http_5xx(2, status=status, method="POST")
    before = len(emulator.transactions(PLAN_ID))

    for _ in range(2):
        with pytest.raises(ServiceException) as raised:
            post_many(transactions_api, new_transaction(import_id="bunq:80"))
        assert raised.value.status == status
        assert json.loads(raised.value.body)["error"]["name"] == name

    assert len(emulator.transactions(PLAN_ID)) == before
    assert len(post_many(transactions_api, new_transaction(import_id="bunq:80")).transaction_ids)


def test_fault_filters_by_method_and_path(emulator, client, transactions_api):
    emulator.faults.http_5xx(1, method="POST", path="/transactions")

    ynab.AccountsApi(client).get_accounts(PLAN_ID)
    transactions_api.get_transactions(PLAN_ID)
    with pytest.raises(ServiceException):
        post_many(transactions_api, new_transaction())

    assert emulator.faults.snapshot()["pending"] == []


def test_timeout_fault(emulator, transactions_api):
    emulator.faults.timeout(1, seconds=1.0, method="POST")
    started = time.monotonic()

    with pytest.raises(urllib3.exceptions.HTTPError):
        transactions_api.create_transaction(
            PLAN_ID,
            ynab.PostTransactionsWrapper(transactions=[new_transaction(import_id="bunq:90")]),
            _request_timeout=0.3,
        )

    assert time.monotonic() - started < 1.0
    # The server finishes the write after the client gave up, as a real server can.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(t["import_id"] == "bunq:90" for t in emulator.transactions(PLAN_ID)):
            break
        time.sleep(0.05)
    assert any(t["import_id"] == "bunq:90" for t in emulator.transactions(PLAN_ID))


def test_timeout_is_capped():
    from emulators.ynab import Faults

    fault = Faults().timeout(1, seconds=10_000)

    assert fault.seconds == 60.0


def test_fail_after_commit_fault(emulator, transactions_api):
    emulator.faults.fail_after_commit(1)

    with pytest.raises(urllib3.exceptions.HTTPError):
        post_many(transactions_api, new_transaction(import_id="bunq:100"))
    retried = post_many(transactions_api, new_transaction(import_id="bunq:100"))

    committed = [t for t in emulator.transactions(PLAN_ID) if t["import_id"] == "bunq:100"]
    assert len(committed) == 1
    assert retried.duplicate_import_ids == ["bunq:100"]


def test_rate_limit_per_rolling_hour(emulator, client):
    now = [1000.0]
    emulator.faults.clock = lambda: now[0]
    emulator.faults.rate_limit(per_hour=3)
    plans = ynab.PlansApi(client)

    for _ in range(3):
        plans.get_plans()
    with pytest.raises(ynab.ApiException) as raised:
        plans.get_plans()
    now[0] += 3600.5
    plans.get_plans()

    assert raised.value.status == 429
    assert json.loads(raised.value.body)["error"]["name"] == "too_many_requests"


def test_rate_limit_off_by_default(emulator, client):
    for _ in range(5):
        ynab.UserApi(client).get_user()

    assert emulator.faults.snapshot()["rate_limit_per_hour"] is None


def test_faults_control_endpoint(emulator, transactions_api):
    request = urllib.request.Request(
        emulator.base_url.removesuffix("/v1") + "/_emulator/faults",
        data=json.dumps(
            {"clear": True, "http_5xx": {"n": 1, "status": 503, "method": "GET"}}
        ).encode(),
        method="POST",
    )
    with _OPENER.open(request, timeout=5) as response:
        armed = json.loads(response.read())["pending"]

    with pytest.raises(ServiceException) as raised:
        transactions_api.get_transactions(PLAN_ID)

    assert [fault["status"] for fault in armed] == [503]
    assert raised.value.status == 503


def test_faults_control_endpoint_rejects_unknown_kind(emulator):
    request = urllib.request.Request(
        emulator.base_url.removesuffix("/v1") + "/_emulator/faults",
        data=json.dumps({"explode": True}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        _OPENER.open(request, timeout=5)

    assert raised.value.code == 400
    assert "unknown fault switches: explode" in json.loads(raised.value.read())["error"]


def test_rate_limit_over_control_endpoint(emulator, client):
    base = emulator.base_url.removesuffix("/v1")
    request = urllib.request.Request(
        base + "/_emulator/faults", data=json.dumps({"rate_limit": 1}).encode(), method="POST"
    )
    with _OPENER.open(request, timeout=5):
        pass

    ynab.UserApi(client).get_user()
    with pytest.raises(ynab.ApiException) as raised:
        ynab.UserApi(client).get_user()
    with _OPENER.open(base + "/_emulator/faults", timeout=5) as response:
        switches = json.loads(response.read())

    assert raised.value.status == 429
    assert switches["rate_limit_per_hour"] == 1


# --- request counts and control endpoints ------------------------------------------------


def test_request_counts(emulator, client, transactions_api):
    ynab.PlansApi(client).get_plans()
    post_many(transactions_api, new_transaction())
    post_many(transactions_api, new_transaction())

    assert emulator.request_counts[("POST", TRANSACTIONS_ROUTE)] == 2
    assert emulator.request_counts[("GET", "/v1/plans")] == 1
    assert emulator.total_requests == 3

    emulator.reset_counts()

    assert emulator.total_requests == 0


def test_stats_and_plan_transactions_endpoints(emulator, client):
    ynab.UserApi(client).get_user()
    base = emulator.base_url.removesuffix("/v1")

    with _OPENER.open(base + "/_emulator/stats", timeout=5) as response:
        stats = json.loads(response.read())
    with _OPENER.open(base + f"/_emulator/plans/{PLAN_ID}/transactions", timeout=5) as response:
        listed = json.loads(response.read())["transactions"]
    reset = urllib.request.Request(base + "/_emulator/reset-counts", data=b"", method="POST")
    with _OPENER.open(reset, timeout=5):
        pass

    assert stats["total_requests"] == 1
    assert stats["request_counts"] == {"GET /v1/user": 1}
    assert DELETED in [t["id"] for t in listed]  # the control endpoint lists deleted ones too
    assert emulator.total_requests == 0


# --- recorded YNAB responses -------------------------------------------------------------


def _assert_same_fields(recorded: dict, emulated: dict) -> None:
    """Every recorded field exists in the emulator's output, with the same JSON type."""
    missing = set(recorded) - set(emulated)
    assert not missing, f"fields missing from the emulator's output: {sorted(missing)}"

    for key, value in recorded.items():
        if value is not None and emulated[key] is not None:
            assert type(value) is type(emulated[key]), key


def _emulated(emulator, path: str) -> dict:
    status, body, _ = raw_request(emulator, "GET", path)
    assert status == 200
    return body["data"]


def test_recorded_plan_matches_emulated(emulator):
    recorded = load_fixture("plans.json")["body"]["data"]["plans"]
    emulated = _emulated(emulator, "/v1/plans")["plans"][0]

    complete = [plan for plan in recorded if "format" in plan["date_format"]]
    for plan in complete:
        _assert_same_fields(plan, emulated)
        _assert_same_fields(plan["currency_format"], emulated["currency_format"])
        assert ynab.PlanSummary.from_dict(plan).name == plan["name"]


def test_recorded_account_matches_emulated(emulator):
    recorded = load_fixture("accounts.json")["body"]["data"]["accounts"][0]
    emulated = _emulated(emulator, f"/v1/plans/{PLAN_ID}/accounts")["accounts"][0]

    _assert_same_fields(recorded, emulated)
    assert ynab.Account.from_dict({**emulated, **recorded}).name == recorded["name"]


def test_recorded_categories_match_emulated(emulator):
    recorded = load_fixture("categories.json")["body"]["data"]["category_groups"]
    emulated = _emulated(emulator, f"/v1/plans/{PLAN_ID}/categories")["category_groups"]
    emulated_category = emulated[2]["categories"][0]

    group = {key: value for key, value in recorded[0].items() if key != "categories"}
    _assert_same_fields(group, emulated[2])
    for category in recorded[0]["categories"]:
        _assert_same_fields(category, emulated_category)
        assert ynab.Category.from_dict({**emulated_category, **category}).id is not None
    assert recorded[0]["name"] == emulated[0]["name"] == "Internal Master Category"


def test_recorded_payees_match_emulated(emulator):
    recorded = load_fixture("payees.json")["body"]["data"]["payees"]
    emulated = _emulated(emulator, f"/v1/plans/{PLAN_ID}/payees")["payees"]

    for payee in recorded:
        _assert_same_fields(payee, emulated[0])
        assert ynab.Payee.from_dict({**emulated[0], **payee}).name == payee["name"]
    recorded_builtin = [p["name"] for p in recorded if p["transfer_account_id"] is None][:3]
    assert recorded_builtin == [p["name"] for p in emulated[:3]]


def test_recorded_transactions_match_emulated(emulator):
    recorded = load_fixture("transactions.json")["body"]["data"]["transactions"]
    emulated = _emulated(emulator, f"/v1/plans/{PLAN_ID}/transactions")["transactions"][0]

    for transaction in recorded:
        _assert_same_fields(transaction, emulated)
        parsed = ynab.TransactionDetail.from_dict({**emulated, **transaction})
        assert parsed.amount == transaction["amount"]


def test_recorded_create_response_matches_emulated(emulator):
    recorded = load_fixture("multiple_transactions.json")["body"]["data"]
    status, emulated, _ = raw_request(
        emulator, "POST", f"/v1/plans/{PLAN_ID}/transactions", {"transactions": [VALID]}
    )

    assert status == 201
    _assert_same_fields(recorded, emulated["data"])
    for transaction in recorded["transactions"]:
        _assert_same_fields(transaction, emulated["data"]["transactions"][0])
        assert ynab.TransactionDetail.from_dict(transaction).id == transaction["id"]


def test_recorded_error_matches_emulated(emulator):
    recorded = load_fixture("transactions_unauthorized.json")
    status, emulated, _ = raw_request(
        emulator, "GET", f"/v1/plans/{PLAN_ID}/transactions", token="wrong"
    )

    assert status == recorded["status"] == 401
    _assert_same_fields(recorded["body"]["error"], emulated["error"])
    assert ynab.ErrorResponse.from_dict(emulated).error.id == "401"


# --- command line ------------------------------------------------------------------------


def test_command_line_serves_and_logs_without_token(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(make_seed()), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.ynab", "--port", "0", "--seed", str(seed_file),
         "--today", TODAY.isoformat()],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        first_line = process.stderr.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/v1", first_line).group(1))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/user", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with _OPENER.open(request, timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=10)

    log = first_line + rest
    assert "GET /v1/user 200" in log
    assert TOKEN not in log


def test_stop_ends_timeout_fault(emulator, transactions_api):
    emulator.faults.timeout(1, seconds=30, method="POST")
    started = time.monotonic()

    with pytest.raises(urllib3.exceptions.HTTPError):
        transactions_api.create_transaction(
            PLAN_ID,
            ynab.PostTransactionsWrapper(transactions=[new_transaction(import_id="bunq:110")]),
            _request_timeout=0.2,
        )
    emulator.stop()

    assert emulator.stopping.wait(0)
    assert time.monotonic() - started < 5
    assert not any(t["import_id"] == "bunq:110" for t in emulator.transactions(PLAN_ID))
