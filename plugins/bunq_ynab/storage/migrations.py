"""Apply the numbered SQL migrations in ``include/sql/migrations`` once each, in order."""

from __future__ import annotations

import logging

from bunq_ynab.paths import MIGRATIONS_DIR
from bunq_ynab.storage.database import Database

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_KEY = 4_242_001


def apply_migrations(db: Database) -> list[str]:
    """Apply every migration not yet recorded in ``schema_migration``; return the applied names.

    A transaction-scoped advisory lock serialises concurrent callers, so two tasks that start at
    the same time cannot apply the same file twice.
    """
    applied_now: list[str] = []
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["name"] for row in db.fetch_all("SELECT name FROM schema_migration")}
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            if path.name in done:
                continue
            db.execute(path.read_text())
            db.execute("INSERT INTO schema_migration (name) VALUES (%s)", (path.name,))
            applied_now.append(path.name)
            log.info("Applied migration %s", path.name)
    if not applied_now:
        log.info("Database schema is up to date (%d migrations)", len(done))
    return applied_now
