"""Training, registration and promotion against a real MLflow store and Postgres database."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bunq_ynab.classification.dataset import load_dataset
from bunq_ynab.classification.experiments import live_accuracy, train_plan
from bunq_ynab.classification.models import param_grid
from bunq_ynab.classification.registry import promote, registered_model_name
from tests.classification.support import (
    CHECKING_ACCOUNT_ID,
    PLAN_ID,
    PLAN_NAME,
    Builder,
    local_time,
    populate_household,
    register_shuffled_model,
    temporary_database,
)


@dataclasses.dataclass
class Story:
    """The registry's history for one plan, built once for the tests of this module."""

    tracking_uri: str
    artifacts: Path
    model_name: str
    dataset: object
    shuffled_version: str
    forced: object  # the shuffled model forced to champion
    first: object  # train_plan against that champion
    repeat: object  # train_plan again with the same data and seed
    worse_version: str
    worse: object  # another shuffled model offered for promotion

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    artifacts = root / "artifacts"
    with temporary_database() as db:
        plan = populate_household(db)
        dataset = load_dataset(db, plan.plan_id)
        model_name = registered_model_name(plan.plan_id)
        shuffled = register_shuffled_model(tracking_uri, artifacts, dataset, model_name)
        forced = promote(
            tracking_uri,
            model_name,
            shuffled,
            dataset.rows,
            dataset.labels,
            baseline_kappa=1.0,
            force=True,
        )
        first = train_plan(db, plan.plan_id, tracking_uri, artifacts, grid="small", seed=42)
        repeat = train_plan(db, plan.plan_id, tracking_uri, artifacts, grid="small", seed=42)
    worse_version = register_shuffled_model(tracking_uri, artifacts, dataset, model_name, seed=1)
    worse = promote(
        tracking_uri, model_name, worse_version, dataset.rows, dataset.labels, baseline_kappa=-1.0
    )
    return Story(
        tracking_uri,
        artifacts,
        model_name,
        dataset,
        shuffled,
        forced,
        first,
        repeat,
        worse_version,
        worse,
    )


def test_forced_promotion_sets_champion(story):
    assert story.shuffled_version == "1"
    assert story.forced.promoted
    assert story.forced.forced


def test_trained_model_beats_baseline(story):
    result = story.first
    assert result.model_version == "2"
    assert result.skipped_reason is None
    assert result.metrics["kappa"] > result.baseline_metrics["kappa"]
    assert result.metrics["accuracy"] > 0.8


def test_trained_model_replaces_worse_champion(story):
    decision = story.first.promotion
    assert decision.promoted, decision.reason
    assert decision.champion_version == "1"
    assert decision.champion_kappa < decision.kappa
    assert decision.kappa == pytest.approx(story.first.metrics["kappa"])


def test_equal_retrain_keeps_champion(story):
    decision = story.repeat.promotion
    assert story.repeat.model_version == "3"
    assert story.repeat.metrics == story.first.metrics
    assert not decision.promoted
    assert "does not beat champion v2" in decision.reason


def test_worse_model_keeps_champion(story):
    assert story.worse_version == "4"
    assert not story.worse.promoted
    assert story.worse.champion_version == "2"
    assert story.worse.champion_kappa > story.worse.kappa


def test_aliases_after_promotions(story):
    aliases = story.client().get_registered_model(story.model_name).aliases
    assert {alias: str(version) for alias, version in aliases.items()} == {
        "champion": "2",
        "previous": "1",
    }


def test_decision_recorded_on_version(story):
    client = story.client()
    promoted = client.get_model_version(story.model_name, "2")
    rejected = client.get_model_version(story.model_name, "3")
    assert promoted.tags["promotion"] == "promoted"
    assert rejected.tags["promotion"] == "rejected"
    assert "does not beat" in rejected.tags["promotion_reason"]


def test_counts_add_up(story):
    counts = story.first.counts
    assert counts["train"] + counts["test"] == counts["examples"]
    assert counts["examples"] == len(story.dataset)
    assert counts["cv_splits"] == 5
    assert counts["dataset"]["excluded"] == {"transfer": 20}


def test_selection_runs_nested_per_candidate(story):
    client = story.client()
    parent = client.get_run(story.first.selection_run_id)
    experiment = client.get_experiment(parent.info.experiment_id)
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert experiment.name == f"classifier selection [{PLAN_NAME}]"
    assert parent.data.tags["chosen_classifier"] == story.first.classifier
    assert {run.data.params["classifier"] for run in children} == {
        "logistic_regression",
        "random_forest",
        "complement_nb",
    }
    for run in children:
        assert "cv_kappa_mean" in run.data.metrics
        assert "cv_f1_macro_mean" in run.data.metrics
    chosen = max(children, key=lambda run: run.data.metrics["cv_kappa_mean"])
    assert chosen.data.params["classifier"] == story.first.classifier


def test_grid_runs_nested_per_combination(story):
    client = story.client()
    parent = client.get_run(story.first.grid_search_run_id)
    experiment = client.get_experiment(parent.info.experiment_id)
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    combinations = [run for run in children if "mean_test_score" in run.data.metrics]
    baseline = [run for run in children if run.data.params.get("classifier", "").endswith("payee")]
    grid = param_grid(story.first.classifier, "small")
    assert experiment.name == f"grid search [{PLAN_NAME}]"
    assert len(combinations) == len(next(iter(grid.values())))
    assert len(baseline) == 1
    assert baseline[0].data.metrics["test_kappa"] == pytest.approx(
        story.first.baseline_metrics["kappa"]
    )
    assert parent.data.metrics["test_kappa"] == pytest.approx(story.first.metrics["kappa"])
    assert parent.data.tags["model_version"] == "2"


def test_evaluation_artifacts_logged(story, tmp_path):
    client = story.client()
    run_id = story.first.grid_search_run_id
    top = {item.path for item in client.list_artifacts(run_id)}
    evaluation = {item.path for item in client.list_artifacts(run_id, "evaluation")}
    assert {"split.json", "dataset_report.json", "category_names.json", "promotion.json"} <= top
    assert evaluation == {
        "evaluation/confusion_matrix.png",
        "evaluation/classification_report.txt",
        "evaluation/classification_report.json",
    }
    png = Path(client.download_artifacts(run_id, "evaluation/confusion_matrix.png", tmp_path))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_model_requirements_pinned(story, tmp_path):
    import mlflow.artifacts

    folder = mlflow.artifacts.download_artifacts(
        f"models:/{story.model_name}/2", dst_path=str(tmp_path), tracking_uri=story.tracking_uri
    )
    requirements = (Path(folder) / "requirements.txt").read_text().split()
    assert "scikit-learn==1.9.1" in requirements
    assert "pandas==3.1.1" in requirements
    assert "mlflow==3.17.2" in requirements


def test_logged_model_returns_categories(story):
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(f"models:/{story.model_name}/2")
    output = model.predict(pd.DataFrame(story.dataset.rows[:5]))
    assert set(output) == {"category_id", "probability"}
    assert set(output["category_id"]) <= set(story.dataset.category_names)
    assert all(0.0 < probability <= 1.0 for probability in output["probability"])


def test_plans_in_sequence_stay_apart(tmp_path):
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    other_plan = "9a3e1f00-2b2b-4c4c-8d8d-000000000002"
    with temporary_database() as db:
        populate_household(db, months=10)
        populate_household(
            db,
            plan_id=other_plan,
            plan_name="Student room",
            bunq_account_id=4301,
            checking_id="c2",
            savings_id="s2",
            seed=11,
            months=10,
        )
        results = [
            train_plan(
                db,
                plan_id,
                tracking_uri,
                tmp_path / "artifacts",
                candidates=["complement_nb", "logistic_regression"],
            )
            for plan_id in (PLAN_ID, other_plan)
        ]
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    for result, name in zip(results, (PLAN_NAME, "Student room"), strict=True):
        assert result.model_version == "1"
        assert result.promotion.promoted
        for title in ("classifier selection", "grid search"):
            experiment = client.get_experiment_by_name(f"{title} [{name}]")
            runs = client.search_runs([experiment.experiment_id])
            assert runs
            assert {run.data.tags["plan_id"] for run in runs} == {result.plan_id}
        aliases = client.get_registered_model(result.model_name).aliases
        assert {alias: str(version) for alias, version in aliases.items()} == {"champion": "1"}


def test_plan_with_one_category_skipped(ml_db, mlflow_store):
    tracking_uri, artifacts = mlflow_store
    builder = Builder(ml_db)
    builder.plan()
    builder.ynab_account(CHECKING_ACCOUNT_ID)
    builder.bunq_account()
    groceries = builder.category("Groceries")
    for day in range(1, 8):
        created = local_time(2026, 3, day)
        builder.payment(created, "-10.00")
        builder.transaction(created.date(), -10_000, groceries)

    result = train_plan(ml_db, PLAN_ID, tracking_uri, artifacts)

    assert result.model_version is None
    assert "at least 2 categories" in result.skipped_reason
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    assert client.search_registered_models() == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"grid": "huge"}, "unknown grid"),
        ({"min_examples": 2}, "at least 3"),
        ({"candidates": ["svm"]}, "svm"),
    ],
)
def test_train_plan_rejects_bad_arguments(mlflow_store, arguments, message):
    tracking_uri, artifacts = mlflow_store
    with pytest.raises(ValueError, match=message):
        train_plan(None, PLAN_ID, tracking_uri, artifacts, **arguments)


def test_live_accuracy_per_version(ml_db, mlflow_store, caplog):
    tracking_uri, artifacts = mlflow_store
    builder = Builder(ml_db)
    builder.plan()
    builder.ynab_account(CHECKING_ACCOUNT_ID)
    builder.bunq_account()
    groceries = builder.category("Groceries")
    eating_out = builder.category("Eating out")
    user_categories = [groceries, groceries, eating_out, eating_out]
    payments = []
    for day, category in enumerate(user_categories, start=1):
        created = local_time(2026, 9, day)
        payment = builder.payment(created, f"-{day}.00")
        transaction = builder.transaction(created.date(), -day * 1000, category)
        # Every other payment is linked only through its import_id.
        builder.queue(
            payment, transaction_id=transaction if day % 2 else None, import_id=f"bunq:{payment}"
        )
        if day % 2 == 0:
            ml_db.execute(
                "UPDATE ynab_transaction SET import_id = %s WHERE id = %s",
                (f"bunq:{payment}", transaction),
            )
        payments.append(payment)
    # Linked only by the import_id the sync would have used, without a queue row.
    unqueued = builder.payment(local_time(2026, 9, 8), "-8.00")
    builder.transaction(
        local_time(2026, 9, 8).date(), -8_000, groceries, import_id=f"bunq:{unqueued}"
    )
    unreviewed = builder.payment(local_time(2026, 9, 9), "-9.00")
    builder.transaction(
        local_time(2026, 9, 9).date(),
        -9_000,
        groceries,
        approved=False,
        import_id=f"bunq:{unreviewed}",
    )
    builder.queue(unreviewed, import_id=f"bunq:{unreviewed}")

    model_name = registered_model_name(PLAN_ID)
    rows = []
    for payment, category in zip(payments, user_categories, strict=True):
        rows.append((payment, "1", category, 0.9, True))
    v2 = [groceries, eating_out, eating_out, groceries]
    for payment, category, accepted in zip(payments, v2, (True, True, False, False), strict=True):
        rows.append((payment, "2", category, 0.8 if accepted else 0.3, accepted))
    rows.append((unqueued, "2", groceries, 0.9, True))
    rows.append((unreviewed, "2", eating_out, 0.9, True))
    for payment, version, category, probability, accepted in rows:
        ml_db.execute(
            "INSERT INTO prediction (payment_id, plan_id, model_name, model_version, category_id,"
            " probability, threshold, accepted) VALUES (%s, %s, %s, %s, %s, %s, 0.5, %s)",
            (payment, PLAN_ID, model_name, version, category, probability, accepted),
        )

    with caplog.at_level(logging.WARNING):
        result = live_accuracy(
            ml_db, PLAN_ID, tracking_uri=tracking_uri, artifact_location=artifacts
        )

    assert list(result) == ["1", "2"]
    assert result["1"].predictions == 4
    assert result["1"].accuracy == 1.0
    assert result["2"].predictions == 5
    assert result["2"].correct == 3
    assert result["2"].accepted == 3
    assert result["2"].accepted_accuracy == pytest.approx(2 / 3)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(f"live accuracy [{PLAN_NAME}]")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics["v2_accuracy"] == pytest.approx(0.6)
    assert run.data.metrics["v1_predictions"] == 4
    assert "Could not tag" in caplog.text  # no registered model exists in this store
