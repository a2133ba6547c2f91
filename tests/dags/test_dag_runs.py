"""One real ``dag.test()`` run per DAG, on the emulators and the test Postgres database.

The DAGs read their Connections and settings from ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``
environment variables, as a user's deployment may; the metadata database is SQLite in the
session's temporary Airflow home.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration import world as w


@pytest.fixture(scope="session")
def airflow_db():
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def dag_world(make_world, pg_database, airflow_db, monkeypatch):
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
                    "password": w.YNAB_TOKEN,
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


def seed_with(payments):
    seed = w.base_seed()
    seed["bunq"]["payments"] = payments
    return seed


def test_extract_dag_queues_payments(dag_world):
    world = dag_world(seed_with([w.payment(11, "-1.00"), w.payment(13, "-2.00")]))

    run = load_dag("extract").test()

    assert run.state == "success"
    assert len(world.queue()) == 2
    assert world.created(w.PLAN_HOUSEHOLD) == []


def test_sync_payment_queue_dag_pushes(dag_world):
    world = dag_world(seed_with([w.payment(11, "-1.00"), w.payment(13, "-2.00")]))
    world.extract()

    run = load_dag("sync_payment_queue").test()

    assert run.state == "success"
    assert len(world.created(w.PLAN_HOUSEHOLD)) == 1
    assert len(world.created(w.PLAN_SHARED)) == 1


def test_sync_dag_twice_creates_once(dag_world):
    payments = [
        w.payment(11, "-1.00"),
        *w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "9.00"),
    ]
    world = dag_world(seed_with(payments))
    dag = load_dag("sync")

    assert dag.test().state == "success"
    assert dag.test().state == "success"

    assert len(world.ynab_emulator.transactions(w.PLAN_HOUSEHOLD)) == 3  # one payment, one pair
    assert {row["status"] for row in world.queue().values()} == {"synced"}


def test_sync_payment_dag_extracts_and_syncs_one(dag_world):
    payments = [w.payment(11, "-1.00"), w.payment(11, "-2.00")]
    world = dag_world(seed_with(payments))
    target = payments[1]["id"]

    run = load_dag("sync_payment").test(run_conf={"payment_id": target})

    assert run.state == "success"
    assert [t["import_id"] for t in world.created(w.PLAN_HOUSEHOLD)] == [f"bunq:{target}"]
    assert world.queue()[payments[0]["id"]]["status"] == "pending"


def test_sync_payment_dag_dry_run(dag_world):
    payments = [w.payment(11, "-3.00")]
    world = dag_world(seed_with(payments))

    run = load_dag("sync_payment").test(run_conf={"payment_id": payments[0]["id"], "dry_run": True})

    assert run.state == "success"
    assert world.created(w.PLAN_HOUSEHOLD) == []
    assert world.queue()[payments[0]["id"]]["status"] == "pending"


def test_sync_payment_dag_unknown_payment_fails(dag_world):
    dag_world(seed_with([w.payment(11, "-3.00")]))

    run = load_dag("sync_payment").test(run_conf={"payment_id": 99999999})

    assert run.state == "failed"
