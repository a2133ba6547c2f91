"""A real MLServer from .venv-serving serving models from a real MLflow registry."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
import requests
from mlflow.tracking import MlflowClient

from bunq_ynab.classification.dataset import load_dataset
from bunq_ynab.classification.experiments import (
    model_requirements,
    model_signature,
    register_model_version,
    train_plan,
)
from bunq_ynab.classification.predict import Prediction, predict_categories
from bunq_ynab.classification.registry import (
    CHAMPION_ALIAS,
    PREVIOUS_ALIAS,
    promote,
    registered_model_name,
)
from bunq_ynab.classification.tracking import plan_experiment, use_tracking_uri
from bunq_ynab.serving import mlserver
from bunq_ynab.serving.mlserver import (
    deploy_champion,
    infer,
    predict_batch,
    read_model_settings,
)
from bunq_ynab.serving.process import free_port, start_mlserver
from tests.classification.support import (
    populate_household,
    register_shuffled_model,
    temporary_database,
)

pytestmark = pytest.mark.serving


class BrokenModel(mlflow.pyfunc.PythonModel):
    """A model MLServer cannot load: its class lives in this test module, not in the model."""

    def predict(self, context, model_input: pd.DataFrame, params=None):
        raise RuntimeError("this model is broken on purpose")


@dataclasses.dataclass
class Serving:
    db: object
    tracking_uri: str
    repository: Path
    model_name: str
    dataset: object
    server: object
    client: MlflowClient

    def set_aliases(self, champion: str, previous: str | None = None) -> None:
        self.client.set_registered_model_alias(self.model_name, CHAMPION_ALIAS, champion)
        if previous is not None:
            self.client.set_registered_model_alias(self.model_name, PREVIOUS_ALIAS, previous)

    def deploy(self):
        return deploy_champion(
            self.repository, self.server.base_url, self.tracking_uri, self.model_name
        )


def _register_broken_model(tracking_uri, artifacts, dataset, model_name) -> str:
    client = use_tracking_uri(tracking_uri)
    experiment_id = plan_experiment(
        client, "broken models", dataset.plan_id, dataset.plan_name, artifacts
    )
    # No input example: MLflow would run predict on it, which raises.
    with (
        mlflow.start_run(experiment_id=experiment_id, run_name="broken"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", UserWarning)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=BrokenModel(),
            signature=model_signature(),
            pip_requirements=model_requirements(),
        )
        tags = {"plan_id": dataset.plan_id, "plan_name": dataset.plan_name}
        return register_model_version(info, model_name, tags)


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """Versions 1 (shuffled labels), 2 (trained, champion) and 3 (broken), and a running MLServer
    that serves version 2."""
    root = tmp_path_factory.mktemp("serving")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    artifacts = root / "artifacts"
    repository = root / "models"
    with temporary_database() as db:
        plan = populate_household(db)
        dataset = load_dataset(db, plan.plan_id)
        model_name = registered_model_name(plan.plan_id)
        shuffled = register_shuffled_model(tracking_uri, artifacts, dataset, model_name)
        promote(
            tracking_uri,
            model_name,
            shuffled,
            dataset.rows,
            dataset.labels,
            baseline_kappa=1.0,
            force=True,
        )
        trained = train_plan(
            db, plan.plan_id, tracking_uri, artifacts, candidates=["logistic_regression"]
        )
        assert trained.model_version == "2"
        assert trained.promotion.promoted
        assert _register_broken_model(tracking_uri, artifacts, dataset, model_name) == "3"
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        with start_mlserver(
            repository,
            tracking_uri,
            http_port=free_port(),
            grpc_port=free_port(),
            metrics_port=free_port(),
        ) as server:
            state = Serving(db, tracking_uri, repository, model_name, dataset, server, client)
            assert state.deploy().served_version == "2"
            yield state


def test_load_swaps_model_without_restart(serving):
    records = serving.dataset.rows[:200]
    pid = serving.server.pid

    serving.set_aliases(champion="1")
    first = serving.deploy()
    shuffled_predictions = predict_batch(serving.server.base_url, serving.model_name, records)
    serving.set_aliases(champion="2", previous="1")
    second = serving.deploy()
    trained = infer(serving.server.base_url, serving.model_name, records)

    assert first.served_version == "1"
    assert second.served_version == "2"
    assert serving.server.pid == pid
    assert serving.server.is_running()
    assert trained.model_version == "2"
    assert [c for c, _ in trained.predictions] != [c for c, _ in shuffled_predictions]
    correct = sum(
        category == label
        for (category, _), label in zip(trained.predictions, serving.dataset.labels, strict=False)
    )
    assert correct / len(records) > 0.8
    settings = read_model_settings(serving.repository, serving.model_name)
    assert settings["parameters"]["uri"] == f"models:/{serving.model_name}/2"


def test_predict_batch_sends_one_request(serving, monkeypatch):
    calls = []
    real_request = requests.request

    def counting_request(method, url, **kwargs):
        calls.append((method, url))
        return real_request(method, url, **kwargs)

    monkeypatch.setattr(mlserver.requests, "request", counting_request)
    records = serving.dataset.rows[:200]

    predictions = predict_batch(serving.server.base_url, serving.model_name, records)

    assert len(predictions) == 200
    assert calls == [("POST", f"{serving.server.base_url}/v2/models/{serving.model_name}/infer")]
    assert all(isinstance(category, str) for category, _ in predictions)
    assert all(0.0 < probability <= 1.0 for _, probability in predictions)


def test_predict_categories_stores_every_prediction(serving):
    db = serving.db
    plan_id = serving.dataset.plan_id
    rows = db.fetch_all("SELECT * FROM bunq_payment ORDER BY id LIMIT 200")

    result = predict_categories(db, plan_id, rows, serving.server.base_url, threshold=0.9)

    assert set(result) == {row["id"] for row in rows}
    assert {prediction.model_version for prediction in result.values()} == {"2"}
    for prediction in result.values():
        assert (prediction.category_id is None) == (prediction.probability < 0.9)
    stored = db.fetch_all(
        "SELECT payment_id, category_id, probability, accepted FROM prediction"
        " WHERE plan_id = %s AND model_version = '2'",
        (plan_id,),
    )
    assert len(stored) == 200
    accepted = {row["payment_id"] for row in stored if row["accepted"]}
    assert accepted == {pid for pid, p in result.items() if p.category_id is not None}

    again = predict_categories(db, plan_id, rows[:10], serving.server.base_url, threshold=0.9)
    assert len(again) == 10
    count = db.fetch_one("SELECT count(*) AS n FROM prediction WHERE plan_id = %s", (plan_id,))
    assert count["n"] == 200  # one row per payment and version


def test_no_model_for_plan_gives_no_categories(serving, caplog):
    rows = serving.db.fetch_all("SELECT * FROM bunq_payment ORDER BY id LIMIT 3")

    with caplog.at_level(logging.WARNING, logger="bunq_ynab.classification.predict"):
        result = predict_categories(
            serving.db, "plan-without-model", rows, serving.server.base_url, 0.5
        )

    assert result == {row["id"]: Prediction(None, None, None) for row in rows}
    assert "No model for plan plan-without-model" in caplog.text


def test_failed_deployment_rolls_back(serving, caplog):
    pid = serving.server.pid
    serving.set_aliases(champion="3", previous="2")

    with caplog.at_level(logging.ERROR, logger="bunq_ynab.serving.mlserver"):
        result = serving.deploy()

    assert result.requested_version == "3"
    assert result.served_version == "2"
    assert result.rolled_back
    assert "loading" in result.error
    aliases = serving.client.get_registered_model(serving.model_name).aliases
    assert str(aliases[CHAMPION_ALIAS]) == "2"
    failed = serving.client.get_model_version(serving.model_name, "3")
    assert failed.tags["deployment"].startswith("failed")
    answer = infer(serving.server.base_url, serving.model_name, serving.dataset.rows[:5])
    assert answer.model_version == "2"
    assert serving.server.pid == pid
    assert "Deploying" in caplog.text
