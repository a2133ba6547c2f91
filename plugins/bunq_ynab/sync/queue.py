"""Push queued bunq payments to YNAB: claim, convert, bulk-create, record the outcome.

Queue states (``payment_queue.status``):

- ``pending``: waiting to be synced.
- ``synced``: in YNAB; ``ynab_transaction_id`` names the transaction when known.
- ``skipped``: deliberately not synced; ``reason_code`` is ``before_start_date`` or
  ``account_not_linked``, and the row returns to pending when that stops being true.
- ``failed``: YNAB or the conversion rejected it; ``reason`` has the message.

Why nothing is lost or duplicated: rows of one plan are claimed with ``FOR UPDATE SKIP
LOCKED`` inside one transaction (``_sync_plan_batch``), and the same transaction records the
outcome of the YNAB POST (``test_crash_after_post_before_commit`` checks this).
A crash before the commit returns them to pending; the rerun reads the YNAB transaction delta
first and finds what the lost POST created by its deterministic ``import_id``, and YNAB itself
reports any remaining repeat in ``duplicate_import_ids``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import urllib3

from bunq_ynab.settings import Settings
from bunq_ynab.storage import Database, load_query
from bunq_ynab.sync import ynab_mirror
from bunq_ynab.sync.conversion import PaymentRejected, TransactionDraft, build_transaction
from bunq_ynab.ynab.client import (
    CreateResult,
    YnabBadRequest,
    YnabClient,
    YnabError,
    YnabRateLimited,
)

log = logging.getLogger(__name__)

# Receives (plan_id, claimed payment rows) and returns {payment_id: category_id or None}.
CategoryPredictor = Callable[[str, list[dict[str, Any]]], dict[int, str | None]]

_LOGGED_IDS = 20  # skipped ids listed per log line; failures are always listed in full
_PLAN_LOCK_SPACE = 4_242_002  # first key of the per-plan advisory lock; any fixed number works


@dataclass
class SyncReport:
    """Outcome counts of one run, with the payment id and reason of every failure."""

    created: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # already in YNAB: counted as synced
    transfer_counterparts: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)  # left pending for the next run
    requeued: list[int] = field(default_factory=list)
    categorised: list[int] = field(default_factory=list)  # created with a predicted category
    drafts: list[dict[str, Any]] = field(default_factory=list)  # filled in dry runs
    rate_limited: bool = False
    plan_errors: dict[str, str] = field(default_factory=dict)  # plan id -> YNAB error
    ynab_requests: int = 0

    @property
    def synced(self) -> int:
        return len(self.created) + len(self.duplicates) + len(self.transfer_counterparts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "duplicates": len(self.duplicates),
            "transfer_counterparts": len(self.transfer_counterparts),
            "skipped": len(self.skipped),
            "failed": {str(key): value for key, value in self.failed.items()},
            "deferred": len(self.deferred),
            "requeued": len(self.requeued),
            "categorised": len(self.categorised),
            "rate_limited": self.rate_limited,
            "plan_errors": dict(self.plan_errors),
            "ynab_requests": self.ynab_requests,
        }


@dataclass
class _Outcome:
    status: str
    reason_code: str | None = None
    reason: str | None = None
    ynab_transaction_id: str | None = None
    counterpart_of: int | None = None


def sync_queue(
    db: Database,
    ynab: YnabClient,
    settings: Settings,
    *,
    payment_ids: list[int] | None = None,
    force: bool = False,
    dry_run: bool = False,
    predict: CategoryPredictor | None = None,
    today: dt.date | None = None,
) -> SyncReport:
    """Sync every pending payment (or only ``payment_ids``) to YNAB and return the counts.

    ``force`` puts the named payments back to pending whatever their state; YNAB's import_id
    check still prevents a second transaction. ``dry_run`` computes everything and sends no
    write: the drafts are logged and returned, and all database changes are rolled back.
    """
    report = SyncReport()
    requests_before = ynab.request_count
    try:
        with db.transaction() if dry_run else contextlib.nullcontext():
            _run(db, ynab, settings, report, payment_ids, force, dry_run, predict, today)
            if dry_run:
                raise psycopg.Rollback()
    finally:
        report.ynab_requests = ynab.request_count - requests_before
    _log_report(report, dry_run)
    return report


def _run(
    db: Database,
    ynab: YnabClient,
    settings: Settings,
    report: SyncReport,
    payment_ids: list[int] | None,
    force: bool,
    dry_run: bool,
    predict: CategoryPredictor | None,
    today: dt.date | None,
) -> None:
    if force and payment_ids:
        db.execute(
            "UPDATE payment_queue SET status = 'pending', reason_code = NULL, reason = NULL,"
            " updated_at = now() WHERE payment_id = ANY(%s)",
            (payment_ids,),
        )
    report.requeued = _requeue_eligible(db, settings)
    # Forcing named payments also overrides the start date for them.
    _skip_ineligible(
        db, settings, report, payment_ids, apply_start_date=not (force and payment_ids)
    )

    plans = db.fetch_all(
        "SELECT DISTINCT a.ynab_plan_id AS plan_id, pl.currency_iso_code"
        " FROM payment_queue q"
        " JOIN bunq_payment p ON p.id = q.payment_id"
        " JOIN bunq_account a ON a.id = p.monetary_account_id"
        " JOIN ynab_plan pl ON pl.id = a.ynab_plan_id"
        " WHERE q.status = 'pending' AND (%(ids)s::bigint[] IS NULL OR q.payment_id = ANY(%(ids)s))"
        " ORDER BY 1",
        {"ids": payment_ids},
    )
    for plan in plans:
        try:
            while _sync_plan_batch(
                db, ynab, settings, report, plan, payment_ids, dry_run, predict, today
            ):
                pass
        except YnabRateLimited as error:
            report.rate_limited = True
            log.warning(
                "YNAB rate limit reached (%s); the remaining payments stay pending for the "
                "next run",
                error.detail or "429",
            )
            return
        except (YnabError, urllib3.exceptions.HTTPError) as error:
            # A YNAB error or a lost connection leaves the plan's payments pending, and the
            # other plans still sync. A POST that YNAB stored anyway is found by its import_id
            # in the next run's transaction delta.
            report.plan_errors[plan["plan_id"]] = str(error)
            log.error("YNAB plan %s failed, its payments stay pending: %s", plan["plan_id"], error)


def _requeue_eligible(db: Database, settings: Settings) -> list[int]:
    rows = db.query(
        "requeue_eligible_payments",
        {"start_date": settings.start_date, "timezone": settings.timezone},
    )
    requeued = [row["payment_id"] for row in rows]
    if requeued:
        log.info("%d skipped payments are eligible again and back to pending", len(requeued))
    return requeued


def _skip_ineligible(
    db: Database,
    settings: Settings,
    report: SyncReport,
    payment_ids: list[int] | None,
    apply_start_date: bool = True,
) -> None:
    with db.transaction():
        if settings.start_date is not None and apply_start_date:
            rows = db.query(
                "skip_payments_before_start",
                {
                    "start_date": settings.start_date,
                    "timezone": settings.timezone,
                    "payment_ids": payment_ids,
                },
            )
            reason = f"created before the start date {settings.start_date}"
            for row in rows:
                report.skipped[row["payment_id"]] = reason
        for row in db.query("skip_unlinked_payments", {"payment_ids": payment_ids}):
            report.skipped[row["payment_id"]] = "account not linked to YNAB"


def _sync_plan_batch(
    db: Database,
    ynab: YnabClient,
    settings: Settings,
    report: SyncReport,
    plan: dict[str, Any],
    payment_ids: list[int] | None,
    dry_run: bool,
    predict: CategoryPredictor | None,
    today: dt.date | None,
) -> bool:
    """Sync one batch of one plan in one transaction; return True if a full batch was claimed."""
    plan_id = plan["plan_id"]
    with db.transaction():
        # One run at a time per plan: concurrent runs would otherwise write the same rows of
        # the YNAB mirror in different orders and deadlock. The lock ends with the transaction.
        db.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_PLAN_LOCK_SPACE, plan_id))
        rows = db.query(
            "claim_plan_payments",
            {"plan_id": plan_id, "payment_ids": payment_ids, "limit": settings.batch_size},
        )
        if not rows:
            return False
        log.info("YNAB plan %s: claimed %d pending payments", plan_id, len(rows))

        ynab_mirror.refresh_transactions(db, ynab, plan_id)
        outcomes, drafts = _decide(db, settings, plan, rows, report, today)

        if predict is not None and drafts:
            ynab_mirror.refresh_categories(db, ynab, plan_id)
            _apply_predictions(db, predict, plan_id, rows, drafts, report)

        if dry_run:
            for draft in drafts:
                payload = draft.to_payload()
                report.drafts.append(payload | {"payment_id": draft.payment_id})
                log.info("Dry run: payment %s would be sent as %s", draft.payment_id, payload)
            return False

        _post_drafts(db, ynab, plan_id, drafts, outcomes, report)
        _resolve_counterparts(db, plan_id, outcomes, report)
        _mark(db, plan_id, outcomes)
    for payment_id, outcome in outcomes.items():
        if outcome.status == "failed":
            report.failed[payment_id] = outcome.reason or outcome.reason_code or "failed"
    # Deferred rows stay pending, so a batch of only deferred rows would be claimed forever.
    made_progress = bool(outcomes) or bool(drafts)
    return made_progress and len(rows) >= settings.batch_size


def _decide(
    db: Database,
    settings: Settings,
    plan: dict[str, Any],
    rows: list[dict[str, Any]],
    report: SyncReport,
    today: dt.date | None,
) -> tuple[dict[int, _Outcome], list[TransactionDraft]]:
    """Choose for each claimed payment: already in YNAB, transfer counterpart, or a new draft."""
    plan_id = plan["plan_id"]
    accounts = {
        row["iban"]: row
        for row in db.fetch_all(
            "SELECT b.id AS bunq_account_id, b.iban, y.id AS ynab_account_id,"
            " y.transfer_payee_id FROM bunq_account b JOIN ynab_account y"
            " ON y.id = b.ynab_account_id WHERE b.ynab_plan_id = %s",
            (plan_id,),
        )
    }
    import_ids = [row["import_id"] for row in rows]
    existing = {
        (row["account_id"], row["import_id"]): row
        for row in db.fetch_all(
            "SELECT id, account_id, import_id, transfer_transaction_id FROM ynab_transaction"
            " WHERE plan_id = %s AND import_id = ANY(%s) AND NOT deleted",
            (plan_id, import_ids),
        )
    }
    claimed = {row["payment_id"]: row for row in rows}
    partners: dict[int, int] = {}
    paired_synced: set[int] = set()
    outcomes: dict[int, _Outcome] = {}
    drafts: list[TransactionDraft] = []

    for row in rows:
        payment_id = row["payment_id"]
        found = existing.get((row["ynab_account_id"], row["import_id"]))
        if found:
            outcomes[payment_id] = _Outcome("synced", "already_in_ynab", None, found["id"])
            report.duplicates.append(payment_id)
            log.debug("Payment %s is already in YNAB as %s", payment_id, found["id"])
            continue

        other = accounts.get(row["counterparty_iban"])
        is_transfer = other is not None and other["bunq_account_id"] != row["monetary_account_id"]
        transfer_payee_id = None
        if is_transfer:
            role = _transfer_role(db, row, other, claimed, partners, paired_synced)
            log.debug(
                "Payment %s is a transfer to bunq account %s; role: %s (other side %s)",
                payment_id,
                other["bunq_account_id"],
                role.kind,
                role.payment_id,
            )
            if role.kind == "counterpart":
                outcomes[payment_id] = _Outcome(
                    "synced",
                    "transfer_counterpart",
                    f"other side of the transfer created for payment {role.payment_id}",
                    role.ynab_transaction_id,
                    role.payment_id,
                )
                continue
            if role.kind == "wait":
                report.deferred.append(payment_id)
                log.info(
                    "Payment %s is deferred: another run has locked its transfer counterpart %s",
                    payment_id,
                    role.payment_id,
                )
                continue
            if role.kind == "create":
                transfer_payee_id = other["transfer_payee_id"]

        try:
            draft = build_transaction(
                row,
                plan_id=plan_id,
                account_id=row["ynab_account_id"],
                settings=settings,
                plan_currency=plan.get("currency_iso_code"),
                transfer_payee_id=transfer_payee_id,
                today=today,
            )
        except PaymentRejected as error:
            outcomes[payment_id] = _Outcome("failed", "invalid_payment", str(error))
            log.debug("Payment %s cannot be converted: %s", payment_id, error)
            continue
        drafts.append(draft)
        log.debug("Payment %s becomes %s", payment_id, draft.to_payload())
    return outcomes, drafts


@dataclass
class _TransferRole:
    kind: str  # "create", "counterpart" (the other side created it), "ordinary" or "wait"
    payment_id: int | None = None
    ynab_transaction_id: str | None = None


def _transfer_role(
    db: Database,
    row: dict[str, Any],
    other: dict[str, Any],
    claimed: dict[int, dict],
    partners: dict[int, int],
    paired_synced: set[int],
) -> _TransferRole:
    """Decide whether this side of an own-account transfer creates the YNAB transfer.

    ``partners`` pairs the payments of this batch that were matched already, and
    ``paired_synced`` contains synced payments that a payment of this batch took as its other
    side. Both keep two equal transfers pairing one-to-one instead of both sides naming the
    first one.
    """
    payment_id = row["payment_id"]
    if payment_id in partners:
        return _in_batch_role(row, partners[payment_id])

    match = db.fetch_one(
        load_query("find_transfer_counterpart"),
        {
            "other_account_id": other["bunq_account_id"],
            "own_iban": row["account_iban"],
            "amount": row["amount"],
            "created": row["created"],
            "payment_id": payment_id,
            "already_paired": sorted(set(partners) | paired_synced),
        },
    )
    if match is None:
        return _TransferRole("create")
    other_id = match["id"]

    if match["status"] == "synced" and match["counterpart_of"] is None:
        found = None
        if match["ynab_transaction_id"]:
            found = db.fetch_one(
                "SELECT transfer_transaction_id FROM ynab_transaction WHERE id = %s",
                (match["ynab_transaction_id"],),
            )
        paired_synced.add(other_id)
        if found is None or found["transfer_transaction_id"] is None:
            # The other side went to YNAB as an ordinary transaction (its account was not
            # linked then). A transfer now would add a second copy of it on that account.
            return _TransferRole("ordinary", other_id)
        return _TransferRole("counterpart", other_id, found["transfer_transaction_id"])

    if other_id in claimed:
        partners[payment_id] = other_id
        partners[other_id] = payment_id
        return _in_batch_role(row, other_id)

    if match["status"] == "pending":
        locked = db.fetch_one(
            "SELECT payment_id FROM payment_queue WHERE payment_id = %s FOR UPDATE SKIP LOCKED",
            (other_id,),
        )
        if locked is None:
            return _TransferRole("wait", other_id)
        # Pending but not claimed in this batch (a later batch): this side creates it.
    return _TransferRole("create")


def _in_batch_role(row: dict[str, Any], other_id: int) -> _TransferRole:
    """Both sides are in this batch: the outgoing side (negative amount) creates the transfer,
    and the incoming side is resolved after the POST."""
    if row["amount"] < 0 or (row["amount"] == 0 and row["payment_id"] < other_id):
        return _TransferRole("create")
    return _TransferRole("counterpart", other_id, None)


def _apply_predictions(
    db: Database,
    predict: CategoryPredictor,
    plan_id: str,
    rows: list[dict[str, Any]],
    drafts: list[TransactionDraft],
    report: SyncReport,
) -> None:
    """Fill in predicted categories that still exist in the plan; YNAB rejects unknown ones."""
    # Transfers carry no category in YNAB, so only ordinary transactions are predicted.
    to_predict = {draft.payment_id for draft in drafts if draft.payee_id is None}
    candidates = [row for row in rows if row["payment_id"] in to_predict]
    if not candidates:
        return
    categories = predict(plan_id, candidates)
    usable = {
        row["id"]
        for row in db.fetch_all(
            "SELECT id FROM ynab_category WHERE plan_id = %s AND NOT deleted", (plan_id,)
        )
    }
    for index, draft in enumerate(drafts):
        category_id = categories.get(draft.payment_id)
        if not category_id or draft.payee_id is not None:
            continue
        if category_id not in usable:
            log.warning(
                "Predicted category %s for payment %s is not in plan %s any more; left empty",
                category_id,
                draft.payment_id,
                plan_id,
            )
            continue
        drafts[index] = dataclasses.replace(draft, category_id=category_id)
        report.categorised.append(draft.payment_id)


def _post_drafts(
    db: Database,
    ynab: YnabClient,
    plan_id: str,
    drafts: list[TransactionDraft],
    outcomes: dict[int, _Outcome],
    report: SyncReport,
) -> None:
    if not drafts:
        return
    results, failures = _create_isolating_failures(ynab, plan_id, drafts)
    for draft, message in failures:
        outcomes[draft.payment_id] = _Outcome("failed", "ynab_rejected", message)

    created = {}
    duplicate_ids: set[str] = set()
    for result in results:
        ynab_mirror.store_transactions(db, plan_id, result.transactions)
        for transaction in result.transactions:
            if transaction.get("import_id"):
                created[(str(transaction["account_id"]), transaction["import_id"])] = transaction
        duplicate_ids.update(result.duplicate_import_ids)

    failed_ids = {draft.payment_id for draft, _ in failures}
    for draft in drafts:
        if draft.payment_id in failed_ids:
            continue
        transaction = created.get((draft.account_id, draft.import_id))
        if transaction is not None:
            outcomes[draft.payment_id] = _Outcome("synced", "created", None, str(transaction["id"]))
            report.created.append(draft.payment_id)
            continue
        known = db.fetch_one(
            "SELECT id FROM ynab_transaction WHERE account_id = %s AND import_id = %s"
            " ORDER BY deleted LIMIT 1",
            (draft.account_id, draft.import_id),
        )
        reason = (
            "YNAB reported a duplicate import_id"
            if draft.import_id in duplicate_ids
            else ("YNAB accepted it without returning the transaction")
        )
        outcomes[draft.payment_id] = _Outcome(
            "synced", "duplicate", reason, known["id"] if known else None
        )
        report.duplicates.append(draft.payment_id)


def _create_isolating_failures(
    ynab: YnabClient, plan_id: str, drafts: list[TransactionDraft]
) -> tuple[list[CreateResult], list[tuple[TransactionDraft, str]]]:
    """POST the drafts; on a 400, drop the items YNAB named and send the rest again.

    YNAB fails a whole bulk request when any item is invalid and lists the bad items as
    "(index: N)". When it names none, the batch is split in halves until the bad item is alone.
    """
    try:
        return [ynab.create_transactions(plan_id, [d.to_payload() for d in drafts])], []
    except YnabBadRequest as error:
        errors = error.errors_by_index
        if len(drafts) == 1:
            return [], [(drafts[0], errors.get(0) or error.detail or str(error))]
        if errors and all(0 <= index < len(drafts) for index in errors):
            failures = [(drafts[index], message) for index, message in sorted(errors.items())]
            rest = [draft for index, draft in enumerate(drafts) if index not in errors]
            log.warning(
                "YNAB rejected %d of %d transactions; sending the other %d again",
                len(failures),
                len(drafts),
                len(rest),
            )
            if not rest:
                return [], failures
            results, more_failures = _create_isolating_failures(ynab, plan_id, rest)
            return results, failures + more_failures
        middle = len(drafts) // 2
        left_results, left_failures = _create_isolating_failures(ynab, plan_id, drafts[:middle])
        right_results, right_failures = _create_isolating_failures(ynab, plan_id, drafts[middle:])
        return left_results + right_results, left_failures + right_failures


def _resolve_counterparts(
    db: Database, plan_id: str, outcomes: dict[int, _Outcome], report: SyncReport
) -> None:
    """Give each transfer counterpart the id of the transaction YNAB paired with its creator."""
    for payment_id, outcome in outcomes.items():
        if outcome.reason_code != "transfer_counterpart":
            continue
        creator = outcomes.get(outcome.counterpart_of)
        if creator is not None and creator.status == "failed":
            outcome.status = "failed"
            outcome.reason_code = "counterpart_failed"
            outcome.reason = (
                f"the other side of this transfer, payment {outcome.counterpart_of}, failed: "
                f"{creator.reason}"
            )
            continue
        if outcome.ynab_transaction_id is None:
            creator_transaction = creator.ynab_transaction_id if creator else None
            if creator_transaction is None:
                queued = db.fetch_one(
                    "SELECT ynab_transaction_id FROM payment_queue WHERE payment_id = %s",
                    (outcome.counterpart_of,),
                )
                creator_transaction = queued["ynab_transaction_id"] if queued else None
            if creator_transaction:
                found = db.fetch_one(
                    "SELECT transfer_transaction_id FROM ynab_transaction WHERE id = %s",
                    (creator_transaction,),
                )
                outcome.ynab_transaction_id = found["transfer_transaction_id"] if found else None
        report.transfer_counterparts.append(payment_id)


def _mark(db: Database, plan_id: str, outcomes: dict[int, _Outcome]) -> None:
    if not outcomes:
        return
    ids = list(outcomes)
    db.query(
        "mark_payments",
        {
            "payment_ids": ids,
            "statuses": [outcomes[i].status for i in ids],
            "reason_codes": [outcomes[i].reason_code for i in ids],
            "reasons": [outcomes[i].reason for i in ids],
            "plan_ids": [plan_id] * len(ids),
            "ynab_transaction_ids": [outcomes[i].ynab_transaction_id for i in ids],
            "counterparts": [outcomes[i].counterpart_of for i in ids],
        },
    )


def _log_report(report: SyncReport, dry_run: bool) -> None:
    prefix = "Dry run: " if dry_run else ""
    log.info(
        "%sSync finished: %d created, %d already in YNAB (duplicates), %d transfer "
        "counterparts, %d skipped, %d failed, %d deferred, %d categorised by the model, "
        "%d YNAB requests",
        prefix,
        len(report.created),
        len(report.duplicates),
        len(report.transfer_counterparts),
        len(report.skipped),
        len(report.failed),
        len(report.deferred),
        len(report.categorised),
        report.ynab_requests,
    )
    if report.skipped:
        ids = sorted(report.skipped)
        listed = ", ".join(str(i) for i in ids[:_LOGGED_IDS])
        more = f" and {len(ids) - _LOGGED_IDS} more" if len(ids) > _LOGGED_IDS else ""
        log.info("Skipped payments: %s%s", listed, more)
    for payment_id, reason in sorted(report.failed.items()):
        log.error("Payment %s failed: %s", payment_id, reason)
