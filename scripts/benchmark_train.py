"""Measure training and serving of one plan's category model on 10,000 labelled payments.

Generates a year of payments of one household over 25 YNAB categories, stores them in a fresh
Postgres database ``bunq_ynab_benchmark_train``, and then:

1. runs ``experiments.train_plan`` for the plan with the small grid, then with the full grid,
   into one temporary MLflow store (sqlite). The second run is a retraining: promotion scores
   the first run's champion on the same test split, as the weekly train DAG does;
2. reports the held-out accuracy, macro-F1 and Cohen's kappa of both models and of the payee
   baseline;
3. starts MLServer from ``.venv-serving`` on 127.0.0.1, deploys the champion with
   ``deploy_champion`` and times inference requests of 200 test-split records each. After
   MLServer has stopped, the same batches go through the model loaded into this process, which
   separates the model's own work (feature extraction, classifier) from MLServer and HTTP.

The time of each training part comes from wrapping functions of ``experiments`` while it runs.
Some of them are private, so renaming one makes this script fail with an AttributeError rather
than report a wrong split. The generator lives in this file, so the benchmark does not depend on
the test helpers.

Prints a Markdown report; docs/benchmarks.md records one run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import functools
import importlib
import itertools
import logging
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "plugins"), str(REPO_ROOT)]
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

PG_ADMIN_DSN = os.environ.get(
    "BUNQ_YNAB_BENCHMARK_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "bunq_ynab_benchmark_train"
ZONE = ZoneInfo("Europe/Amsterdam")
FIRST_DAY = dt.date(2025, 10, 1)  # the generated year runs from here to 2026-09-30
DAYS = 365
# Payments from here on were created by the sync and are linked through the queue. Older ones
# only have a YNAB transaction with the same amount and date, as a bank import leaves them.
PRODUCT_START = dt.date(2026, 5, 1)
# Share of the payments of recurring payees that the user filed under another category.
NOISE = 0.03

PLAN_ID = "5e0c7a1d-2b4f-4c8e-9d3a-6f1b2c3d0001"
PLAN_NAME = "Benchmark household"
CHECKING_ID = "5e0c7a1d-2b4f-4c8e-9d3a-6f1b2c3d1001"  # YNAB account linked to the bunq account
SAVINGS_ID = "5e0c7a1d-2b4f-4c8e-9d3a-6f1b2c3d1002"
BUNQ_ACCOUNT_ID = 7001
OWN_IBAN = "NL20BUNQ2070010001"
SAVINGS_IBAN = "NL20BUNQ2070010002"

INCOME = "Inflow: Ready to Assign"
SPENDING_CATEGORIES = (
    "Groceries",
    "Eating out",
    "Coffee & snacks",
    "Public transport",
    "Fuel",
    "Parking",
    "Rent",
    "Energy",
    "Water",
    "Internet & phone",
    "Subscriptions",
    "Insurance",
    "Healthcare",
    "Clothing",
    "Household",
    "Electronics",
    "Books & media",
    "Entertainment",
    "Sports",
    "Personal care",
    "Gifts",
    "Travel",
    "Pets",
    "Charity",
)
CATEGORIES = (*SPENDING_CATEGORIES, INCOME)  # 25 labels

# Neighbouring categories that a user files a payment under by mistake. A category missing here
# is confused with any other spending category.
CONFUSED_WITH = {
    "Groceries": ("Household", "Eating out", "Personal care"),
    "Eating out": ("Coffee & snacks", "Groceries", "Entertainment"),
    "Coffee & snacks": ("Eating out", "Groceries"),
    "Public transport": ("Travel", "Parking", "Fuel"),
    "Fuel": ("Public transport", "Parking", "Travel"),
    "Parking": ("Fuel", "Public transport"),
    "Household": ("Groceries", "Electronics", "Gifts"),
    "Electronics": ("Household", "Gifts"),
    "Books & media": ("Gifts", "Entertainment"),
    "Personal care": ("Healthcare", "Groceries", "Household"),
    "Clothing": ("Gifts", "Sports"),
    "Entertainment": ("Eating out", "Gifts"),
    "Subscriptions": ("Entertainment", "Internet & phone"),
    "Energy": ("Water", "Internet & phone"),
    "Water": ("Energy",),
    "Internet & phone": ("Subscriptions", "Energy"),
    "Insurance": ("Healthcare",),
}
CITIES = ("AMSTERDAM", "UTRECHT", "HAARLEM", "LEIDEN", "ZAANDAM", "AMSTELVEEN")
WORDS = (
    "Tulp", "Molen", "Gracht", "Haven", "Linde", "Eik", "Zon", "Maan", "Ster", "Vos", "Beer",
    "Duif", "Roos", "Klaver", "Brug", "Poort", "Toren", "Dijk", "Wilg", "Kade", "Anker", "Vuur",
)  # fmt: skip
RESTAURANT_KINDS = ("Restaurant", "Eetcafe", "Pizzeria", "Bistro", "Brasserie", "Sushi", "Thai")
PROCESSOR_PREFIXES = ("", "", "CCV*", "SumUp *", "iZ *", "Zettle_*")
# What a Tikkie request is for decides its category, in both directions: paying a friend back
# for dinner is Eating out, and so is the money friends send back for a dinner the user paid.
TIKKIE_PURPOSES = {
    "etentje": "Eating out",
    "pizza vrijdag": "Eating out",
    "sushi avond": "Eating out",
    "borrel": "Eating out",
    "boodschappen": "Groceries",
    "boodschappen weekend": "Groceries",
    "kaartjes concert": "Entertainment",
    "bioscoop": "Entertainment",
    "festival tickets": "Entertainment",
    "cadeau Sanne": "Gifts",
    "verjaardagscadeau": "Gifts",
    "cadeau collega": "Gifts",
    "huisje Texel": "Travel",
    "weekendje weg": "Travel",
}


@dataclasses.dataclass(frozen=True)
class Source:
    """One kind of payment: a payee, how its fields look, and how often it occurs.

    ``name`` and ``description`` are ``str.format`` templates over the fields of
    :meth:`Generator.fields`. Exactly one of ``monthly_day``, ``count`` and ``weight`` is set.
    """

    category: str | None  # None: the category comes from the Tikkie purpose
    name: str
    description: str
    median: str  # typical amount in euros, positive
    spread: float = 0.4  # sigma of the log-normal amount, 0 for a fixed amount
    payment_type: str = "MASTERCARD"
    sub_type: str = "PAYMENT"
    iban: str | None = None
    hours: tuple[int, int] = (8, 22)  # local hours in which it happens, inclusive
    inflow: bool = False
    monthly_day: int | None = None  # once a month on this day
    count: int | None = None  # this many times a year, on random days
    weight: float | None = None  # share of the payments left after the counted ones
    # (threshold in euros, category below it): the category depends on the amount.
    below: tuple[str, str] | None = None
    noisy: bool = True  # the user sometimes filed it under another category
    transfer: bool = False  # a transfer to an own account, which has no category


def _monthly(category: str, name: str, description: str, median: str, day: int, **kwargs) -> Source:
    kwargs.setdefault("payment_type", "EBA_SDD")
    kwargs.setdefault("sub_type", "SDD")
    kwargs.setdefault("hours", (5, 7))
    return Source(category, name, description, median, monthly_day=day, **kwargs)


SOURCES: tuple[Source, ...] = (
    # Recurring, once a month.
    _monthly("Rent", "Woonstichting De Key", "Huur {month:02d}-{year}", "1250.00", 1,
             spread=0, payment_type="EBA_SCT", sub_type="SCT", iban="NL02ABNA0457000001",
             noisy=False),
    _monthly("Energy", "Vattenfall Klantenservice N.V.", "Termijnbedrag {ref} Vattenfall",
             "118.00", 22, spread=0.1, iban="NL53INGB0654812345"),
    _monthly("Water", "Waternet", "Waternet {year} termijn {month}", "24.50", 12, spread=0.05,
             iban="NL13BNGH0285000002"),
    _monthly("Internet & phone", "KPN B.V.", "KPN factuur {ref}", "45.00", 16, spread=0,
             iban="NL07ABNA0548963852"),
    _monthly("Internet & phone", "Odido Netherlands B.V.", "Odido {ref} mobiel", "22.50", 19,
             spread=0.1, iban="NL94INGB0000869000"),
    _monthly("Subscriptions", "Netflix.com", "NETFLIX.COM AMSTERDAM NLD", "13.99", 5, spread=0,
             payment_type="MASTERCARD", sub_type="PAYMENT"),
    _monthly("Subscriptions", "Spotify AB", "Spotify P{ref}", "10.99", 9, spread=0,
             iban="NL54DEUT0265177042"),
    _monthly("Subscriptions", "Disney Plus", "DISNEY PLUS AMSTERDAM", "8.99", 14, spread=0,
             payment_type="MASTERCARD", sub_type="PAYMENT"),
    _monthly("Insurance", "Zilveren Kruis Achmea", "Zorgverzekering {month:02d}/{year}",
             "138.50", 27, spread=0, iban="NL19INGB0000022010"),
    _monthly("Insurance", "Centraal Beheer", "Polis 7731-0042 Inboedel", "32.10", 2, spread=0,
             iban="NL61INGB0000004330"),
    _monthly("Sports", "Basic-Fit Nederland B.V.", "Basic-Fit lidmaatschap {ref}", "29.99", 3,
             spread=0, iban="NL45ABNA0600711822"),
    _monthly("Charity", "Stichting KWF Kankerbestrijding", "Maandelijkse gift KWF", "10.00", 7,
             spread=0, iban="NL23INGB0000000026", noisy=False),
    _monthly(INCOME, "Werkgever B.V.", "Salaris {month:02d}-{year} werknemer 1187", "2950.00",
             25, spread=0.02, payment_type="EBA_SCT", sub_type="SCT",
             iban="NL91ABNA0417164300", inflow=True, noisy=False),
    # The long tail: a few times a year.
    Source("Pets", "Dierenkliniek {word}", "DIERENKLINIEK {WORD} {city}", "65.00", 0.5,
           count=3),
    Source("Pets", "Pets Place {city_title}", "PETS PLACE {city} NLD", "28.00", 0.4, count=4),
    Source("Travel", "KLM Royal Dutch Airlines", "KLM {ref} AMSTELVEEN", "240.00", 0.4,
           count=2, hours=(9, 23)),
    Source("Travel", "Booking.com", "Booking.com {ref} reservering", "310.00", 0.5,
           payment_type="IDEAL", iban="NL51ABNA0240123456", count=4),
    Source("Travel", "NS International", "NS INTERNATIONAL {ref}", "110.00", 0.3,
           payment_type="IDEAL", iban="NL86INGB0000654321", count=3),
    Source("Charity", "Het Nederlandse Rode Kruis", "Gift {ref} Rode Kruis", "25.00", 0.3,
           payment_type="IDEAL", iban="NL64INGB0000000700", count=3),
    Source("Healthcare", "Tandartspraktijk {word}", "Factuur {ref} tandarts", "85.00", 0.5,
           payment_type="EBA_SCT", sub_type="SCT", iban="NL33RABO0{account}", count=3),
    Source("Insurance", "ANWB B.V.", "ANWB wegenwacht {year}", "79.00", 0, count=1,
           payment_type="EBA_SDD", sub_type="SDD", iban="NL69INGB0000030000"),
    Source("Electronics", "MediaMarkt {city_title}", "MEDIAMARKT {city} NLD", "160.00", 0.7,
           count=6),
    Source("Gifts", "Bloemist {word}", "BLOEMIST {WORD} {city}", "22.00", 0.3, count=10),
    Source(INCOME, "Belastingdienst", "Teruggaaf inkomstenbelasting {year}", "640.00", 0.3,
           payment_type="EBA_SCT", sub_type="SCT", iban="NL86INGB0002445588", inflow=True,
           count=1, noisy=False),
    # Frequent payees, weighted.
    Source("Groceries", "Albert Heijn {store}", "ALBERT HEIJN {store} {city} NLD", "27.00", 0.7,
           weight=16),
    Source("Groceries", "Jumbo {city_title}", "JUMBO {city} NLD", "24.00", 0.7, weight=6),
    Source("Groceries", "Lidl {store}", "LIDL {store} {city}", "19.00", 0.6, weight=3),
    Source("Groceries", "Picnic B.V.", "Picnic bestelling {order}", "62.00", 0.3,
           payment_type="IDEAL", iban="NL35ABNA0822556677", weight=2),
    Source("Eating out", "{prefix}{restaurant}", "{PREFIX}{RESTAURANT} {city}", "34.00", 0.6,
           hours=(12, 23), weight=8, noisy=False),
    Source("Eating out", "Thuisbezorgd.nl", "Bestelling {order} Thuisbezorgd.nl", "28.00",
           0.3, payment_type="IDEAL", iban="NL44RABO0123456789", hours=(17, 22), weight=3),
    # HEMA: a lunch or breakfast under 12 euros, household goods above.
    Source("Household", "HEMA {city_title}", "HEMA {store} {city}", "14.00", 0.8,
           below=("12.00", "Eating out"), weight=3),
    Source("Coffee & snacks", "{prefix}Koffiebar {word}", "{PREFIX}KOFFIEBAR {WORD} {city}",
           "3.90", 0.3, hours=(7, 17), weight=6, noisy=False),
    Source("Coffee & snacks", "Starbucks {city_title}", "STARBUCKS {city} CS", "5.20", 0.3,
           hours=(7, 19), weight=3),
    Source("Coffee & snacks", "AH to go {store}", "AH TO GO {store} {city} CS", "6.40", 0.4,
           hours=(7, 20), weight=3),
    Source("Public transport", "NS Groep IZ NS", "NS GROEP IZ NS {city}", "6.80", 0.6,
           weight=9),
    Source("Public transport", "GVB", "GVB AMSTERDAM {ref}", "3.40", 0.2, weight=5),
    # Fuel stations: a full tank is Fuel, a coffee or a sandwich from the shop is not.
    Source("Fuel", "Shell {store}", "SHELL {store} {city}", "55.00", 0.5,
           below=("15.00", "Coffee & snacks"), weight=2),
    Source("Fuel", "TotalEnergies {city_title}", "TOTAL {store} {city}", "58.00", 0.3,
           weight=1),
    Source("Parking", "Q-Park Nederland", "Q-PARK {city} {store}", "9.50", 0.6, weight=0.8),
    Source("Parking", "Gemeente Amsterdam Parkeren", "Parkeren {ref} gemeente Amsterdam",
           "4.20", 0.5, payment_type="IDEAL", iban="NL27INGB0000026500", weight=0.8),
    Source("Personal care", "Kruidvat {store}", "KRUIDVAT {store} {city}", "12.00", 0.6,
           weight=2.5),
    Source("Personal care", "Etos {store}", "ETOS {store} {city}", "10.00", 0.6, weight=1.5),
    Source("Personal care", "Knippers Kapsalon", "KNIPPERS KAPSALON {city}", "28.00", 0.2,
           weight=0.4),
    Source("Healthcare", "Apotheek {word}", "APOTHEEK {WORD} {city}", "12.00", 0.7,
           weight=0.4, noisy=False),
    Source("Clothing", "Zalando SE", "Bestelnummer {order} Zalando", "65.00", 0.5,
           payment_type="IDEAL", iban="NL21DEUT0265186439", weight=1.2),
    Source("Clothing", "H&M {store}", "H&M {store} {city}", "35.00", 0.6, weight=1.2),
    Source("Clothing", "Uniqlo {city_title}", "UNIQLO {city} NLD", "42.00", 0.5, weight=0.4),
    Source("Household", "Action {store}", "ACTION {store} {city}", "11.00", 0.7, weight=2),
    Source("Household", "IKEA {city_title}", "IKEA {city} NLD", "85.00", 0.9, weight=0.6),
    # Coolblue: small accessories and kitchen things are Household, devices Electronics.
    Source("Electronics", "Coolblue B.V.", "Coolblue bestelling {order}", "120.00", 0.9,
           payment_type="IDEAL", iban="NL52ABNA0435123123", below=("60.00", "Household"),
           weight=0.6),
    # bol.com: books and media under 40 euros, anything dearer is Electronics.
    Source("Electronics", "bol.com", "bol.com bestelling {order}", "30.00", 0.8,
           payment_type="IDEAL", iban="NL49ABNA0549123456", below=("40.00", "Books & media"),
           weight=1.5),
    Source("Books & media", "Bruna {city_title}", "BRUNA {store} {city}", "14.00", 0.5,
           weight=0.7),
    Source("Entertainment", "Pathe {city_title}", "PATHE {city} NLD", "24.00", 0.3,
           hours=(13, 22), weight=1.5),
    Source("Entertainment", "Ticketmaster", "Ticketmaster order {order}", "68.00", 0.4,
           payment_type="IDEAL", iban="NL11ABNA0424987654", weight=0.4),
    Source("Sports", "Decathlon {city_title}", "DECATHLON {city} NLD", "38.00", 0.7,
           weight=0.3),
    # Tikkie: one payee, the category comes from the request's purpose.
    Source(None, "AAB INZ TIKKIE", "Tikkie ID {tikkie}, {purpose}, Van {person}", "18.00", 0.6,
           payment_type="IDEAL", iban="NL60ABNA0526500000", hours=(9, 23), weight=2.5),
    Source(None, "AAB INZ TIKKIE", "Tikkie ID {tikkie}, {purpose}, Van {person}", "16.00", 0.6,
           payment_type="EBA_SCT", sub_type="SCT", iban="NL60ABNA0526500000", hours=(9, 23),
           inflow=True, weight=2),
    # Money from people who are new each time: sales and refunds.
    Source(INCOME, "{person}", "{reason} {word_lower}", "45.00", 0.8, payment_type="EBA_SCT",
           sub_type="SCT", iban="NL{check}{bank}0{account}", inflow=True, weight=1.2,
           noisy=False),
)  # fmt: skip

# The monthly transfer to savings is a YNAB transfer, so the dataset excludes it.
SAVINGS_TRANSFER = _monthly(
    None, "Spaarrekening", "Sparen", "300.00", 26, spread=0, payment_type="BUNQ",
    sub_type="PAYMENT", iban=SAVINGS_IBAN, noisy=False, transfer=True,
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Payment:
    """A generated bunq payment and the category of its YNAB transaction."""

    created: dt.datetime  # aware, Europe/Amsterdam
    amount: str  # decimal string, negative for money going out
    description: str
    counterparty_name: str
    counterparty_iban: str | None
    payment_type: str
    sub_type: str
    category: str | None  # None for the transfer to savings


class Generator:
    """Draw the payments of :data:`SOURCES` over one year, reproducibly from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.references = itertools.count(4_100_000_000, 7919)

    def fields(self, day: dt.date) -> dict[str, Any]:
        rng = self.rng
        city = rng.choice(CITIES)
        word = rng.choice(WORDS)
        prefix = rng.choice(PROCESSOR_PREFIXES)
        restaurant = f"{rng.choice(RESTAURANT_KINDS)} {rng.choice(WORDS)}"
        return {
            "city": city,
            "city_title": city.title(),
            "word": word,
            "WORD": word.upper(),
            "word_lower": rng.choice(WORDS).lower(),
            "prefix": prefix,
            "PREFIX": prefix.upper(),
            "restaurant": restaurant,
            "RESTAURANT": restaurant.upper(),
            "store": rng.randint(1000, 9999),
            "order": next(self.references),
            "ref": next(self.references),
            "tikkie": f"{rng.randint(10**11, 10**12 - 1):012d}",
            "person": f"{rng.choice('ABCDEFGHJKLMNPRSTVW')}. {rng.choice(WORDS)}",
            "reason": rng.choice(("Terugbetaling", "Marktplaats", "Verkoop", "Teruggave")),
            "check": rng.randint(10, 99),
            "bank": rng.choice(("INGB", "RABO", "ABNA", "SNSB", "TRIO")),
            "account": rng.randint(10**8, 10**9 - 1),
            "month": day.month,
            "year": day.year,
        }

    def amount(self, source: Source) -> Decimal:
        """Return a positive amount in whole cents around the source's median."""
        median_cents = Decimal(source.median) * 100
        if source.spread == 0:
            cents = int(median_cents)
        else:
            # Only the random draw is a float; the amount itself is whole cents.
            draw = self.rng.lognormvariate(math.log(float(median_cents)), source.spread)
            cents = max(50, round(draw))
        return Decimal(cents).scaleb(-2)

    def payment(self, source: Source, day: dt.date) -> Payment:
        fields = self.fields(day)
        amount = self.amount(source)
        category = source.category
        if category is None and not source.transfer:
            fields["purpose"] = self.rng.choice(sorted(TIKKIE_PURPOSES))
            category = TIKKIE_PURPOSES[fields["purpose"]]
        if source.below is not None and amount < Decimal(source.below[0]):
            category = source.below[1]
        if source.noisy and category is not None and self.rng.random() < NOISE:
            others = [name for name in SPENDING_CATEGORIES if name != category]
            category = self.rng.choice(CONFUSED_WITH.get(category, others))
        low, high = source.hours
        created = dt.datetime.combine(
            day, dt.time(self.rng.randint(low, high), self.rng.randint(0, 59)), ZONE
        )
        iban = source.iban.format(**fields) if source.iban else None
        return Payment(
            created=created,
            amount=str(amount if source.inflow else -amount),
            description=source.description.format(**fields),
            counterparty_name=source.name.format(**fields),
            counterparty_iban=iban,
            payment_type=source.payment_type,
            sub_type=source.sub_type,
            category=category,
        )

    def random_day(self) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.rng.randrange(DAYS))


def monthly_days(day_of_month: int) -> list[dt.date]:
    """Return that day in each of the 12 months of the generated year."""
    days = []
    for offset in range(12):
        year, month = divmod(FIRST_DAY.month - 1 + offset, 12)
        days.append(dt.date(FIRST_DAY.year + year, month + 1, day_of_month))
    return days


def generate_payments(labelled: int, seed: int) -> list[Payment]:
    """Return ``labelled`` categorised payments plus the 12 transfers to savings, by time."""
    generator = Generator(seed)
    payments: list[Payment] = []
    weighted: list[Source] = []
    for source in SOURCES:
        if source.monthly_day is not None:
            payments += [generator.payment(source, day) for day in monthly_days(source.monthly_day)]
        elif source.count is not None:
            payments += [
                generator.payment(source, generator.random_day()) for _ in range(source.count)
            ]
        else:
            weighted.append(source)
    remaining = labelled - len(payments)
    if remaining < 0:
        raise ValueError(f"--payments must be at least {len(payments)}, got {labelled}")
    weights = [source.weight or 0.0 for source in weighted]
    for source in generator.rng.choices(weighted, weights=weights, k=remaining):
        payments.append(generator.payment(source, generator.random_day()))
    payments += [generator.payment(SAVINGS_TRANSFER, day) for day in monthly_days(26)]
    payments.sort(key=lambda payment: (payment.created, payment.description))
    return payments


# ---- database ------------------------------------------------------------------------------ #


def fresh_database():
    import psycopg

    from bunq_ynab.storage import Database, apply_migrations

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    db = Database.from_dsn(PG_ADMIN_DSN.rpartition("/")[0] + f"/{DATABASE}")
    apply_migrations(db)
    return db


def drop_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def category_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PLAN_ID}/category/{name}"))


@dataclasses.dataclass
class PaymentRows:
    """Parameter rows of the three inserts that store the generated payments."""

    payments: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    transactions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    queue: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def payment_rows(payments: Sequence[Payment]) -> PaymentRows:
    """Build the bunq payment, YNAB transaction and queue rows of the generated payments.

    Payments from :data:`PRODUCT_START` on are queued as synced, three in four with the YNAB
    transaction id and every fourth with only the import_id. Older ones get a transaction with a
    YNAB bank-import id, which the dataset pairs by amount and local date.
    """
    rows = PaymentRows()
    occurrences: Counter[tuple[int, dt.date]] = Counter()
    for index, payment in enumerate(payments):
        payment_id = BUNQ_ACCOUNT_ID * 100_000 + index + 1
        transaction_id = f"bench-t{index + 1:06d}"
        local_date = payment.created.date()
        milliunits = int(Decimal(payment.amount) * 1000)
        synced = local_date >= PRODUCT_START
        if synced:
            import_id = f"bunq:{payment_id}"
        else:
            occurrences[(milliunits, local_date)] += 1
            occurrence = occurrences[(milliunits, local_date)]
            import_id = f"YNAB:{milliunits}:{local_date.isoformat()}:{occurrence}"
        rows.payments.append(
            {
                "id": payment_id,
                "account": BUNQ_ACCOUNT_ID,
                "created": payment.created,
                "amount": Decimal(payment.amount),
                "description": payment.description,
                "payment_type": payment.payment_type,
                "sub_type": payment.sub_type,
                "iban": payment.counterparty_iban,
                "name": payment.counterparty_name,
            }
        )
        rows.transactions.append(
            {
                "id": transaction_id,
                "plan": PLAN_ID,
                "account": CHECKING_ID,
                "date": local_date,
                "amount": milliunits,
                "memo": payment.description,
                "payee": payment.counterparty_name,
                "category_id": category_id(payment.category) if payment.category else None,
                "category_name": payment.category,
                "transfer": SAVINGS_ID if payment.category is None else None,
                "import_id": import_id,
            }
        )
        if synced:
            rows.queue.append(
                {
                    "payment": payment_id,
                    "import_id": import_id,
                    "plan": PLAN_ID,
                    "transaction": transaction_id if index % 4 else None,
                }
            )
    return rows


def insert_plan(db) -> None:
    """Insert the plan, its checking and savings accounts, the linked bunq account, categories."""
    db.execute(
        "INSERT INTO ynab_plan (id, name, currency_iso_code, raw) VALUES (%s, %s, 'EUR', '{}')",
        (PLAN_ID, PLAN_NAME),
    )
    for account_id, name in ((CHECKING_ID, "Checking"), (SAVINGS_ID, "Savings")):
        db.execute(
            "INSERT INTO ynab_account (id, plan_id, name, account_type, note, closed,"
            " deleted, on_budget, raw) VALUES (%s, %s, %s, 'checking', NULL, false, false,"
            " true, '{}')",
            (account_id, PLAN_ID, name),
        )
    db.execute(
        "INSERT INTO bunq_account (id, user_id, account_type, description, status, currency,"
        " iban, display_name, raw, ynab_plan_id, ynab_account_id) VALUES (%s, 1,"
        " 'MonetaryAccountBank', 'Main', 'ACTIVE', 'EUR', %s, 'Main', '{}', %s, %s)",
        (BUNQ_ACCOUNT_ID, OWN_IBAN, PLAN_ID, CHECKING_ID),
    )
    db.execute_many(
        "INSERT INTO ynab_category (id, plan_id, category_group_id, category_group_name,"
        " name, hidden, deleted, internal) VALUES (%(id)s, %(plan)s, %(group)s, %(group)s,"
        " %(name)s, false, false, %(internal)s)",
        [
            {
                "id": category_id(name),
                "plan": PLAN_ID,
                "group": "Internal" if name == INCOME else "Spending",
                "name": name,
                "internal": name == INCOME,
            }
            for name in CATEGORIES
        ],
    )


def insert_payments(db, payments: Sequence[Payment]) -> None:
    """Insert the plan, the payments and their YNAB transactions in one database transaction."""
    rows = payment_rows(payments)
    with db.transaction():
        insert_plan(db)
        db.execute_many(
            "INSERT INTO bunq_payment (id, monetary_account_id, created, amount, currency,"
            " description, payment_type, sub_type, counterparty_iban, counterparty_name, raw)"
            " VALUES (%(id)s, %(account)s, %(created)s, %(amount)s, 'EUR', %(description)s,"
            " %(payment_type)s, %(sub_type)s, %(iban)s, %(name)s, '{}')",
            rows.payments,
        )
        db.execute_many(
            "INSERT INTO ynab_transaction (id, plan_id, account_id, date, amount, memo, cleared,"
            " approved, payee_name, category_id, category_name, transfer_account_id, import_id,"
            " is_split, deleted, raw) VALUES (%(id)s, %(plan)s, %(account)s, %(date)s,"
            " %(amount)s, %(memo)s, 'cleared', true, %(payee)s, %(category_id)s,"
            " %(category_name)s, %(transfer)s, %(import_id)s, false, false, '{}')",
            rows.transactions,
        )
        db.execute_many(
            "INSERT INTO payment_queue (payment_id, status, import_id, ynab_plan_id,"
            " ynab_transaction_id, synced_at) VALUES (%(payment)s, 'synced', %(import_id)s,"
            " %(plan)s, %(transaction)s, now())",
            rows.queue,
        )


# ---- training ------------------------------------------------------------------------------ #

TRAINING_MODULES = (
    "sklearn.model_selection",
    "mlflow.pyfunc",
    "bunq_ynab.classification.evaluation",
    "bunq_ynab.classification.models",
    "bunq_ynab.classification.pyfunc",
    "bunq_ynab.classification.tracking",
)
SLOWEST_SHOWN = 5  # grid combinations listed in the report, slowest first
# Functions of experiments whose time is measured, in the order train_plan calls them.
TIMED_FUNCTIONS = (
    "load_dataset",
    "_select_classifier",
    "_grid_search_and_register",
    "_log_combinations",
    "_evaluate",
    "_log_and_register",
    "promote",
)


@dataclasses.dataclass
class TrainingRun:
    """One measured ``train_plan`` call."""

    grid: str
    result: Any  # experiments.TrainingResult
    wall_seconds: float
    cpu_seconds: float  # user and system CPU time of this process and its children in the call
    seconds: dict[str, float]  # TIMED_FUNCTIONS name -> seconds spent in it
    combinations: int  # parameter combinations of the grid search
    cv_splits: int
    refit_seconds: float  # GridSearchCV.refit_time_: the best combination on the training split
    candidates: list[dict[str, Any]]  # selection: one row per candidate classifier
    slowest: list[dict[str, Any]]  # grid search: the combinations with the longest fits
    fit_by_value: dict[str, dict[str, float]]  # parameter -> value -> fit seconds, all folds


@contextlib.contextmanager
def timed_experiments(seconds: dict[str, float], search: dict[str, Any]) -> Iterator[None]:
    """Wrap :data:`TIMED_FUNCTIONS` of ``experiments`` to add up their wall time.

    The wrapper of ``_log_combinations`` also keeps the fitted GridSearchCV in ``search``.
    """
    from bunq_ynab.classification import experiments

    originals = {name: getattr(experiments, name) for name in TIMED_FUNCTIONS}

    def timed(name: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if name == "_log_combinations":
                search["search"] = args[1]
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for name, function in originals.items():
        setattr(experiments, name, timed(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(experiments, name, function)


def train(db, grid: str, tracking_uri: str, artifacts: Path, seed: int, n_jobs: int) -> TrainingRun:
    """Run ``train_plan`` for the plan with the timing wrappers and collect the grid details."""
    from bunq_ynab.classification.experiments import train_plan

    seconds: dict[str, float] = {}
    search: dict[str, Any] = {}
    with timed_experiments(seconds, search):
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        result = train_plan(
            db, PLAN_ID, tracking_uri, artifacts, grid=grid, seed=seed, n_jobs=n_jobs
        )
        wall = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_started
    if result.skipped_reason:
        raise RuntimeError(f"training with the {grid} grid was skipped: {result.skipped_reason}")
    fitted = search["search"]
    return TrainingRun(
        grid=grid,
        result=result,
        wall_seconds=wall,
        cpu_seconds=cpu,
        seconds=seconds,
        combinations=len(fitted.cv_results_["params"]),
        cv_splits=int(fitted.n_splits_),
        refit_seconds=float(fitted.refit_time_),
        candidates=selection_candidates(tracking_uri, result.selection_run_id),
        slowest=slowest_combinations(fitted.cv_results_, SLOWEST_SHOWN),
        fit_by_value=fit_seconds_by_value(fitted.cv_results_, int(fitted.n_splits_)),
    )


def fit_seconds_by_value(results: dict[str, Any], folds: int) -> dict[str, dict[str, float]]:
    """Add up the fit time over all folds per value of each grid parameter."""
    totals: dict[str, dict[str, float]] = {}
    for index, params in enumerate(results["params"]):
        seconds = float(results["mean_fit_time"][index]) * folds
        for key, value in params.items():
            per_value = totals.setdefault(key.split("__")[-1], {})
            per_value[str(value)] = per_value.get(str(value), 0.0) + seconds
    return totals


def slowest_combinations(results: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Return the ``count`` grid combinations with the longest mean fit time per fold."""
    rows = [
        {
            "params": ", ".join(f"{key.split('__')[-1]}={value}" for key, value in params.items()),
            "fit_seconds": float(results["mean_fit_time"][index]),
            "score_seconds": float(results["mean_score_time"][index]),
            "kappa": float(results["mean_test_score"][index]),
        }
        for index, params in enumerate(results["params"])
    ]
    return sorted(rows, key=lambda row: -row["fit_seconds"])[:count]


def cpu_seconds() -> float:
    """Return the user and system CPU time of this process and all its children.

    Running children, such as the joblib workers of ``n_jobs`` > 1, are read through psutil,
    and children that have exited through ``RUSAGE_CHILDREN``.
    """
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    exited = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + exited.ru_utime + exited.ru_stime
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def import_training_libraries() -> None:
    """Import scikit-learn, pandas, MLflow and the modules train_plan imports inside itself."""
    for name in TRAINING_MODULES:
        importlib.import_module(name)


def create_tracking_store(tracking_uri: str) -> None:
    """Create the tables of the sqlite MLflow store."""
    from bunq_ynab.classification.tracking import use_tracking_uri

    use_tracking_uri(tracking_uri).search_experiments()


def selection_candidates(tracking_uri: str, parent_run_id: str) -> list[dict[str, Any]]:
    """Return each candidate's cross-validated scores and run time from its nested MLflow run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    parent = client.get_run(parent_run_id)
    runs = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'"
    )
    rows = []
    for run in sorted(runs, key=lambda run: run.info.start_time):
        metrics = run.data.metrics
        rows.append(
            {
                "name": run.data.params.get("classifier", run.info.run_name),
                "status": run.info.status,
                "seconds": (run.info.end_time - run.info.start_time) / 1000,
                "kappa": metrics.get("cv_kappa_mean", math.nan),
                "f1_macro": metrics.get("cv_f1_macro_mean", math.nan),
                "fit_seconds": metrics.get("cv_fit_seconds_mean", math.nan),
            }
        )
    return rows


def training_parts(run: TrainingRun) -> list[tuple[str, float]]:
    """Split one training's time into its parts; the last part is whatever was not wrapped."""
    seconds = run.seconds
    grid_total = seconds["_grid_search_and_register"]
    nested = seconds["_log_combinations"] + seconds["_evaluate"] + seconds["_log_and_register"]
    cross_validation = grid_total - nested - run.refit_seconds
    parts = [
        ("load and pair the dataset", seconds["load_dataset"]),
        ("classifier selection: cross-validate the candidates", seconds["_select_classifier"]),
        ("grid search: cross-validate the combinations", cross_validation),
        ("grid search: refit the best on the training split", run.refit_seconds),
        ("grid search: log one MLflow run per combination", seconds["_log_combinations"]),
        ("evaluate on the test split, log reports", seconds["_evaluate"]),
        ("log the pyfunc model, register the version", seconds["_log_and_register"]),
        ("promotion: score from the registry, move aliases", seconds["promote"]),
    ]
    accounted = sum(value for _, value in parts)
    parts.append(("the rest (split, folds, experiments)", run.result.duration_seconds - accounted))
    return parts


# ---- serving ------------------------------------------------------------------------------- #


@dataclasses.dataclass
class ServingRun:
    """MLServer start, first deployment and inference latencies."""

    model_version: str
    start_seconds: float
    deploy_seconds: float
    first_request_ms: float
    latencies_ms: list[float]
    records_per_request: int
    served_accuracy: float  # accuracy of the served predictions on the test split
    test_records: int
    peak_rss_mib: float | None  # MLServer's VmHWM
    # Latencies in ms of the same requests' records in this process, without MLServer and HTTP:
    # "pyfunc predict", and its parts "features" and "classifier predict_proba".
    in_process_ms: dict[str, list[float]]


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile, the smallest value with ``share`` of all at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def peak_rss_mib(pid: int) -> float | None:
    """Return a process's peak resident memory (VmHWM) in MiB, or None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def champion_test_split(db, tracking_uri: str, model_name: str, version: str):
    """Return the test records and labels of a registered version, from its run's split.json."""
    import mlflow.artifacts
    from mlflow.tracking import MlflowClient

    from bunq_ynab.classification.dataset import load_dataset

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    run_id = client.get_model_version(model_name, version).run_id
    split = mlflow.artifacts.load_dict(f"runs:/{run_id}/split.json")
    dataset = load_dataset(db, PLAN_ID)
    examples = zip(dataset.rows, dataset.labels, strict=True)
    by_payment = dict(zip(dataset.payment_ids, examples, strict=True))
    pairs = [by_payment[payment_id] for payment_id in split["test_payment_ids"]]
    return [row for row, _ in pairs], [label for _, label in pairs]


def serve(
    db, tracking_uri: str, repository: Path, model_name: str, requests: int, batch: int
) -> ServingRun:
    from bunq_ynab.classification.registry import CHAMPION_ALIAS, alias_version
    from bunq_ynab.classification.tracking import use_tracking_uri
    from bunq_ynab.serving.mlserver import deploy_champion, infer
    from bunq_ynab.serving.process import free_port, start_mlserver

    champion = alias_version(use_tracking_uri(tracking_uri), model_name, CHAMPION_ALIAS)
    if champion is None:
        raise RuntimeError(f"{model_name} has no champion to serve")
    rows, labels = champion_test_split(db, tracking_uri, model_name, champion)
    cycled = list(itertools.islice(itertools.cycle(rows), requests * batch))

    started = time.perf_counter()
    server = start_mlserver(
        repository,
        tracking_uri,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
    )
    try:
        start_seconds = time.perf_counter() - started
        started = time.perf_counter()
        deployment = deploy_champion(repository, server.base_url, tracking_uri, model_name)
        deploy_seconds = time.perf_counter() - started
        if deployment.error or deployment.served_version != champion:
            raise RuntimeError(f"deploying {model_name} v{champion} failed: {deployment}")

        started = time.perf_counter()
        infer(server.base_url, model_name, cycled[:batch], timeout=60.0)
        first_request_ms = (time.perf_counter() - started) * 1000

        latencies, predicted = [], []
        for index in range(requests):
            records = cycled[index * batch : (index + 1) * batch]
            started = time.perf_counter()
            response = infer(server.base_url, model_name, records, timeout=60.0)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.model_version != champion:
                raise RuntimeError(
                    f"MLServer returned model version {response.model_version}, expected {champion}"
                )
            predicted += [category for category, _ in response.predictions]
        covered = min(len(rows), len(predicted))
        correct = sum(predicted[i] == labels[i] for i in range(covered))
        peak = peak_rss_mib(server.pid)
    finally:
        server.stop()
    batches = [cycled[index * batch : (index + 1) * batch] for index in range(requests)]
    in_process = in_process_latencies(tracking_uri, model_name, champion, batches)
    return ServingRun(
        model_version=champion,
        start_seconds=start_seconds,
        deploy_seconds=deploy_seconds,
        first_request_ms=first_request_ms,
        latencies_ms=latencies,
        records_per_request=batch,
        served_accuracy=correct / covered,
        test_records=covered,
        peak_rss_mib=peak,
        in_process_ms=in_process,
    )


def in_process_latencies(
    tracking_uri: str, model_name: str, version: str, batches: Sequence[Sequence[dict]]
) -> dict[str, list[float]]:
    """Time the served version's own work on each batch, loaded into this process.

    Runs after MLServer has stopped, so the two do not compete for the cores.
    """
    import mlflow.pyfunc
    import pandas as pd

    from bunq_ynab.classification.tracking import use_tracking_uri

    use_tracking_uri(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="bunq-ynab-benchmark-model-") as folder:
        model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version}", dst_path=folder)
    pipeline = model.unwrap_python_model().pipeline
    timings: dict[str, list[float]] = {
        "pyfunc predict": [],
        "features": [],
        "classifier predict_proba": [],
    }
    for records in batches:
        frame = pd.DataFrame(list(records))
        started = time.perf_counter()
        model.predict(frame)
        timings["pyfunc predict"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        features = pipeline[:-1].transform(frame)
        timings["features"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        pipeline[-1].predict_proba(features)
        timings["classifier predict_proba"].append((time.perf_counter() - started) * 1000)
    return timings


# ---- report -------------------------------------------------------------------------------- #


def serving_python_version() -> str:
    """Return the versions in .venv-serving, e.g. "Python 3.11.7, MLServer 1.7.1"."""
    from bunq_ynab.serving.process import SERVING_VENV

    output = subprocess.run(
        [
            str(SERVING_VENV / "bin" / "python"),
            "-c",
            "import platform, mlserver; print(platform.python_version(), mlserver.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return f"Python {output[0]}, MLServer {output[1]}"


def table_row(first: str, cells: Sequence[str]) -> str:
    return "| " + " | ".join([first, *cells]) + " |"


def latency_row(name: str, milliseconds: Sequence[float], records: int) -> str:
    p50 = percentile(milliseconds, 0.5)
    cells = [p50, percentile(milliseconds, 0.9), max(milliseconds), statistics.fmean(milliseconds)]
    return table_row(name, [f"{value:.1f}" for value in cells] + [f"{records / p50 * 1000:,.0f}"])


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def print_report(
    args: argparse.Namespace,
    machine: dict[str, str],
    data: dict[str, Any],
    runs: list[TrainingRun],
    serving: ServingRun,
) -> None:
    counts = runs[0].result.counts
    report = counts["dataset"]
    print(
        f"## Training and serving benchmark: {report['examples']:,} labelled payments, "
        f"{report['categories']} categories, 1 plan\n"
    )
    print(
        f"Machine: {machine['machine']}, {machine['cores']} cores, Python {machine['python']}; "
        f"serving environment: {machine['serving']}"
    )
    print(f"Run on {machine['date']}; n_jobs={args.n_jobs}; seed {args.seed}")
    print(f"Load average (1/5/15 min) at start {machine['load_start']}, ", end="")
    print(f"before serving {machine['load_serving']}, at the end {machine['load_end']}")
    print(f"Peak resident memory of this process {machine['peak_mib']:.0f} MiB", end="")
    if serving.peak_rss_mib is not None:
        print(f", of MLServer {serving.peak_rss_mib:.0f} MiB")
    else:
        print()

    print("\n### Data\n")
    print(
        f"Generated {data['generated']:,} payments in {data['generate_seconds']:.2f} s and "
        f"stored them in {data['insert_seconds']:.2f} s. Before training: importing "
        f"scikit-learn and MLflow took {data['import_seconds']:.1f} s, creating the MLflow "
        f"store {data['store_seconds']:.1f} s."
    )
    print(
        f"Dataset: {report['payments']:,} payments, {report['exact_links']:,} linked by the "
        f"queue, {report['matched']:,} paired by amount and date ({report['tied_groups']} tied "
        f"groups), excluded {report['excluded']}, {report['examples']:,} examples in "
        f"{report['categories']} categories."
    )
    print(
        f"Examples per category: largest {data['largest']}, smallest {data['smallest']}; "
        f"train {counts['train']:,}, test {counts['test']:,}, {counts['cv_splits']} CV folds."
    )
    print_training(runs)
    print_evaluation(runs)
    print_serving(serving)


def print_training(runs: Sequence[TrainingRun]) -> None:
    print("\n### Training time (s)\n")
    print(table_row("part", [f"{run.grid} grid" for run in runs]))
    print("|---|" + "---:|" * len(runs))
    parts = [training_parts(run) for run in runs]
    for index, (name, _) in enumerate(parts[0]):
        print(table_row(name, [f"{run_parts[index][1]:.1f}" for run_parts in parts]))
    totals = [f"**{run.result.duration_seconds:.1f}**" for run in runs]
    print(table_row("**total, TrainingResult.duration_seconds**", totals))
    print(table_row("wall time of the train_plan call", [f"{r.wall_seconds:.1f}" for r in runs]))
    print(table_row("CPU time of the call", [f"{run.cpu_seconds:.1f}" for run in runs]))
    fits = [f"{run.combinations} x {run.cv_splits}" for run in runs]
    print(table_row("grid search: combinations x CV folds", fits))

    for run in runs:
        print(f"\nClassifier selection with the {run.grid} grid:\n")
        print("| candidate | CV kappa | CV macro-F1 | fit time per fold (s) | run time (s) |")
        print("|---|---:|---:|---:|---:|")
        for row in run.candidates:
            print(
                f"| {row['name']} | {row['kappa']:.4f} | {row['f1_macro']:.4f} | "
                f"{row['fit_seconds']:.1f} | {row['seconds']:.1f} |"
            )
        print(
            f"\nChosen: {run.result.classifier}, best parameters {run.result.best_params}, "
            f"registered as v{run.result.model_version}. Slowest grid combinations:\n"
        )
        print("| combination | fit time per fold (s) | score time per fold (s) | CV kappa |")
        print("|---|---:|---:|---:|")
        for row in run.slowest:
            print(
                f"| {row['params']} | {row['fit_seconds']:.1f} | {row['score_seconds']:.2f} | "
                f"{row['kappa']:.4f} |"
            )
        print("\nFit time of the grid search over all folds, per parameter value:\n")
        for name, per_value in run.fit_by_value.items():
            values = ", ".join(f"{value} {seconds:.0f} s" for value, seconds in per_value.items())
            print(f"- {name}: {values}")


def print_evaluation(runs: Sequence[TrainingRun]) -> None:
    print("\n### Held-out test split\n")
    print("| model | accuracy | macro-F1 | kappa |")
    print("|---|---:|---:|---:|")
    for run in runs:
        metrics = run.result.metrics
        print(
            f"| v{run.result.model_version}: {run.result.classifier}, {run.grid} grid | "
            f"{metrics['accuracy']:.4f} | {metrics['f1_macro']:.4f} | {metrics['kappa']:.4f} |"
        )
    baseline = runs[0].result.baseline_metrics
    print(
        f"| payee baseline (last category of the payee) | {baseline['accuracy']:.4f} | "
        f"{baseline['f1_macro']:.4f} | {baseline['kappa']:.4f} |"
    )
    print()
    for run in runs:
        promotion = run.result.promotion
        outcome = "promoted" if promotion.promoted else "not promoted"
        print(f"- v{promotion.version}: {outcome}, {promotion.reason}")


def print_serving(serving: ServingRun) -> None:
    latencies = serving.latencies_ms
    print(f"\n### MLServer: {len(latencies)} requests of {serving.records_per_request} records\n")
    print(f"Start (process start to /v2/health/ready): {serving.start_seconds:.2f} s")
    print(
        f"First load (deploy_champion of v{serving.model_version}: settings, /load, ready, "
        f"smoke inference): {serving.deploy_seconds:.2f} s"
    )
    print(f"First request after the deployment: {serving.first_request_ms:.1f} ms\n")
    print("| what is timed | p50 (ms) | p90 (ms) | max (ms) | mean (ms) | records/s at p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    batch = serving.records_per_request
    print(latency_row("MLServer request, sent and answered over HTTP", latencies, batch))
    for name, values in serving.in_process_ms.items():
        print(latency_row(f"in this process: {name}", values, batch))
    print(
        f"\nAccuracy of the served predictions on the {serving.test_records:,} test records: "
        f"{serving.served_accuracy:.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark training and serving of one plan")
    parser.add_argument("--payments", type=int, default=10_000, help="labelled payments")
    parser.add_argument("--seed", type=int, default=42, help="seed of the data and of training")
    parser.add_argument(
        "--grids", nargs="+", default=["small", "full"], choices=["small", "full"],
        help="grids to train with, in this order",
    )  # fmt: skip
    parser.add_argument(
        "--n-jobs", type=int, default=-1,
        help="parallel jobs of cross-validation and grid search; -1 uses every core, as the "
        "train DAG does by default (the training_jobs setting)",
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=50, help="inference requests to time")
    parser.add_argument("--batch", type=int, default=200, help="records per inference request")
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the database and the MLflow and MLServer folders, and print where they are",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from bunq_ynab.classification.dataset import load_dataset
    from bunq_ynab.classification.registry import registered_model_name

    machine = {
        "machine": platform.machine(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "serving": serving_python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "load_start": load_average(),
    }
    folder = Path(tempfile.mkdtemp(prefix="bunq-ynab-benchmark-train-"))
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    artifacts = folder / "artifacts"
    repository = folder / "mlserver"
    db = None
    try:
        started = time.perf_counter()
        payments = generate_payments(args.payments, args.seed)
        generate_seconds = time.perf_counter() - started
        db = fresh_database()
        started = time.perf_counter()
        insert_payments(db, payments)
        insert_seconds = time.perf_counter() - started

        dataset = load_dataset(db, PLAN_ID)
        per_category = Counter(dataset.labels)
        if len(dataset) != args.payments or len(per_category) != len(CATEGORIES):
            raise RuntimeError(
                f"expected {args.payments} examples in {len(CATEGORIES)} categories, got "
                f"{len(dataset)} in {len(per_category)}: {dataset.report.as_dict()}"
            )
        names = dataset.category_names
        (largest, most), *_, (smallest, fewest) = per_category.most_common()
        # Done before the first training, so that its time includes neither the imports, which
        # an Airflow task pays once per process, nor the creation of the MLflow tables, which a
        # deployed store did once.
        started = time.perf_counter()
        import_training_libraries()
        import_seconds = time.perf_counter() - started
        started = time.perf_counter()
        create_tracking_store(tracking_uri)
        store_seconds = time.perf_counter() - started
        data = {
            "import_seconds": import_seconds,
            "store_seconds": store_seconds,
            "generated": len(payments),
            "generate_seconds": generate_seconds,
            "insert_seconds": insert_seconds,
            "largest": f"{names[largest]} {most:,}",
            "smallest": f"{names[smallest]} {fewest}",
        }

        runs = []
        for grid in args.grids:
            runs.append(train(db, grid, tracking_uri, artifacts, args.seed, args.n_jobs))

        machine["load_serving"] = load_average()
        serving = serve(
            db, tracking_uri, repository, registered_model_name(PLAN_ID), args.requests, args.batch
        )
        machine["load_end"] = load_average()
        machine["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        if db is not None:
            db.close()
        if args.keep:
            print(f"Kept the database {DATABASE} and {folder}", file=sys.stderr)
        else:
            drop_database()
            shutil.rmtree(folder, ignore_errors=True)

    print_report(args, machine, data, runs, serving)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
