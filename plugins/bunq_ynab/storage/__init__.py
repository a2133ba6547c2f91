"""Access to the app's Postgres database: connections, migrations and named SQL queries."""

from bunq_ynab.storage.database import Database, load_query
from bunq_ynab.storage.migrations import apply_migrations

__all__ = ["Database", "apply_migrations", "load_query"]
