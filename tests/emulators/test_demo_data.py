"""The demo seed: deterministic, realistic bunq payments, and YNAB history that matches them.

The bunq part is checked for its structure only; the bunq emulator's own tests check how it
serves that structure. The YNAB part is loaded into the YNAB emulator, which also checks it.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import ynab

from emulators import demo_data
from emulators.demo_data import (
    BUNQ_USER_ID,
    YNAB_TOKEN,
    build_benchmark_seed,
    build_demo_seed,
    demo_start_date,
    dutch_iban,
    iban_is_valid,
    main,
)
from emulators.ynab import YnabEmulator

TODAY = date(2026, 12, 4)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BUNQ_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
BUNQ_IBAN = re.compile(r"^NL\d{2}BUNQ\d{10}$")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def seed() -> dict:
    return build_demo_seed(TODAY)


@pytest.fixture(scope="module")
def emulator(seed):
    emulator = YnabEmulator(seed, today=TODAY).start()
    yield emulator
    emulator.stop()


def local_date(payment: dict) -> date:
    created = datetime.strptime(payment["created"], "%Y-%m-%d %H:%M:%S.%f")
    return created.replace(tzinfo=UTC).astimezone(AMSTERDAM).date()


def milliunits(payment: dict) -> int:
    return int(Decimal(payment["amount"]) * 1000)


def own_ibans(seed: dict) -> dict[str, int]:
    return {a["iban"]: a["id"] for a in seed["bunq"]["accounts"] if a["iban"] is not None}


def linked_accounts(seed: dict) -> dict[int, tuple[str, str]]:
    """Map bunq account ids to (plan id, YNAB account id) through the IBANs in the notes."""
    links = {}
    for plan in seed["ynab"]["plans"]:
        for account in plan["accounts"]:
            note = re.sub(r"\s", "", (account["note"] or "")).upper()
            for iban, bunq_id in own_ibans(seed).items():
                if iban in note:
                    links[bunq_id] = (plan["id"], account["id"])
    return links


# --- determinism and size ----------------------------------------------------------------


def test_same_arguments_same_seed(seed):
    assert build_demo_seed(TODAY) == seed


def test_other_random_seed_other_payments(seed):
    other = build_demo_seed(TODAY, seed=8)

    assert other["bunq"]["payments"] != seed["bunq"]["payments"]


def test_six_months_size(seed):
    count = len(seed["bunq"]["payments"])

    assert 600 <= count <= 1200


def test_payments_end_before_today(seed):
    dates = [local_date(payment) for payment in seed["bunq"]["payments"]]

    assert max(dates) < TODAY
    assert min(dates) <= date(2026, 6, 10)


def test_meta_start_date(seed):
    assert seed["meta"]["start_date"] == demo_start_date(TODAY).isoformat()
    assert seed["meta"]["timezone"] == "Europe/Amsterdam"
    assert [link["bunq_account_id"] for link in seed["meta"]["links"]] == [11, 12, 13]


# --- the bunq part -----------------------------------------------------------------------


def test_bunq_seed_structure(seed):
    bunq = seed["bunq"]

    assert set(bunq) == {"api_keys", "user", "accounts", "payments"}
    assert bunq["user"]["id"] == BUNQ_USER_ID
    assert bunq["api_keys"] and all(isinstance(key, str) for key in bunq["api_keys"])
    for payment in bunq["payments"]:
        assert isinstance(payment["id"], int)
        assert BUNQ_TIMESTAMP.match(payment["created"])
        assert re.match(r"^-?\d+\.\d{2}$", payment["amount"])
        assert payment["currency"] == "EUR"
        assert set(payment["counterparty"]) >= {"iban", "display_name"}


def test_bunq_accounts(seed):
    accounts = {account["id"]: account for account in seed["bunq"]["accounts"]}

    assert {aid: a["type"] for aid, a in accounts.items()} == {
        11: "MonetaryAccountBank",
        12: "MonetaryAccountSavings",
        13: "MonetaryAccountJoint",
        14: "MonetaryAccountExternal",
        15: "MonetaryAccountBank",
    }
    assert accounts[14]["iban"] is None
    assert accounts[15]["status"] == "CANCELLED"
    assert accounts[15]["balance"] == "0.00"
    assert "status" not in accounts[11]  # the bunq emulator's default is ACTIVE
    assert accounts[13]["co_owners"]


def test_own_ibans_valid(seed):
    ibans = list(own_ibans(seed))

    assert len(ibans) == 4
    for iban in ibans:
        assert BUNQ_IBAN.match(iban), iban
        assert iban_is_valid(iban), iban


def test_counterparty_ibans_have_valid_check_digits(seed):
    ibans = {p["counterparty"]["iban"] for p in seed["bunq"]["payments"]} - {None}

    assert len(ibans) > 10
    assert all(iban_is_valid(iban) for iban in ibans)


def test_iban_check_digits_detect_typos():
    iban = dutch_iban("BUNQ", 2012345678)

    assert iban_is_valid(iban)
    assert not iban_is_valid(iban[:-1] + str((int(iban[-1]) + 1) % 10))


def test_payment_ids_increase_with_time(seed):
    payments = sorted(seed["bunq"]["payments"], key=lambda payment: payment["id"])
    created = [payment["created"] for payment in payments]

    assert created == sorted(created)
    assert len({payment["id"] for payment in payments}) == len(payments)


def test_own_transfers_come_in_pairs(seed):
    ibans = own_ibans(seed)
    accounts = {a["id"]: a["iban"] for a in seed["bunq"]["accounts"]}
    payments = seed["bunq"]["payments"]
    transfers = [p for p in payments if p["counterparty"]["iban"] in ibans]

    assert len(transfers) >= 20
    for payment in transfers:
        other_account = ibans[payment["counterparty"]["iban"]]
        partners = [
            p
            for p in payments
            if p["monetary_account_id"] == other_account
            and p["created"] == payment["created"]
            and Decimal(p["amount"]) == -Decimal(payment["amount"])
            and p["counterparty"]["iban"] == accounts[payment["monetary_account_id"]]
        ]
        assert len(partners) == 1, payment
        assert abs(partners[0]["id"] - payment["id"]) == 1


def test_transfers_to_savings_and_joint(seed):
    pairs = Counter(
        (p["monetary_account_id"], own_ibans(seed)[p["counterparty"]["iban"]])
        for p in seed["bunq"]["payments"]
        if p["counterparty"]["iban"] in own_ibans(seed) and Decimal(p["amount"]) < 0
    )

    assert pairs[(11, 12)] >= 5
    assert pairs[(11, 13)] >= 5
    assert pairs[(15, 11)] == 1  # the cancelled account was emptied before closing


def test_payment_kinds(seed):
    payments = seed["bunq"]["payments"]
    kinds = Counter((p["type"], p["sub_type"]) for p in payments)
    cards = [p for p in payments if p["type"] == "MASTERCARD"]
    ideal = [p for p in payments if p["type"] == "IDEAL"]
    salaries = [p for p in payments if p["description"].startswith("Salaris")]

    assert kinds[("EBA_SDD", "SDD")] >= 30
    assert kinds[("MASTERCARD", "REVERSAL")] >= 1
    assert all(p["counterparty"]["iban"] is None for p in cards)
    assert {p["counterparty"]["display_name"].split()[0] for p in cards} >= {"Jumbo", "Lidl"}
    assert any(re.search(r"Albert Heijn \d{4} Amsterdam", p["description"]) for p in cards)
    assert all((p["type"], Decimal(p["amount"]) > 0) == ("EBA_SCT", True) for p in salaries)
    assert len(salaries) >= 5
    assert any(re.match(r"^Bol\.com bestelling \d{10}$", p["description"]) for p in ideal)
    assert any(p["description"].startswith("Tikkie ID") for p in ideal)
    assert all(Decimal(p["amount"]) > 0 for p in cards if p["sub_type"] == "REVERSAL")
    assert any(Decimal(p["amount"]) > 0 for p in ideal)  # a web shop refund


def test_two_identical_coffees_after_start(seed):
    start = demo_start_date(TODAY)
    coffees = Counter(
        (local_date(p), p["counterparty"]["display_name"])
        for p in seed["bunq"]["payments"]
        if p["amount"] == "-2.50" and local_date(p) >= start
    )

    assert max(coffees.values()) >= 2


def test_payment_after_midnight_has_previous_utc_date(seed):
    shifted = [
        p for p in seed["bunq"]["payments"] if local_date(p).isoformat() != p["created"][:10]
    ]

    assert any(local_date(p) < demo_start_date(TODAY) for p in shifted)
    assert any(local_date(p) >= demo_start_date(TODAY) for p in shifted)


# --- the YNAB part -----------------------------------------------------------------------


def test_ynab_plans_and_links(seed):
    links = linked_accounts(seed)
    plans = {plan["name"]: plan["id"] for plan in seed["ynab"]["plans"]}

    assert seed["ynab"]["token"] == YNAB_TOKEN
    assert set(plans) == {"Household", "Shared"}
    assert links[11][0] == links[12][0] == plans["Household"]
    assert links[13][0] == plans["Shared"]
    assert {(link["ynab_plan_id"], link["ynab_account_id"]) for link in seed["meta"]["links"]} == {
        links[11],
        links[12],
        links[13],
    }


def test_notes_hold_ibans_in_other_spelling(seed):
    notes = [a["note"] for plan in seed["ynab"]["plans"] for a in plan["accounts"] if a["note"]]

    for iban in own_ibans(seed):
        holding = [note for note in notes if iban in re.sub(r"\s", "", note).upper()]
        assert len(holding) == 1, iban
        assert iban not in holding[0]  # spaced or lower case, with other text around it
        assert len(re.sub(r"\s", "", holding[0])) > len(iban)


def test_closed_account_holds_cancelled_iban(seed):
    cancelled = next(a["iban"] for a in seed["bunq"]["accounts"] if a["id"] == 15)
    accounts = [a for plan in seed["ynab"]["plans"] for a in plan["accounts"]]
    closed = [a for a in accounts if a.get("closed")]

    assert len(closed) == 1
    assert cancelled in re.sub(r"\s", "", closed[0]["note"]).upper()


def test_category_counts(client_plans):
    for plan in client_plans:
        groups = ynab.CategoriesApi(plan["client"]).get_categories(plan["id"]).data
        user_categories = [
            c for g in groups.category_groups if not g.internal for c in g.categories
        ]
        assert 10 <= len(user_categories) <= 25, plan["name"]


@pytest.fixture
def client_plans(emulator, seed):
    config = ynab.Configuration(host=emulator.base_url, access_token=YNAB_TOKEN)
    with ynab.ApiClient(config) as api_client:
        yield [
            {"id": plan["id"], "name": plan["name"], "client": api_client}
            for plan in seed["ynab"]["plans"]
        ]


def test_demo_seed_parses_in_sdk(client_plans):
    api_client = client_plans[0]["client"]
    plans = ynab.PlansApi(api_client).get_plans(include_accounts=True).data.plans

    for plan in plans:
        transactions = ynab.TransactionsApi(api_client).get_transactions(str(plan.id)).data
        assert transactions.transactions
    assert sum(len(plan.accounts) for plan in plans) == 5


def test_history_has_no_import_ids(emulator, seed):
    for plan in seed["ynab"]["plans"]:
        assert all("import_id" not in t for t in plan["transactions"])
        assert all(t["import_id"] is None for t in emulator.transactions(plan["id"]))


def test_history_matches_payments_before_start(emulator, seed):
    """Every payment of a linked account before the start date is in YNAB exactly once."""
    start = demo_start_date(TODAY)
    links = linked_accounts(seed)
    expected = Counter(
        (links[p["monetary_account_id"]][1], milliunits(p), local_date(p).isoformat())
        for p in seed["bunq"]["payments"]
        if p["monetary_account_id"] in links and local_date(p) < start
    )
    recorded = Counter(
        (t["account_id"], t["amount"], t["date"])
        for plan in seed["ynab"]["plans"]
        for t in emulator.transactions(plan["id"])
    )

    assert recorded == expected
    assert all(date.fromisoformat(day) < start for _, _, day in recorded)


def test_history_transfers_are_ynab_transfers(emulator, seed):
    household = seed["ynab"]["plans"][0]["id"]
    transfers = [t for t in emulator.transactions(household) if t["transfer_account_id"]]
    pairs = {(t["id"], t["transfer_transaction_id"]) for t in transfers}

    assert len(transfers) >= 10
    assert all((other, mine) in pairs for mine, other in pairs)
    assert all(t["category_id"] is None for t in transfers)


def test_history_categories_follow_payee(emulator, seed):
    # Tikkies, friends and bol.com get the category of what was bought, so those payees have
    # several; every other payee keeps one category.
    varying = {"Tikkie", "Bol.com", *demo_data.FRIENDS}
    for plan in seed["ynab"]["plans"]:
        categories = defaultdict(set)
        for transaction in emulator.transactions(plan["id"]):
            if transaction["category_id"] and not transaction["subtransactions"]:
                categories[transaction["payee_name"]].add(transaction["category_name"])

        inconsistent = {payee: names for payee, names in categories.items() if len(names) > 1}
        assert set(inconsistent) <= varying, plan["name"]
        assert len(categories) >= 10


def test_some_payees_have_several_categories(emulator, seed):
    household = seed["ynab"]["plans"][0]["id"]
    categories = defaultdict(set)
    for transaction in emulator.transactions(household):
        if transaction["category_id"] and not transaction["subtransactions"]:
            categories[transaction["payee_name"]].add(transaction["category_name"])

    assert categories["Tikkie"] >= {"Eating out", "Going out"}


def test_history_has_uncategorised_and_a_split(emulator, seed):
    household = seed["ynab"]["plans"][0]["id"]
    transactions = emulator.transactions(household)
    uncategorised = [
        t for t in transactions if t["category_id"] is None and not t["transfer_account_id"]
    ]
    splits = [t for t in transactions if t["subtransactions"]]

    assert len(uncategorised) == 2
    assert len(splits) == 1
    assert sum(sub["amount"] for sub in splits[0]["subtransactions"]) == splits[0]["amount"]


def test_history_is_reconciled(emulator, seed):
    for plan in seed["ynab"]["plans"]:
        assert {t["cleared"] for t in emulator.transactions(plan["id"])} == {"reconciled"}


# --- benchmark seed and command line -----------------------------------------------------


def test_benchmark_seed_is_fast_and_large():
    started = time.perf_counter()
    seed = build_benchmark_seed(10_000)
    elapsed = time.perf_counter() - started

    payments = seed["bunq"]["payments"]
    assert elapsed < 1.0
    assert len(payments) == 10_000
    assert [p["id"] for p in payments] == sorted(p["id"] for p in payments)
    assert {p["monetary_account_id"] for p in payments} == {11, 12, 13}
    assert len(seed["ynab"]["plans"]) == 2
    assert all(plan["transactions"] == [] for plan in seed["ynab"]["plans"])


def test_benchmark_accounts_link_by_iban():
    seed = build_benchmark_seed(100, n_accounts=4, n_plans=2)

    assert sorted(linked_accounts(seed)) == [11, 12, 13, 14]
    assert YnabEmulator(seed).state.plans


def test_command_line_writes_seed(tmp_path):
    out = tmp_path / "demo" / "seed.json"

    main(["--out", str(out), "--today", TODAY.isoformat()])

    assert json.loads(out.read_text(encoding="utf-8")) == build_demo_seed(TODAY)


@pytest.mark.parametrize("today", [date(2026, 3, 1), date(2026, 7, 31), date(2027, 1, 15)])
def test_sizes_across_dates(today):
    seed = build_demo_seed(today)
    dates = [local_date(payment) for payment in seed["bunq"]["payments"]]

    assert 600 <= len(dates) <= 1200
    assert max(dates) < today


def test_one_month_stays_before_today():
    seed = build_demo_seed(TODAY, months=1)

    assert max(local_date(payment) for payment in seed["bunq"]["payments"]) < TODAY


def test_zero_months_rejected():
    with pytest.raises(ValueError, match="months must be at least 1"):
        build_demo_seed(TODAY, months=0)
