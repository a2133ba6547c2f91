"""Link each bunq account to the YNAB account whose note contains its IBAN."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bunq_ynab.storage import Database, load_query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    """The outcome of linking one bunq account."""

    bunq_account_id: int
    iban: str | None
    plan_id: str | None
    account_id: str | None
    problem: str | None


def _compact(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def link_accounts(db: Database) -> list[Link]:
    """Match every stored bunq account against the open YNAB accounts and store the links.

    Notes are compared without spaces and case, so "IBAN nl12 bunq 0123 4567 01" links
    NL12BUNQ0123456701. Closed and deleted YNAB accounts never link. An IBAN found in the notes
    of two open YNAB accounts links neither, because syncing into both would double the money.
    """
    bunq_accounts = db.fetch_all("SELECT id, iban, status FROM bunq_account ORDER BY id")
    ynab_accounts = db.fetch_all(
        "SELECT id, plan_id, name, note FROM ynab_account "
        "WHERE NOT closed AND NOT deleted AND note IS NOT NULL ORDER BY plan_id, name, id"
    )
    links = []
    for account in bunq_accounts:
        iban = account["iban"]
        if not iban:
            link = Link(account["id"], None, None, None, "no IBAN (external account)")
        else:
            matches = [row for row in ynab_accounts if iban in _compact(row["note"])]
            if not matches:
                problem = f"no open YNAB account has {iban} in its note"
                link = Link(account["id"], iban, None, None, problem)
            elif len(matches) > 1:
                names = ", ".join(f"{row['name']!r}" for row in matches)
                problem = f"{iban} is in the notes of several YNAB accounts ({names})"
                link = Link(account["id"], iban, None, None, problem)
            else:
                match = matches[0]
                link = Link(account["id"], iban, match["plan_id"], match["id"], None)
        links.append(link)
    links = _unlink_shared_targets(links)

    with db.transaction():
        for link in links:
            db.execute(
                load_query("set_account_link"),
                {
                    "plan_id": link.plan_id,
                    "account_id": link.account_id,
                    "problem": link.problem,
                    "bunq_account_id": link.bunq_account_id,
                },
            )

    linked = [link for link in links if link.problem is None]
    for link in links:
        if link.problem:
            log.warning("bunq account %s is not linked: %s", link.bunq_account_id, link.problem)
    log.info("Linked %d of %d bunq accounts to YNAB", len(linked), len(links))
    return links


def _unlink_shared_targets(links: list[Link]) -> list[Link]:
    """Unlink bunq accounts that matched the same YNAB account (a note with two IBANs).

    Two bunq accounts feeding one YNAB account would merge their payments and turn every
    transfer between them into a transfer from the account to itself.
    """
    by_target: dict[str, list[Link]] = {}
    for link in links:
        if link.account_id:
            by_target.setdefault(link.account_id, []).append(link)
    result = []
    for link in links:
        sharing = by_target.get(link.account_id or "", [])
        if len(sharing) > 1:
            others = ", ".join(str(other.bunq_account_id) for other in sharing if other is not link)
            problem = (
                f"its YNAB account's note also contains the IBAN of bunq account {others}; "
                "put each IBAN in the note of its own YNAB account"
            )
            link = Link(link.bunq_account_id, link.iban, None, None, problem)
        result.append(link)
    return result
