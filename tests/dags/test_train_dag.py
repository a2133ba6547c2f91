"""The ``train`` DAG end to end: demo history in the emulators, a real MLflow store and a real
MLServer process, then a sync that requests categories from MLServer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.dags.conftest import load_dag

REPO_ROOT = Path(__file__).resolve().parents[2]
MLSERVER_BIN = REPO_ROOT / ".venv-serving" / "bin" / "mlserver"

pytestmark = [
    pytest.mark.serving,
    pytest.mark.skipif(not MLSERVER_BIN.is_file(), reason="no .venv-serving (scripts/install.sh)"),
]


@pytest.fixture
def ml_world(dag_world, tmp_path, monkeypatch):
    from bunq_ynab.serving.process import free_port, start_mlserver
    from emulators.demo_data import build_demo_seed

    today = dt.date.today()
    seed = build_demo_seed(today)
    world = dag_world(seed)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    repository = tmp_path / "mlserver"
    server = start_mlserver(
        repository,
        tracking_uri,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        parallel_workers=1,
    )
    settings = {
        "start_date": seed["meta"]["start_date"],
        "mlflow_tracking_uri": tracking_uri,
        "mlflow_artifact_location": str(tmp_path / "artifacts"),
        "mlserver_url": server.base_url,
        "mlserver_repository": str(repository),
        "prediction_threshold": 0.3,
    }
    monkeypatch.setenv("AIRFLOW_VAR_BUNQ_YNAB_SETTINGS", json.dumps(settings))
    world.seed = seed
    world.mlserver = server
    world.tracking_uri = tracking_uri
    yield world
    server.stop()


def test_train_then_sync_predicts_categories(ml_world):
    import mlflow

    from bunq_ynab.classification.registry import registered_model_name

    world = ml_world
    plans = [plan["id"] for plan in world.seed["ynab"]["plans"]]

    # On the demo data most payees keep one category, so the payee baseline is hard to beat and
    # promotion is forced here. The promotion rule itself is tested in tests/classification.
    run = load_dag("train").test(run_conf={"force_promotion": True})

    assert run.state == "success"
    client = mlflow.MlflowClient(world.tracking_uri)
    for plan_id in plans:
        model = client.get_registered_model(registered_model_name(plan_id))
        assert "champion" in model.aliases
    experiments = {e.name for e in client.search_experiments()}
    assert any(name.startswith("classifier selection") for name in experiments)
    assert any(name.startswith("grid search") for name in experiments)

    # The train DAG extracted but did not sync: the payments since the start date are pending.
    pending = [row for row in world.queue().values() if row["status"] == "pending"]
    assert pending
    world.ynab_emulator.reset_counts()

    run = load_dag("sync_payment_queue").test()

    assert run.state == "success"
    created = world.created(plans[0]) + world.created(plans[1])
    categorised = [t for t in created if t.get("category_id")]
    assert len(categorised) >= len(created) // 2
    predictions = world.db.fetch_one("SELECT count(*) AS n FROM prediction")["n"]
    assert predictions >= len(categorised)
    # One categories delta per plan next to the transaction delta and the POST.
    assert world.ynab_emulator.total_requests <= 3 * len(plans)


def test_sync_without_mlserver_is_uncategorised(dag_world, monkeypatch):
    from tests.integration import world as w

    world = dag_world(w.base_seed())
    world.add_payments([w.payment(11, "-4.20")])
    monkeypatch.setenv(
        "AIRFLOW_VAR_BUNQ_YNAB_SETTINGS", json.dumps({"mlserver_url": "http://127.0.0.1:9"})
    )

    run = load_dag("sync").test()

    assert run.state == "success"
    [transaction] = world.created(w.PLAN_HOUSEHOLD)
    assert transaction["category_id"] is None
