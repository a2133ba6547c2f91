"""Demo data for both emulators: one invented bunq user, months of payments, and YNAB history.

``build_demo_seed`` returns the shared seed: ``"bunq"`` for the bunq emulator, ``"ynab"`` for
the YNAB emulator and ``"meta"`` for the demo and the tests. The sync starts at
``meta.start_date``. Every payment before that date is already in YNAB as the user's own
hand-entered history: same account, same milliunit amount, the payment's local date in
Europe/Amsterdam, no import_id, and a category that follows from the payee. Payments from
the start date on are what the sync has to bring over.

Everything is derived from the arguments, so the same arguments give the same seed. The
person, the friends and the employer are invented, while shop names are real Dutch chains.

Run ``python -m emulators.demo_data --out FILE [--today YYYY-MM-DD]`` to write a seed file.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

TIMEZONE_NAME = "Europe/Amsterdam"
TIMEZONE = ZoneInfo(TIMEZONE_NAME)
BUNQ_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

YNAB_TOKEN = "demo-ynab-token"
BUNQ_API_KEY = "demo-bunq-api-key"
BUNQ_USER_ID = 1001

# How long before ``today`` the sync starts. Older payments are in the YNAB history.
SYNC_LOOKBACK_DAYS = 30

PERSON_FIRST_NAME = "Femke"
PERSON_LAST_NAME = "Bosveld"
PERSON_NAME = f"{PERSON_FIRST_NAME} {PERSON_LAST_NAME}"
PARTNER_NAME = "Joris Kalverda"
EMPLOYER_NAME = "Noorderlicht Software B.V."
FRIENDS = ("Iris Veldkamp", "Bram Oosting", "Noor Hamstra", "Thijs Bakkum", "Lotte Zijlstra")

BANK_ID, SAVINGS_ID, JOINT_ID, EXTERNAL_ID, CANCELLED_ID = 11, 12, 13, 14, 15
HOUSEHOLD, SHARED = "Household", "Shared"

DUTCH_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip

_DEMO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bunq-ynab-airflow:demo-data")

# YNAB category groups per plan. "Inflow: Ready to Assign" is YNAB's own, added by the emulator.
HOUSEHOLD_CATEGORIES = {
    "Fixed costs": ["Phone", "Health insurance", "Gym", "Subscriptions"],
    "Everyday": ["Groceries", "Coffee & lunch", "Eating out", "Transport", "Personal care"],
    "Lifestyle": ["Clothing", "Shopping", "Going out", "Gifts"],
    "Household": ["Joint account contribution", "Home & garden"],
    "Savings goals": ["Holiday", "Emergency fund"],
}
SHARED_CATEGORIES = {
    "Housing": ["Rent", "Energy", "Water", "Internet & TV", "Municipal taxes", "Home insurance"],
    "Household": ["Groceries", "Household supplies", "Eating out together"],
    "Plans": ["Furniture", "Holidays together"],
}
READY_TO_ASSIGN = "Inflow: Ready to Assign"


def demo_start_date(today: date) -> date:
    """Return the date the demo's sync starts at. The YNAB history covers the days before it."""
    return today - timedelta(days=SYNC_LOOKBACK_DAYS)


def demo_uuid(*parts: object) -> str:
    """Return a UUID derived from ``parts``, the same on every run."""
    return str(uuid.uuid5(_DEMO_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def dutch_iban(bank_code: str, account_number: int) -> str:
    """Return a Dutch IBAN (NLkk BBBB nnnnnnnnnn) with valid ISO 13616 mod-97 check digits."""
    bban = f"{bank_code}{account_number:010d}"
    digits = "".join(str(int(char, 36)) for char in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


def iban_is_valid(iban: str) -> bool:
    """Return whether ``iban`` (spaces allowed) passes the ISO 13616 mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if len(compact) < 5 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def spaced_iban(iban: str) -> str:
    """Return an IBAN in groups of four, as it is printed on paper."""
    return " ".join(iban[start : start + 4] for start in range(0, len(iban), 4))


@dataclass(frozen=True)
class Merchant:
    """A counterparty that the generator draws payments from."""

    name: str  # bunq counterparty display name
    payee: str  # the YNAB payee name the user gives it
    category: str
    low: str  # amount range in euros, as positive strings
    high: str


GROCERS = (
    Merchant("Albert Heijn 1234 Amsterdam", "Albert Heijn", "Groceries", "4.10", "68.00"),
    Merchant("Albert Heijn 8841 Amsterdam", "Albert Heijn", "Groceries", "3.20", "41.00"),
    Merchant("Jumbo Amsterdam Oost", "Jumbo", "Groceries", "6.50", "72.00"),
    Merchant("Lidl Amsterdam Wibautstraat", "Lidl", "Groceries", "5.80", "48.00"),
    Merchant("Dirk vd Broek Amsterdam", "Dirk", "Groceries", "4.90", "39.00"),
)
COFFEE_AND_LUNCH = (
    Merchant("Coffee Company 12 Amsterdam", "Coffee Company", "Coffee & lunch", "2.50", "4.20"),
    Merchant("Starbucks Amsterdam Centraal", "Starbucks", "Coffee & lunch", "3.10", "5.60"),
    Merchant("Bakkerij Vlaamsch Broodhuys", "Vlaamsch Broodhuys", "Coffee & lunch", "4.50", "9.80"),
)
RESTAURANTS = (
    Merchant("Eetcafe De Zwaan Amsterdam", "Eetcafé De Zwaan", "Eating out", "18.00", "64.00"),
    Merchant("Pizzeria Da Marco Amsterdam", "Pizzeria Da Marco", "Eating out", "15.50", "48.00"),
    Merchant("Thai Lotus Amsterdam", "Thai Lotus", "Eating out", "21.00", "55.00"),
)
TRANSPORT = (
    Merchant("NS Groep IZ NS Reizigers", "NS", "Transport", "3.40", "19.60"),
    Merchant("GVB Amsterdam", "GVB", "Transport", "3.40", "3.40"),
)
PERSONAL_CARE = (
    Merchant("Kruidvat 7731 Amsterdam", "Kruidvat", "Personal care", "3.99", "24.50"),
    Merchant("Etos 3310 Amsterdam", "Etos", "Personal care", "4.49", "19.99"),
)
JOINT_GROCERS = (
    Merchant("Albert Heijn XL 1711 Amsterdam", "Albert Heijn", "Groceries", "38.00", "124.00"),
    Merchant("Jumbo Amsterdam Oost", "Jumbo", "Groceries", "31.00", "96.00"),
)
HOUSEHOLD_SUPPLIES = Merchant(
    "Action 1562 Amsterdam", "Action", "Household supplies", "4.50", "32.00"
)
GOING_OUT = ("Pizza avond", "Bioscoop", "Borrel", "Verjaardagscadeau", "Festival tickets")
# What a Tikkie or a transfer to a friend paid for decides its category, as it does for real
# users, so "the payee's last category" is often wrong for these and a model that reads the
# description can do better.
OCCASION_CATEGORIES = {
    "Pizza avond": "Eating out",
    "Bioscoop": "Going out",
    "Borrel": "Going out",
    "Verjaardagscadeau": "Gifts",
    "Festival tickets": "Going out",
}
# Small bol.com orders are household items, larger ones gadgets and the like.
BOL_HOUSEHOLD_BELOW = Decimal("30.00")


@dataclass(frozen=True)
class WebShop:
    """An iDEAL web shop and the description bunq shows for an order there."""

    name: str
    payee: str
    category: str
    bank: str
    order_text: str  # with {order} for the order number
    low: str
    high: str


WEB_SHOPS = (
    WebShop("bol.com b.v.", "Bol.com", "Shopping", "ABNA", "Bol.com bestelling {order}",
            "9.99", "89.00"),
    WebShop("Coolblue B.V.", "Coolblue", "Shopping", "INGB", "Coolblue bestelnr. {order}",
            "14.99", "149.00"),
    WebShop("Zalando SE", "Zalando", "Clothing", "DEUT", "Zalando bestelling {order}",
            "24.95", "119.00"),
    WebShop("Thuisbezorgd.nl", "Thuisbezorgd", "Eating out", "ABNA",
            "Thuisbezorgd.nl bestelling {order}", "17.50", "42.00"),
)  # fmt: skip


@dataclass(frozen=True)
class Recurring:
    """A payment on the same day every month: a direct debit, a salary or a subscription."""

    day: int
    account_id: int
    name: str
    payee: str
    category: str
    amount: str  # signed euros
    kind: str  # bunq payment type
    description: str  # with {month} and {year}
    bank: str | None  # counterparty bank code for an IBAN, None for a card merchant


RECURRING = (
    Recurring(1, JOINT_ID, "Woonstichting De Linde", "Woonstichting De Linde", "Rent",
              "-1465.00", "EBA_SDD", "Huur {month} {year}", "RABO"),
    Recurring(2, BANK_ID, "Odido Netherlands B.V.", "Odido", "Phone", "-24.50", "EBA_SDD",
              "Odido termijn {month} {year}", "INGB"),
    Recurring(3, BANK_ID, "Zilveren Kruis Zorgverzekeringen N.V.", "Zilveren Kruis",
              "Health insurance", "-148.95", "EBA_SDD", "Zorgverzekering {month} {year}", "INGB"),
    Recurring(5, BANK_ID, "Basic-Fit Nederland B.V.", "Basic-Fit", "Gym", "-34.99", "EBA_SDD",
              "Lidmaatschap {month} {year}", "ABNA"),
    Recurring(8, JOINT_ID, "Vattenfall Klantenservice N.V.", "Vattenfall", "Energy", "-128.00",
              "EBA_SDD", "Termijnbedrag energie {month} {year}", "INGB"),
    Recurring(10, EXTERNAL_ID, "ANWB B.V.", "ANWB", "Transport", "-9.75", "EBA_SDD",
              "ANWB Wegenwacht {month} {year}", "INGB"),
    Recurring(12, BANK_ID, "Spotify P2F3A8B1 Stockholm", "Spotify", "Subscriptions", "-11.99",
              "MASTERCARD", "", None),
    Recurring(14, JOINT_ID, "Ziggo B.V.", "Ziggo", "Internet & TV", "-57.25", "EBA_SDD",
              "Ziggo abonnement {month} {year}", "INGB"),
    Recurring(15, JOINT_ID, "Centraal Beheer", "Centraal Beheer", "Home insurance", "-18.40",
              "EBA_SDD", "Inboedelverzekering {month} {year}", "RABO"),
    Recurring(18, BANK_ID, "Netflix.com Amsterdam", "Netflix", "Subscriptions", "-13.99",
              "MASTERCARD", "", None),
    Recurring(20, JOINT_ID, "Waternet", "Waternet", "Water", "-24.80", "EBA_SDD",
              "Drinkwater {month} {year}", "BNGH"),
    Recurring(25, BANK_ID, EMPLOYER_NAME, "Noorderlicht Software", READY_TO_ASSIGN, "3412.67",
              "EBA_SCT", "Salaris {month} {year}", "RABO"),
    Recurring(26, JOINT_ID, PARTNER_NAME, PARTNER_NAME, READY_TO_ASSIGN, "1150.00", "EBA_SCT",
              "Bijdrage gezamenlijke rekening {month}", "INGB"),
    Recurring(28, JOINT_ID, "Gemeente Amsterdam Belastingen", "Gemeente Amsterdam",
              "Municipal taxes", "-41.30", "EBA_SDD", "Gemeentelijke belastingen termijn",
              "BNGH"),
)  # fmt: skip

# Sub types bunq reports with each payment type in this data.
_SUB_TYPES = {"EBA_SCT": "SCT", "EBA_SDD": "SDD"}


@dataclass
class _Payment:
    """One bunq payment plus what the user wrote for it in YNAB."""

    local_time: datetime  # aware, Europe/Amsterdam
    account_id: int
    amount: Decimal
    kind: str
    sub_type: str
    description: str
    counterparty: dict
    payee: str | None = None
    category: str | None = None
    memo: str | None = None
    # Own-account transfer: the other account and the paired payment.
    transfer_account_id: int | None = None
    pair: _Payment | None = None
    id: int = 0
    sequence: int = 0


class _DemoBuilder:
    """Draws the demo's payments day by day from one seeded random generator."""

    def __init__(self, today: date, months: int, rng: random.Random) -> None:
        self.today = today
        self.rng = rng
        self.first_day = _months_before(today, months)
        self.start_date = demo_start_date(today)
        self.payments: list[_Payment] = []
        self.ibans = self._make_ibans()

    def _make_ibans(self) -> dict[object, str]:
        ibans: dict[object, str] = {}
        used: set[int] = set()
        for key in (BANK_ID, SAVINGS_ID, JOINT_ID, CANCELLED_ID):
            number = 2000000000 + self.rng.randrange(10**8)
            while number in used:
                number += 1
            used.add(number)
            ibans[key] = dutch_iban("BUNQ", number)
        return ibans

    def counterparty_iban(self, name: str, bank: str) -> str:
        """Return a stable IBAN for a named counterparty at ``bank``."""
        key = ("counterparty", name, bank)
        if key not in self.ibans:
            number = int(uuid.UUID(demo_uuid(*key)).int % 10**10)
            self.ibans[key] = dutch_iban(bank, number)
        return self.ibans[key]

    def euros(self, low: str, high: str) -> Decimal:
        cents = self.rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
        return Decimal(cents).scaleb(-2)

    def at(self, day: date, earliest: int, latest: int) -> datetime:
        """Return a random local time on ``day`` between the two hours, to the microsecond."""
        seconds = self.rng.randrange(earliest * 3600, latest * 3600)
        moment = datetime.combine(day, time(0), TIMEZONE) + timedelta(seconds=seconds)
        return moment.replace(microsecond=self.rng.randrange(10**6))

    def add(self, payment: _Payment) -> _Payment:
        payment.sequence = len(self.payments)
        self.payments.append(payment)
        return payment

    def card(self, when: datetime, account_id: int, merchant: Merchant, amount=None, **extra):
        amount = amount if amount is not None else -self.euros(merchant.low, merchant.high)
        return self.add(
            _Payment(
                local_time=when,
                account_id=account_id,
                amount=amount,
                kind="MASTERCARD",
                sub_type=extra.pop("sub_type", "PAYMENT"),
                description=f"{merchant.name}, NL",
                counterparty={"iban": None, "display_name": merchant.name},
                payee=merchant.payee,
                category=merchant.category,
                **extra,
            )
        )

    def own_transfer(self, when: datetime, source: int, target: int, amount: Decimal, text: str):
        """Add both payments of a transfer between two of the user's own accounts."""
        outgoing = _Payment(
            local_time=when,
            account_id=source,
            amount=-amount,
            kind="BUNQ",
            sub_type="PAYMENT",
            description=text,
            counterparty={"iban": self.ibans[target], "display_name": PERSON_NAME},
            transfer_account_id=target,
        )
        incoming = _Payment(
            local_time=when,
            account_id=target,
            amount=amount,
            kind="BUNQ",
            sub_type="PAYMENT",
            description=text,
            counterparty={"iban": self.ibans[source], "display_name": PERSON_NAME},
            transfer_account_id=source,
        )
        outgoing.pair, incoming.pair = incoming, outgoing
        self.add(outgoing)
        self.add(incoming)
        return outgoing

    # --- the calendar ---------------------------------------------------------------------

    def build(self) -> None:
        self._cancelled_account_month()
        day = self.first_day
        while day < self.today:
            self._recurring(day)
            self._daily(day)
            day += timedelta(days=1)
        self._special_cases()

    def _recurring(self, day: date) -> None:
        month, year = DUTCH_MONTHS[day.month - 1], day.year
        for rule in RECURRING:
            if _business_day(day.year, day.month, rule.day) != day:
                continue
            if rule.category == "Municipal taxes" and day.month in (1, 12):
                continue  # Amsterdam collects its taxes in ten monthly terms.

            when = self.at(day, 6, 9) if rule.kind != "MASTERCARD" else self.at(day, 2, 6)
            if rule.bank is None:
                merchant = Merchant(rule.name, rule.payee, rule.category, "0", "0")
                self.card(when, rule.account_id, merchant, amount=Decimal(rule.amount))
                continue

            self.add(
                _Payment(
                    local_time=when,
                    account_id=rule.account_id,
                    amount=Decimal(rule.amount),
                    kind=rule.kind,
                    sub_type=_SUB_TYPES.get(rule.kind, "PAYMENT"),
                    description=rule.description.format(month=month, year=year),
                    counterparty={
                        "iban": self.counterparty_iban(rule.name, rule.bank),
                        "display_name": rule.name,
                    },
                    payee=rule.payee,
                    category=rule.category,
                )
            )

        if day == _business_day(day.year, day.month, 26):
            self.own_transfer(
                self.at(day, 9, 10), BANK_ID, SAVINGS_ID, Decimal("400.00"), f"Sparen {month}"
            )
            self.own_transfer(
                self.at(day, 10, 11),
                BANK_ID,
                JOINT_ID,
                Decimal("1150.00"),
                f"Bijdrage gezamenlijke rekening {month}",
            )

        if (day + timedelta(days=1)).month != day.month:
            self._interest(day)

    def _interest(self, day: date) -> None:
        self.add(
            _Payment(
                local_time=self.at(day, 3, 5),
                account_id=SAVINGS_ID,
                amount=self.euros("1.80", "2.60"),
                kind="BUNQ",
                sub_type="PAYMENT",
                description=f"Rente {DUTCH_MONTHS[day.month - 1]} {day.year}",
                counterparty={
                    "iban": self.counterparty_iban("bunq B.V.", "BUNQ"),
                    "display_name": "bunq B.V.",
                },
                payee="bunq",
                category=READY_TO_ASSIGN,
            )
        )

    def _daily(self, day: date) -> None:
        rng = self.rng
        weekday = day.weekday()

        for _ in range(2 if rng.random() < 0.3 else 1):
            if rng.random() < 0.7:
                self.card(self.at(day, 9, 21), BANK_ID, rng.choice(GROCERS))
        if rng.random() < 0.6:
            self.card(self.at(day, 7, 17), BANK_ID, rng.choice(COFFEE_AND_LUNCH))
        if weekday < 5 and rng.random() < 0.7:
            self.card(self.at(day, 7, 10), BANK_ID, rng.choice(TRANSPORT))
            if rng.random() < 0.6:
                self.card(self.at(day, 16, 20), BANK_ID, rng.choice(TRANSPORT))
        if weekday in (4, 5) and rng.random() < 0.55:
            self.card(self.at(day, 18, 23), BANK_ID, rng.choice(RESTAURANTS))
        if rng.random() < 0.08:
            self.card(self.at(day, 10, 19), BANK_ID, rng.choice(PERSONAL_CARE))
        if rng.random() < 0.12:
            self._web_shop(day)
        if rng.random() < 0.09:
            self._tikkie(day)
        if rng.random() < 0.06:
            self._friend_transfer(day)

        if weekday == 5 and rng.random() < 0.85:
            self.card(self.at(day, 9, 18), JOINT_ID, rng.choice(JOINT_GROCERS))
        if rng.random() < 0.05:
            self.card(self.at(day, 10, 18), JOINT_ID, HOUSEHOLD_SUPPLIES)
        if day.day == 9:
            self._clothing_with_refund(day)

    def _web_shop(self, day: date) -> None:
        shop = self.rng.choice(WEB_SHOPS)
        order = str(self.rng.randrange(10**9, 10**10))
        amount = self.euros(shop.low, shop.high)
        iban = self.counterparty_iban(shop.name, shop.bank)
        category = shop.category
        if shop.payee == "Bol.com" and amount < BOL_HOUSEHOLD_BELOW:
            category = "Home & garden"
        self.add(
            _Payment(
                local_time=self.at(day, 8, 23),
                account_id=BANK_ID,
                amount=-amount,
                kind="IDEAL",
                sub_type="PAYMENT",
                description=shop.order_text.format(order=order),
                counterparty={"iban": iban, "display_name": shop.name},
                payee=shop.payee,
                category=category,
            )
        )

        if shop.payee == "Bol.com" and self.rng.random() < 0.3:
            refund_day = day + timedelta(days=self.rng.randint(3, 9))
            if refund_day < self.today:
                self.add(
                    _Payment(
                        local_time=self.at(refund_day, 9, 17),
                        account_id=BANK_ID,
                        amount=amount,
                        kind="IDEAL",
                        sub_type="PAYMENT",
                        description=f"Terugbetaling bol.com bestelling {order}",
                        counterparty={"iban": iban, "display_name": shop.name},
                        payee=shop.payee,
                        category=category,
                        memo="Retour",
                    )
                )

    def _tikkie(self, day: date) -> None:
        friend, occasion = self.rng.choice(FRIENDS).split()[0], self.rng.choice(GOING_OUT)
        reference = self.rng.randrange(10**11, 10**12)
        self.add(
            _Payment(
                local_time=self.at(day, 12, 23),
                account_id=BANK_ID,
                amount=-self.euros("4.50", "38.00"),
                kind="IDEAL",
                sub_type="PAYMENT",
                description=f"Tikkie ID {reference:012d}, {occasion}, {friend}",
                counterparty={
                    "iban": self.counterparty_iban("AAB INZ TIKKIE", "ABNA"),
                    "display_name": "AAB INZ TIKKIE",
                },
                payee="Tikkie",
                category=OCCASION_CATEGORIES[occasion],
                memo=f"{occasion} ({friend})",
            )
        )

    def _friend_transfer(self, day: date) -> None:
        friend, occasion = self.rng.choice(FRIENDS), self.rng.choice(GOING_OUT)
        incoming = self.rng.random() < 0.4
        amount = self.euros("5.00", "45.00")
        self.add(
            _Payment(
                local_time=self.at(day, 9, 23),
                account_id=BANK_ID,
                amount=amount if incoming else -amount,
                kind="BUNQ",
                sub_type="PAYMENT",
                description=occasion,
                counterparty={
                    "iban": self.counterparty_iban(friend, "BUNQ"),
                    "display_name": friend,
                },
                payee=friend,
                category=OCCASION_CATEGORIES[occasion],
            )
        )

    def _clothing_with_refund(self, day: date) -> None:
        store = Merchant("H&M 0456 Amsterdam", "H&M", "Clothing", "19.99", "59.99")
        purchase = self.card(self.at(day, 11, 18), BANK_ID, store)
        refund_day = day + timedelta(days=self.rng.randint(2, 6))
        if self.rng.random() < 0.5 and refund_day < self.today:
            self.card(
                self.at(refund_day, 11, 18),
                BANK_ID,
                store,
                amount=-purchase.amount,
                sub_type="REVERSAL",
            )

    def _cancelled_account_month(self) -> None:
        """Fill the old account's last weeks, then empty it into the bank account."""
        day = self.first_day
        for offset in (1, 4, 8, 11):
            self.card(self.at(day + timedelta(days=offset), 9, 20), CANCELLED_ID, GROCERS[0])
        balance = OPENING_BALANCES[CANCELLED_ID] + sum(
            p.amount for p in self.payments if p.account_id == CANCELLED_ID
        )
        self.own_transfer(
            self.at(day + timedelta(days=15), 10, 12),
            CANCELLED_ID,
            BANK_ID,
            balance,
            "Opheffen rekening",
        )

    def _special_cases(self) -> None:
        """Add the payments that exercise known edge cases of a sync."""
        savings_day = self.first_day + timedelta(days=40)
        if savings_day < self.today:
            when = self.at(savings_day, 12, 14)
            self.own_transfer(when, SAVINGS_ID, BANK_ID, Decimal("250.00"), "Vakantiegeld")

        # Two identical coffees on one day, after the start date: both must reach YNAB.
        coffee_day = self.start_date + timedelta(days=5)
        coffee = Merchant("Coffee Company 12 Amsterdam", "Coffee Company", "Coffee & lunch", "", "")
        for hour in (8, 15):
            self.card(self.at(coffee_day, hour, hour + 1), BANK_ID, coffee, amount=Decimal("-2.50"))

        # Twenty minutes past midnight in Amsterdam is still the previous day in UTC.
        snack = Merchant("Albert Heijn to go 5870 Amsterdam", "Albert Heijn", "Groceries", "", "")
        for day in (self.start_date - timedelta(days=20), self.start_date + timedelta(days=9)):
            when = datetime.combine(day, time(0, 20, 31, 118000), TIMEZONE)
            self.card(when, BANK_ID, snack, amount=Decimal("-6.45"))


OPENING_BALANCES = {
    BANK_ID: Decimal("2150.00"),
    SAVINGS_ID: Decimal("8000.00"),
    JOINT_ID: Decimal("1200.00"),
    EXTERNAL_ID: Decimal("950.00"),
    CANCELLED_ID: Decimal("160.00"),
}


def build_demo_seed(today: date, months: int = 6, seed: int = 7) -> dict:
    """Build the demo seed for both emulators, the same for the same arguments.

    The payments cover ``months`` months up to the day before ``today``; the YNAB history
    covers the days before ``demo_start_date(today)``.
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")

    rng = random.Random(seed)
    builder = _DemoBuilder(today, months, rng)
    builder.build()

    payments = sorted(builder.payments, key=lambda p: (p.local_time, p.sequence))
    next_id = 600_000_000 + rng.randrange(10**6)
    for payment in payments:
        payment.id = next_id
        next_id += 1 if payment.pair is not None and payment.amount < 0 else rng.randint(3, 180)

    start_date = builder.start_date
    ynab_ids = _ynab_ids()
    return {
        "meta": {
            "start_date": start_date.isoformat(),
            "timezone": TIMEZONE_NAME,
            "generated_for": today.isoformat(),
            "person": PERSON_NAME,
            "links": [
                {
                    "bunq_account_id": bunq_id,
                    "ynab_plan_id": ynab_ids["plans"][plan],
                    "ynab_account_id": ynab_ids["accounts"][bunq_id],
                }
                for bunq_id, plan in (
                    (BANK_ID, HOUSEHOLD),
                    (SAVINGS_ID, HOUSEHOLD),
                    (JOINT_ID, SHARED),
                )
            ],
        },  # fmt: skip
        "bunq": _bunq_seed(builder, payments, today),
        "ynab": _ynab_seed(builder, payments, ynab_ids),
    }


def _bunq_seed(builder: _DemoBuilder, payments: list[_Payment], today: date) -> dict:
    balances = dict(OPENING_BALANCES)
    for payment in payments:
        balances[payment.account_id] += payment.amount

    created = _bunq_time(
        datetime.combine(builder.first_day, time(9), TIMEZONE) - timedelta(days=900)
    )
    closed = _bunq_time(datetime.combine(builder.first_day + timedelta(days=16), time(9), TIMEZONE))
    accounts = [
        {"id": BANK_ID, "type": "MonetaryAccountBank", "description": "Betaalrekening",
         "iban": builder.ibans[BANK_ID]},
        {"id": SAVINGS_ID, "type": "MonetaryAccountSavings", "description": "Spaarrekening",
         "iban": builder.ibans[SAVINGS_ID], "savings_goal": "12000.00"},
        {"id": JOINT_ID, "type": "MonetaryAccountJoint", "description": "Gezamenlijke rekening",
         "iban": builder.ibans[JOINT_ID], "co_owners": [PARTNER_NAME]},
        {"id": EXTERNAL_ID, "type": "MonetaryAccountExternal", "description": "ING Betaalrekening",
         "iban": None},
        {"id": CANCELLED_ID, "type": "MonetaryAccountBank", "description": "Oude rekening",
         "iban": builder.ibans[CANCELLED_ID], "status": "CANCELLED",
         "sub_status": "REDEMPTION_VOLUNTARY", "updated": closed},
    ]  # fmt: skip
    for account in accounts:
        account["balance"] = f"{balances[account['id']]:.2f}"
        account["display_name"] = PERSON_NAME
        account["created"] = created
        account.setdefault("updated", created)

    return {
        "api_keys": [BUNQ_API_KEY],
        "user": {
            "id": BUNQ_USER_ID,
            "display_name": PERSON_NAME,
            "email": "femke.bosveld@example.com",
            "phone_number": "+31600000000",
            "created": created,
        },
        "accounts": accounts,
        "payments": [_bunq_payment(payment) for payment in payments],
    }


def _bunq_payment(payment: _Payment) -> dict:
    return {
        "id": payment.id,
        "monetary_account_id": payment.account_id,
        "created": _bunq_time(payment.local_time),
        "amount": f"{payment.amount:.2f}",
        "currency": "EUR",
        "description": payment.description,
        "type": payment.kind,
        "sub_type": payment.sub_type,
        "counterparty": dict(payment.counterparty),
    }


def _ynab_ids() -> dict:
    plans = {name: demo_uuid("plan", name) for name in (HOUSEHOLD, SHARED)}
    accounts = {
        BANK_ID: demo_uuid("account", HOUSEHOLD, "bunq Betaalrekening"),
        SAVINGS_ID: demo_uuid("account", HOUSEHOLD, "bunq Spaarrekening"),
        CANCELLED_ID: demo_uuid("account", HOUSEHOLD, "Oude bunq rekening"),
        "cash": demo_uuid("account", HOUSEHOLD, "Cash"),
        JOINT_ID: demo_uuid("account", SHARED, "bunq Gezamenlijk"),
    }
    return {"plans": plans, "accounts": accounts}


def _ynab_seed(builder: _DemoBuilder, payments: list[_Payment], ids: dict) -> dict:
    ibans, accounts = builder.ibans, ids["accounts"]
    household_accounts = [
        {"id": accounts[BANK_ID], "name": "bunq Betaalrekening", "type": "checking",
         "note": f"Main account. iban: {spaced_iban(ibans[BANK_ID]).lower()}"},
        {"id": accounts[SAVINGS_ID], "name": "bunq Spaarrekening", "type": "savings",
         "note": f"Buffer + holiday money ({ibans[SAVINGS_ID][:8]} {ibans[SAVINGS_ID][8:]})"},
        {"id": accounts[CANCELLED_ID], "name": "Oude bunq rekening", "type": "checking",
         "closed": True, "note": f"Closed; was IBAN {spaced_iban(ibans[CANCELLED_ID])}"},
        {"id": accounts["cash"], "name": "Cash", "type": "cash", "note": None},
    ]  # fmt: skip
    shared_accounts = [
        {"id": accounts[JOINT_ID], "name": "bunq Gezamenlijk", "type": "checking",
         "note": f"Samen met Joris / IBAN {spaced_iban(ibans[JOINT_ID]).replace('BUNQ', 'bunq')}"},
    ]  # fmt: skip
    for account in household_accounts + shared_accounts:
        bunq_id = next((key for key, value in accounts.items() if value == account["id"]), None)
        account["balance"] = int(OPENING_BALANCES.get(bunq_id, Decimal(0)) * 1000)

    plans = {
        HOUSEHOLD: _plan_seed(ids["plans"][HOUSEHOLD], HOUSEHOLD, household_accounts,
                              HOUSEHOLD_CATEGORIES),
        SHARED: _plan_seed(ids["plans"][SHARED], SHARED, shared_accounts, SHARED_CATEGORIES),
    }  # fmt: skip
    links = {
        BANK_ID: HOUSEHOLD,
        SAVINGS_ID: HOUSEHOLD,
        CANCELLED_ID: HOUSEHOLD,
        JOINT_ID: SHARED,
    }
    _add_history(builder, payments, plans, links, accounts)
    return {"token": YNAB_TOKEN, "plans": [plans[HOUSEHOLD], plans[SHARED]]}


def _plan_seed(plan_id: str, name: str, accounts: list[dict], groups: dict) -> dict:
    return {
        "id": plan_id,
        "name": name,
        "currency": "EUR",
        "accounts": accounts,
        "category_groups": [
            {
                "id": demo_uuid("group", name, group),
                "name": group,
                "categories": [
                    {"id": demo_uuid("category", name, category), "name": category}
                    for category in categories
                ],
            }
            for group, categories in groups.items()
        ],
        "payees": [],
        "transactions": [],
    }


def category_id(plan_name: str, category: str) -> str:
    """Return the id the demo gives a category of a plan (not for "Inflow: Ready to Assign")."""
    return demo_uuid("category", plan_name, category)


def _add_history(builder, payments, plans, links, accounts) -> None:
    """Add the user's hand-entered YNAB transactions for every payment before the start date.

    A transfer between two accounts of one plan is one YNAB transfer. A transfer between
    plans is an outflow in one plan and an inflow in the other. The first two Tikkie payments
    stay uncategorised and the first Kruidvat visit is a split, because real budgets have both.
    """
    uncategorised_left = 2
    split_done = False

    for payment in payments:
        day = payment.local_time.date()
        plan_name = links.get(payment.account_id)
        if day >= builder.start_date or plan_name is None:
            continue

        plan = plans[plan_name]
        transaction = {
            "account_id": accounts[payment.account_id],
            "date": day.isoformat(),
            "amount": int(payment.amount * 1000),
            # The user reconciled up to the start date when connecting the sync, so no
            # imported payment can be matched to a history transaction.
            "cleared": "reconciled",
            "approved": True,
        }

        if payment.transfer_account_id is not None:
            target_plan = links.get(payment.transfer_account_id)
            if target_plan == plan_name:
                if payment.amount > 0:
                    continue  # the outgoing side's transfer creates this one
                transaction["transfer_account_id"] = accounts[payment.transfer_account_id]
                transaction["memo"] = payment.description
                plan["transactions"].append(transaction)
                continue

            if payment.amount < 0:
                transaction["payee_name"] = "Gezamenlijke rekening"
                transaction["category_id"] = category_id(plan_name, "Joint account contribution")
            else:
                transaction["payee_name"] = PERSON_NAME
                transaction["category_name"] = READY_TO_ASSIGN
            plan["transactions"].append(transaction)
            continue

        transaction["payee_name"] = payment.payee
        if payment.memo:
            transaction["memo"] = payment.memo

        if payment.payee == "Tikkie" and uncategorised_left:
            uncategorised_left -= 1
        elif payment.payee == "Kruidvat" and not split_done:
            split_done = True
            transaction["subtransactions"] = _split(
                plan_name, transaction["amount"], [("Personal care", 60), ("Groceries", 40)]
            )
        elif payment.category == READY_TO_ASSIGN:
            transaction["category_name"] = READY_TO_ASSIGN
        else:
            transaction["category_id"] = category_id(plan_name, payment.category)

        plan["transactions"].append(transaction)


def _split(plan_name: str, milliunits: int, parts: list[tuple[str, int]]) -> list[dict]:
    subtransactions, assigned = [], 0
    for position, (category, percent) in enumerate(parts):
        if position == len(parts) - 1:
            amount = milliunits - assigned
        else:
            amount = int(milliunits * percent / 100) // 10 * 10
        assigned += amount
        subtransactions.append({"amount": amount, "category_id": category_id(plan_name, category)})
    return subtransactions


def build_benchmark_seed(
    n_payments: int, n_accounts: int = 3, n_plans: int = 2, seed: int = 11
) -> dict:
    """Build a large seed fast: ``n_payments`` card and transfer payments, no YNAB history.

    bunq accounts get ids 11, 12, ...; account i is linked to plan i % n_plans through its
    IBAN in the YNAB account note. Payments are spread over the year before 2026-01-01.
    """
    rng = random.Random(seed)
    account_ids = [BANK_ID + index for index in range(n_accounts)]
    ibans = {aid: dutch_iban("BUNQ", 2100000000 + aid) for aid in account_ids}
    merchants = GROCERS + COFFEE_AND_LUNCH + RESTAURANTS + TRANSPORT + PERSONAL_CARE
    start = datetime(2025, 1, 1, 6, tzinfo=UTC)
    step = timedelta(days=365) / max(n_payments, 1)

    payments = []
    for index in range(n_payments):
        merchant = merchants[rng.randrange(len(merchants))]
        cents = rng.randint(int(Decimal(merchant.low) * 100), int(Decimal(merchant.high) * 100))
        payments.append(
            {
                "id": 700_000_000 + index * 7,
                "monetary_account_id": account_ids[rng.randrange(n_accounts)],
                "created": (start + step * index).strftime(BUNQ_TIMESTAMP_FORMAT),
                "amount": f"-{cents // 100}.{cents % 100:02d}",
                "currency": "EUR",
                "description": f"{merchant.name}, NL",
                "type": "MASTERCARD",
                "sub_type": "PAYMENT",
                "counterparty": {"iban": None, "display_name": merchant.name},
            }
        )

    plans = []
    for plan_index in range(n_plans):
        name = f"Benchmark {plan_index + 1}"
        plan_accounts = [
            {"id": demo_uuid("benchmark-account", aid), "name": f"bunq {aid}", "type": "checking",
             "note": f"IBAN {ibans[aid]}"}
            for position, aid in enumerate(account_ids) if position % n_plans == plan_index
        ]  # fmt: skip
        plans.append(
            _plan_seed(demo_uuid("benchmark-plan", name), name, plan_accounts, HOUSEHOLD_CATEGORIES)
        )

    return {
        "meta": {"start_date": "2025-01-01", "timezone": TIMEZONE_NAME},
        "bunq": {
            "api_keys": [BUNQ_API_KEY],
            "user": {"id": BUNQ_USER_ID, "display_name": PERSON_NAME},
            "accounts": [
                {
                    "id": aid,
                    "type": "MonetaryAccountBank",
                    "description": f"Rekening {aid}",
                    "iban": ibans[aid],
                    "balance": "0.00",
                }
                for aid in account_ids
            ],  # fmt: skip
            "payments": payments,
        },
        "ynab": {"token": YNAB_TOKEN, "plans": plans},
    }


def _bunq_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(BUNQ_TIMESTAMP_FORMAT)


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, 28))


def _business_day(year: int, month: int, day_of_month: int) -> date:
    """Return that day of the month, moved to the next Monday if it falls in a weekend."""
    day = date(year, month, min(day_of_month, 28 if month == 2 else 30))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.demo_data",
        description="Write the demo seed for the bunq and YNAB emulators as JSON.",
    )
    parser.add_argument("--out", required=True, type=Path, help="path of the JSON file to write")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=date.today(),
        help="the demo's today (YYYY-MM-DD); payments end the day before; default: today",
    )
    parser.add_argument("--months", type=int, default=6, help="months of payments to generate")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generator")
    args = parser.parse_args(argv)

    demo_seed = build_demo_seed(args.today, months=args.months, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(demo_seed, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(
        f"wrote {args.out}: {len(demo_seed['bunq']['payments'])} bunq payments, "
        f"sync starts {demo_seed['meta']['start_date']}"
    )


if __name__ == "__main__":
    main()
