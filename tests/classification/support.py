"""Test support for the classification and serving tests: a throwaway Postgres database, a row
builder for the schema tables, and a synthetic but realistic household of labelled payments."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from bunq_ynab.classification.records import payment_features
from bunq_ynab.storage import Database, apply_migrations

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PLAN_ID = "0f6f4a52-5b7e-4b8e-9a51-3c1d2e7f0001"
PLAN_NAME = "Household"
CHECKING_ACCOUNT_ID = "7b0d7c9e-1c2f-4f53-8d0e-a1b2c3d40001"  # YNAB account
SAVINGS_ACCOUNT_ID = "7b0d7c9e-1c2f-4f53-8d0e-a1b2c3d40002"
BUNQ_CHECKING_ID = 4201
OWN_IBAN = "NL12BUNQ2025000001"
SAVINGS_IBAN = "NL12BUNQ2025000002"
PRODUCT_START = dt.date(2026, 5, 1)  # payments from here on were synced by the product


@contextlib.contextmanager
def temporary_database() -> Iterator[Database]:
    """Create a migrated database ``bunq_ynab_test_ml_<random>`` and drop it afterwards."""
    name = f"bunq_ynab_test_ml_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as error:
        raise RuntimeError(
            f"Postgres is not reachable at 127.0.0.1:5432 as user postgres: {error}"
        ) from error
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database.from_dsn(f"host=127.0.0.1 port=5432 user=postgres dbname={name}")
    try:
        apply_migrations(db)
        yield db
    finally:
        db.close()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Builder:
    """Insert rows into the schema tables with sensible defaults."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._payment_ids = itertools.count(900_001)
        self._transaction_numbers = itertools.count(1)

    def plan(self, plan_id: str = PLAN_ID, name: str = PLAN_NAME) -> str:
        self.db.execute(
            "INSERT INTO ynab_plan (id, name, currency_iso_code, raw) VALUES (%s, %s, 'EUR', '{}')",
            (plan_id, name),
        )
        return plan_id

    def ynab_account(self, account_id: str, plan_id: str = PLAN_ID, name: str = "Checking") -> str:
        self.db.execute(
            "INSERT INTO ynab_account (id, plan_id, name, account_type, note, closed, deleted,"
            " on_budget, raw) VALUES (%s, %s, %s, 'checking', NULL, false, false, true, '{}')",
            (account_id, plan_id, name),
        )
        return account_id

    def bunq_account(
        self,
        account_id: int = BUNQ_CHECKING_ID,
        plan_id: str | None = PLAN_ID,
        ynab_account_id: str | None = CHECKING_ACCOUNT_ID,
        iban: str = OWN_IBAN,
    ) -> int:
        self.db.execute(
            "INSERT INTO bunq_account (id, user_id, account_type, description, status, currency,"
            " iban, display_name, raw, ynab_plan_id, ynab_account_id)"
            " VALUES (%s, 1, 'MonetaryAccountBank', 'Main', 'ACTIVE', 'EUR', %s, 'Main', '{}',"
            " %s, %s)",
            (account_id, iban, plan_id, ynab_account_id),
        )
        return account_id

    def category(
        self,
        name: str,
        plan_id: str = PLAN_ID,
        group: str = "Everyday",
        internal: bool = False,
        deleted: bool = False,
    ) -> str:
        category_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{plan_id}/category/{name}"))
        self.db.execute(
            "INSERT INTO ynab_category (id, plan_id, category_group_id, category_group_name, name,"
            " hidden, deleted, internal) VALUES (%s, %s, %s, %s, %s, false, %s, %s)",
            (category_id, plan_id, f"group-{group}", group, name, deleted, internal),
        )
        return category_id

    def payment(
        self,
        created: dt.datetime,
        amount: str,
        *,
        description: str = "",
        counterparty_name: str | None = None,
        counterparty_iban: str | None = None,
        payment_type: str = "MASTERCARD",
        sub_type: str = "PAYMENT",
        account_id: int = BUNQ_CHECKING_ID,
        payment_id: int | None = None,
    ) -> int:
        """Insert a payment; ``created`` must be timezone-aware."""
        payment_id = payment_id if payment_id is not None else next(self._payment_ids)
        self.db.execute(
            "INSERT INTO bunq_payment (id, monetary_account_id, created, amount, currency,"
            " description, payment_type, sub_type, counterparty_iban, counterparty_name, raw)"
            " VALUES (%s, %s, %s, %s, 'EUR', %s, %s, %s, %s, %s, '{}')",
            (
                payment_id,
                account_id,
                created,
                Decimal(amount),
                description,
                payment_type,
                sub_type,
                counterparty_iban,
                counterparty_name,
            ),
        )
        return payment_id

    def transaction(
        self,
        date: dt.date,
        amount_milliunits: int,
        category_id: str | None,
        *,
        payee_name: str | None = None,
        memo: str | None = None,
        plan_id: str = PLAN_ID,
        account_id: str = CHECKING_ACCOUNT_ID,
        import_id: str | None = None,
        approved: bool = True,
        deleted: bool = False,
        is_split: bool = False,
        transfer_account_id: str | None = None,
        transaction_id: str | None = None,
    ) -> str:
        number = next(self._transaction_numbers)
        transaction_id = transaction_id or f"t-{number:06d}"
        self.db.execute(
            "INSERT INTO ynab_transaction (id, plan_id, account_id, date, amount, memo, cleared,"
            " approved, payee_name, category_id, transfer_account_id, import_id, is_split,"
            " deleted, raw) VALUES (%s, %s, %s, %s, %s, %s, 'cleared', %s, %s, %s, %s, %s, %s,"
            " %s, '{}')",
            (
                transaction_id,
                plan_id,
                account_id,
                date,
                amount_milliunits,
                memo,
                approved,
                payee_name,
                category_id,
                transfer_account_id,
                import_id,
                is_split,
                deleted,
            ),
        )
        return transaction_id

    def set_category(self, transaction_id: str, category_id: str | None) -> None:
        self.db.execute(
            "UPDATE ynab_transaction SET category_id = %s WHERE id = %s",
            (category_id, transaction_id),
        )

    def queue(
        self,
        payment_id: int,
        *,
        plan_id: str = PLAN_ID,
        transaction_id: str | None = None,
        import_id: str | None = None,
        status: str = "synced",
    ) -> None:
        self.db.execute(
            "INSERT INTO payment_queue (payment_id, status, import_id, ynab_plan_id,"
            " ynab_transaction_id) VALUES (%s, %s, %s, %s, %s)",
            (payment_id, status, import_id, plan_id, transaction_id),
        )


def local_time(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """Return an aware Europe/Amsterdam datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def milliunits(amount: str) -> int:
    return int(Decimal(amount) * 1000)


# ---- synthetic household ------------------------------------------------------------------- #

INCOME = "Inflow: Ready to Assign"
CATEGORY_NAMES = (
    "Groceries",
    "Eating out",
    "Transport",
    "Rent",
    "Utilities",
    "Subscriptions",
    "Insurance",
    "Healthcare",
    "Clothing",
    "Entertainment",
    "Personal care",
)
CITIES = ("AMSTERDAM", "UTRECHT", "HAARLEM", "LEIDEN")
WORDS = (
    "Tulp",
    "Molen",
    "Gracht",
    "Haven",
    "Linde",
    "Eik",
    "Zon",
    "Maan",
    "Ster",
    "Vos",
    "Beer",
    "Duif",
    "Roos",
    "Klaver",
    "Brug",
    "Poort",
    "Toren",
    "Dijk",
    "Wilg",
    "Kade",
    "Anker",
    "Vuur",
)


@dataclasses.dataclass
class SyntheticPayment:
    """One generated bunq payment and the category its YNAB transaction has."""

    created: dt.datetime  # aware, Europe/Amsterdam
    amount: str
    description: str
    counterparty_name: str | None
    counterparty_iban: str | None
    payment_type: str
    sub_type: str
    category: str | None  # category name; None for transfers to savings

    def row(self) -> dict:
        return {
            "created": self.created,
            "amount": Decimal(self.amount),
            "description": self.description,
            "counterparty_name": self.counterparty_name,
            "counterparty_iban": self.counterparty_iban,
            "payment_type": self.payment_type,
            "sub_type": self.sub_type,
        }

    def record(self) -> dict[str, str]:
        return payment_features(self.row(), AMSTERDAM)


def _amount(rng: random.Random, low: float, high: float, sign: int = -1) -> str:
    cents = rng.randint(round(low * 100), round(high * 100))
    return f"{'-' if sign < 0 else ''}{cents // 100}.{cents % 100:02d}"


def _when(rng: random.Random, year: int, month: int, day: int | None = None) -> dt.datetime:
    day = day or rng.randint(1, 28)
    # Card payments happen until after midnight, so the UTC date often differs from the local one.
    hour = rng.choice((0, 1, 8, 9, 10, 12, 13, 15, 17, 18, 19, 20, 21, 22, 23))
    return dt.datetime(year, month, day, hour, rng.randint(0, 59), tzinfo=AMSTERDAM)


def generate_household(seed: int = 7, months: int = 20, noise: float = 0.06) -> list:
    """Generate the payments of a household over ``months`` months ending in October 2026.

    Recurring merchants mostly keep one category, but a share ``noise`` of them got another one
    from the user, and restaurants, shops and income payers are often new, so the description,
    amount and type matter, not just the payee.
    """
    rng = random.Random(seed)
    payments: list[SyntheticPayment] = []
    first_month = 2026 * 12 + 10 - months  # months counted from year 0

    def add(created, amount, description, name, iban, kind, sub, category, noisy=True):
        if noisy and category is not None and rng.random() < noise:
            category = rng.choice([c for c in CATEGORY_NAMES if c != category])
        payments.append(
            SyntheticPayment(created, amount, description, name, iban, kind, sub, category)
        )

    order = itertools.count(4_100_000, 7919)
    for index in range(months):
        year, month = divmod(first_month + index, 12)
        month += 1
        ym = (year, month)
        for _ in range(rng.randint(6, 9)):
            store = rng.randint(1000, 9999)
            city = rng.choice(CITIES)
            add(
                _when(rng, *ym),
                _amount(rng, 4, 95),
                f"ALBERT HEIJN {store} {city} NLD",
                f"Albert Heijn {store}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Groceries",
            )
        for _ in range(rng.randint(2, 4)):
            city = rng.choice(CITIES)
            add(
                _when(rng, *ym),
                _amount(rng, 6, 70),
                f"JUMBO {city} NLD",
                f"Jumbo {city}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Groceries",
            )
        for _ in range(rng.randint(2, 4)):
            kind = rng.choice(("Restaurant", "Cafe", "Eetcafe", "Pizzeria", "Bistro"))
            name = f"{kind} {rng.choice(WORDS)}"
            prefix = rng.choice(("", "CCV*", "SumUp *", "iZ *"))
            add(
                _when(rng, *ym),
                _amount(rng, 9, 85),
                f"{prefix}{name.upper()} {rng.choice(CITIES)}",
                f"{prefix}{name}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Eating out",
                noisy=False,
            )
        for _ in range(rng.randint(1, 2)):
            add(
                _when(rng, *ym),
                _amount(rng, 15, 45),
                f"Bestelling {next(order)} Thuisbezorgd.nl",
                "Thuisbezorgd.nl",
                "NL44RABO0123456789",
                "IDEAL",
                "PAYMENT",
                "Eating out",
            )
        for _ in range(rng.randint(3, 6)):
            city = rng.choice(CITIES)
            add(
                _when(rng, *ym),
                _amount(rng, 2.5, 25),
                f"NS GROEP IZ NS {city}",
                "NS Groep IZ NS",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Transport",
            )
        if rng.random() < 0.8:
            pump = rng.randint(100, 999)
            add(
                _when(rng, *ym),
                _amount(rng, 40, 85),
                f"SHELL {pump} {rng.choice(CITIES)}",
                f"Shell {pump}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Transport",
            )
        add(
            _when(rng, *ym, day=1),
            "-1250.00",
            f"Huur {month:02d}-{year}",
            "Woonstichting De Key",
            "NL02ABNA0457000001",
            "EBA_SCT",
            "SCT",
            "Rent",
            noisy=False,
        )
        add(
            _when(rng, *ym, day=rng.randint(20, 24)),
            _amount(rng, 95, 140),
            f"Termijnbedrag {rng.randint(10**7, 10**8)} Vattenfall Klantenservice",
            "Vattenfall Klantenservice N.V.",
            "NL86INGB0002445588",
            "EBA_SDD",
            "SDD",
            "Utilities",
        )
        add(
            _when(rng, *ym, day=rng.randint(10, 14)),
            _amount(rng, 20, 30),
            f"Waternet {year} termijn {month}",
            "Waternet",
            "NL13BNGH0285000002",
            "EBA_SDD",
            "SDD",
            "Utilities",
        )
        add(
            _when(rng, *ym, day=rng.randint(15, 18)),
            "-45.00",
            f"KPN factuur {next(order)}",
            "KPN B.V.",
            "NL07ABNA0548963852",
            "EBA_SDD",
            "SDD",
            "Utilities",
        )
        add(
            _when(rng, *ym, day=5),
            "-13.99",
            "NETFLIX.COM AMSTERDAM NLD",
            "Netflix.com",
            None,
            "MASTERCARD",
            "PAYMENT",
            "Subscriptions",
        )
        add(
            _when(rng, *ym, day=9),
            "-10.99",
            f"Spotify P{next(order)}",
            "Spotify AB",
            "NL54DEUT0265177042",
            "EBA_SDD",
            "SDD",
            "Subscriptions",
        )
        add(
            _when(rng, *ym, day=27),
            "-138.50",
            f"Zorgverzekering {month:02d}/{year}",
            "Zilveren Kruis Achmea",
            "NL19INGB0000022010",
            "EBA_SDD",
            "SDD",
            "Insurance",
        )
        add(
            _when(rng, *ym, day=2),
            "-32.10",
            "Polis 7731-0042 Inboedel",
            "Centraal Beheer",
            "NL61INGB0000004330",
            "EBA_SDD",
            "SDD",
            "Insurance",
        )
        if rng.random() < 0.5:
            shop = rng.choice(WORDS)
            add(
                _when(rng, *ym),
                _amount(rng, 4, 40),
                f"APOTHEEK {shop.upper()} {rng.choice(CITIES)}",
                f"Apotheek {shop}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Healthcare",
                noisy=False,
            )
        if rng.random() < 0.7:
            add(
                _when(rng, *ym),
                _amount(rng, 25, 130),
                f"Bestelnummer {next(order)} Zalando",
                "Zalando SE",
                "NL21DEUT0265186439",
                "IDEAL",
                "PAYMENT",
                "Clothing",
            )
        if rng.random() < 0.5:
            number = rng.randint(100, 999)
            add(
                _when(rng, *ym),
                _amount(rng, 10, 80),
                f"H&M {number} {rng.choice(CITIES)}",
                f"H&M {number}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Clothing",
            )
        for _ in range(rng.randint(1, 2)):
            city = rng.choice(CITIES)
            add(
                _when(rng, *ym),
                _amount(rng, 11, 32),
                f"PATHE {city} NLD",
                f"Pathe {city}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Entertainment",
            )
        if rng.random() < 0.6:
            add(
                _when(rng, *ym),
                _amount(rng, 20, 35),
                f"KNIPPERS KAPSALON {rng.choice(CITIES)}",
                f"Knippers Kapsalon {rng.randint(1, 9)}",
                None,
                "MASTERCARD",
                "PAYMENT",
                "Personal care",
                noisy=False,
            )
        # Income: the salary, plus one-off money from people and shops that are new each time.
        add(
            _when(rng, *ym, day=25),
            _amount(rng, 2800, 3100, sign=1),
            f"Salaris {month:02d}-{year} werknemer 1187",
            "Werkgever B.V.",
            "NL91ABNA0417164300",
            "EBA_SCT",
            "SCT",
            INCOME,
            noisy=False,
        )
        for _ in range(rng.randint(0, 2)):
            person = f"{rng.choice('ABCDEFGHKLMNPRSTVW')}. {rng.choice(WORDS)}"
            reason = rng.choice(("Terugbetaling", "Marktplaats", "Verkoop", "Teruggave"))
            bank = rng.choice(("INGB", "RABO", "ABNA", "SNSB"))
            iban = f"NL{rng.randint(10, 99)}{bank}0{rng.randint(10**8, 10**9)}"
            add(
                _when(rng, *ym),
                _amount(rng, 10, 400, sign=1),
                f"{reason} {rng.choice(WORDS).lower()}",
                person,
                iban,
                "EBA_SCT",
                "SCT",
                INCOME,
                noisy=False,
            )
        # Monthly transfer to savings: a transfer in YNAB, so never a label.
        add(
            _when(rng, *ym, day=26),
            "-300.00",
            "Sparen",
            "Spaarrekening",
            SAVINGS_IBAN,
            "BUNQ",
            "PAYMENT",
            None,
            noisy=False,
        )
    payments.sort(key=lambda payment: payment.created)
    return payments


@dataclasses.dataclass
class SyntheticPlan:
    plan_id: str
    categories: dict[str, str]  # name -> id
    payment_ids: list[int]
    transaction_ids: list[str]
    payments: list[SyntheticPayment]


def populate_household(
    db: Database,
    *,
    plan_id: str = PLAN_ID,
    plan_name: str = PLAN_NAME,
    bunq_account_id: int = BUNQ_CHECKING_ID,
    checking_id: str = CHECKING_ACCOUNT_ID,
    savings_id: str = SAVINGS_ACCOUNT_ID,
    seed: int = 7,
    months: int = 20,
    payments: list[SyntheticPayment] | None = None,
) -> SyntheticPlan:
    """Insert a plan with its accounts, categories, payments and YNAB transactions.

    Payments from ``PRODUCT_START`` on were synced by the product: queued with the transaction id
    (or, for every fourth, only the import_id). Older ones only have a YNAB transaction with the
    same amount and local date, as a bank import would have created.
    """
    builder = Builder(db)
    builder._payment_ids = itertools.count(bunq_account_id * 10_000 + 1)
    builder.plan(plan_id, plan_name)
    builder.ynab_account(checking_id, plan_id, "Checking")
    builder.ynab_account(savings_id, plan_id, "Savings")
    builder.bunq_account(bunq_account_id, plan_id, checking_id, iban=f"NL12BUNQ{bunq_account_id}")
    categories = {name: builder.category(name, plan_id) for name in CATEGORY_NAMES}
    categories[INCOME] = builder.category(INCOME, plan_id, group="Internal", internal=True)
    payments = payments if payments is not None else generate_household(seed, months)

    payment_ids: list[int] = []
    transaction_ids: list[str] = []
    for index, payment in enumerate(payments):
        payment_id = builder.payment(
            payment.created,
            payment.amount,
            description=payment.description,
            counterparty_name=payment.counterparty_name,
            counterparty_iban=payment.counterparty_iban,
            payment_type=payment.payment_type,
            sub_type=payment.sub_type,
            account_id=bunq_account_id,
        )
        local_date = payment.created.astimezone(AMSTERDAM).date()
        synced = local_date >= PRODUCT_START
        import_id = f"bunq:{payment_id}" if synced else None
        transaction_id = builder.transaction(
            local_date,
            milliunits(payment.amount),
            categories[payment.category] if payment.category else None,
            payee_name=payment.counterparty_name,
            memo=payment.description,
            plan_id=plan_id,
            account_id=checking_id,
            import_id=import_id,
            transfer_account_id=savings_id if payment.category is None else None,
            transaction_id=f"{plan_id[:8]}-t{index:05d}",
        )
        if synced:
            linked_by_id = index % 4 != 0
            builder.queue(
                payment_id,
                plan_id=plan_id,
                transaction_id=transaction_id if linked_by_id else None,
                import_id=import_id,
            )
        payment_ids.append(payment_id)
        transaction_ids.append(transaction_id)
    return SyntheticPlan(plan_id, categories, payment_ids, transaction_ids, payments)


def register_shuffled_model(tracking_uri, artifact_location, dataset, model_name, seed=0) -> str:
    """Fit the pipeline on shuffled labels, log and register it; return its version.

    Such a model is as good as guessing, which makes it a known-worse champion or challenger.
    """
    import mlflow

    from bunq_ynab.classification.experiments import log_category_model, register_model_version
    from bunq_ynab.classification.models import build_pipeline
    from bunq_ynab.classification.tracking import plan_experiment, use_tracking_uri

    client = use_tracking_uri(tracking_uri)
    experiment_id = plan_experiment(
        client, "shuffled labels", dataset.plan_id, dataset.plan_name, artifact_location
    )
    labels = list(dataset.labels)
    random.Random(seed).shuffle(labels)
    pipeline = build_pipeline("logistic_regression", seed).fit(dataset.rows, labels)
    tags = {"plan_id": dataset.plan_id, "plan_name": dataset.plan_name, "purpose": "shuffled"}
    with mlflow.start_run(experiment_id=experiment_id, run_name="shuffled labels"):
        model_info = log_category_model(pipeline, dataset.category_names)
        return register_model_version(model_info, model_name, tags)
