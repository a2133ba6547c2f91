"""One real ``dag.test()`` run per DAG, on the emulators and the test Postgres database.

The DAGs read their Connections and settings from ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``
environment variables, as a user's deployment may. The metadata database is SQLite in the
session's temporary Airflow home.
"""

from __future__ import annotations

import json

from tests.dags.conftest import load_dag
from tests.integration import world as w


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


def test_refreshed_session_saved_for_next_run(dag_world, monkeypatch):
    world = dag_world(seed_with([w.payment(11, "-1.00")]))
    context = json.loads(world.store.context_json)
    context["session_context"]["expiry_time"] = "2020-01-01 00:00:00.000000"
    monkeypatch.setenv(
        "AIRFLOW_CONN_BUNQ_DEFAULT",
        json.dumps(
            {
                "conn_type": "generic",
                "password": json.dumps(context),
                "extra": {"base_url": world.bunq_emulator.base_url},
            }
        ),
    )
    sessions = ("POST", "/v1/session-server")
    before = world.bunq_emulator.request_counts[sessions]  # the test's own ApiContext.create
    dag = load_dag("extract")

    assert dag.test().state == "success"
    assert world.bunq_emulator.request_counts[sessions] == before + 1
    assert dag.test().state == "success"
    assert world.bunq_emulator.request_counts[sessions] == before + 1  # the saved one was reused
