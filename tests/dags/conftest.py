"""Fixtures for DAG runs: a migrated Airflow metadata database and Connections that point at
the emulators and the test Postgres database through ``AIRFLOW_CONN_*`` variables."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import make_world  # noqa: F401 (a fixture shared with dag runs)


@pytest.fixture(scope="session")
def airflow_db():
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def dag_world(make_world, pg_database, airflow_db, monkeypatch):  # noqa: F811
    """Start the emulators and point the Airflow Connections at them and at the test DB."""

    def factory(seed):
        world = make_world(seed)
        database_uri = pg_database.replace("postgresql://", "postgres://", 1)
        monkeypatch.setenv("AIRFLOW_CONN_BUNQ_YNAB_DB", database_uri)
        monkeypatch.setenv(
            "AIRFLOW_CONN_BUNQ_DEFAULT",
            json.dumps(
                {
                    "conn_type": "generic",
                    "password": world.store.context_json,
                    "extra": {"base_url": world.bunq_emulator.base_url},
                }
            ),
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_YNAB_DEFAULT",
            json.dumps(
                {
                    "conn_type": "generic",
                    "password": world.ynab_token,
                    "extra": {"host": world.ynab_emulator.base_url},
                }
            ),
        )
        monkeypatch.setenv("AIRFLOW_VAR_BUNQ_YNAB_SETTINGS", json.dumps({}))
        return world

    return factory


def load_dag(dag_id):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]
