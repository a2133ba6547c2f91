"""Shared fixtures: an isolated Airflow home, a real Postgres database, the API emulators.

Airflow reads its configuration when it is first imported, so the environment is set here, at
conftest import time, before any test module imports ``airflow``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="bunq-ynab-airflow-"))

os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

PG_ADMIN_DSN = os.environ.get("BUNQ_YNAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _dsn_for(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """Create a throw-away Postgres database for this test session; return its DSN."""
    import psycopg

    name = f"bunq_ynab_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _dsn_for(name)

    from bunq_ynab.storage import Database, apply_migrations

    with Database.from_dsn(dsn) as db:
        apply_migrations(db)
    yield dsn
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(pg_database):
    """A connection to the session database, emptied of app data before the test."""
    from bunq_ynab.storage import Database

    database = Database.from_dsn(pg_database)
    tables = [
        row["tablename"]
        for row in database.fetch_all(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'schema_migration'"
        )
    ]
    database.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    yield database
    database.close()
