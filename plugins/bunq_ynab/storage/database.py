"""A thin wrapper around one psycopg 3 connection to the app database.

Inside Airflow tasks the connection comes from the provider's ``PostgresHook``, so the Airflow
Connection ``bunq_ynab_db`` decides where the data lives. Tests and scripts pass a DSN. Every
query is parameterised with psycopg's ``%(name)s`` placeholders; no value is ever formatted into
SQL text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bunq_ynab.paths import QUERIES_DIR

DEFAULT_CONN_ID = "bunq_ynab_db"


@functools.cache
def load_query(name: str) -> str:
    """Return the text of ``include/sql/queries/<name>.sql``."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL query {name!r} not found at {path}")
    return path.read_text()


class Database:
    """One open connection with dict rows; transactions are explicit via :meth:`transaction`."""

    def __init__(self, connection: psycopg.Connection) -> None:
        connection.row_factory = dict_row
        self.connection = connection

    @classmethod
    def from_dsn(cls, dsn: str) -> Database:
        return cls(psycopg.connect(dsn, autocommit=True))

    @classmethod
    def from_airflow(cls, conn_id: str = DEFAULT_CONN_ID) -> Database:
        """Open the database behind an Airflow Postgres Connection."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        connection = PostgresHook(postgres_conn_id=conn_id).get_conn()
        connection.autocommit = True
        return cls(connection)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Run the block in one transaction: commit on success, roll back on any exception."""
        with self.connection.transaction():
            yield self

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> int:
        """Run one statement and return the number of rows it affected."""
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def execute_many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, list(rows))

    def fetch_all(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def fetch_one(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> dict[str, Any] | None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the named query file and return its rows (an empty list for statements)."""
        with self.connection.cursor() as cursor:
            cursor.execute(load_query(name), params)
            return cursor.fetchall() if cursor.description else []
