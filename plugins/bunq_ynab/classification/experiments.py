"""Training of one plan's category model, tracked in MLflow.

:func:`train_plan` runs the whole sequence for one YNAB plan:

1. Load the labelled dataset and split off a stratified test split fixed by the seed.
2. Experiment "classifier selection [<plan>]": every candidate classifier is cross-validated on
   the training split with the same seeded StratifiedKFold folds, in one nested run each. The
   best mean Cohen's kappa wins.
3. Experiment "grid search [<plan>]": GridSearchCV over the chosen classifier's grid, scored by
   kappa, one nested run per parameter combination. The best combination is refit on the whole
   training split and evaluated on the test split next to the payee baseline.
4. The refit pipeline is logged as a pyfunc model, registered as the next version of
   ``bunq-ynab-<plan id>``, and offered for promotion (see ``registry``).

This module imports scikit-learn and MLflow inside its functions only, so a DAG file can import
it at parse time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import importlib.metadata
import logging
import math
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bunq_ynab.classification.dataset import DEFAULT_MIN_EXAMPLES, Dataset, load_dataset
from bunq_ynab.classification.monitoring import LiveAccuracy, live_accuracy
from bunq_ynab.classification.records import DEFAULT_TIMEZONE, EXAMPLE_RECORDS, FEATURE_COLUMNS
from bunq_ynab.classification.registry import (
    PromotionDecision,
    promote,
    registered_model_name,
)
from bunq_ynab.storage import Database

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

__all__ = [
    "LiveAccuracy",
    "TrainingResult",
    "live_accuracy",
    "train_plan",
]

SELECTION_TITLE = "classifier selection"
GRID_SEARCH_TITLE = "grid search"
MAX_CV_SPLITS = 5
# Thresholds at which the test split's coverage and accuracy are logged, to help choose the
# sync's probability threshold.
COVERAGE_THRESHOLDS = (0.5, 0.7, 0.9)
# Packages pinned into the model's requirements, at the versions installed when it is logged,
# because the pickled pipeline only loads with the scikit-learn it was made with.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
# Library modules whose code is pickled into the model instead of imported at load time, so the
# serving environment needs no checkout of this repository.
MODEL_CODE_MODULES = (
    "bunq_ynab.classification.records",
    "bunq_ynab.classification.features",
    "bunq_ynab.classification.models",
    "bunq_ynab.classification.pyfunc",
)


@dataclasses.dataclass
class TrainingResult:
    """Outcome of :func:`train_plan` for one plan."""

    plan_id: str
    model_name: str
    model_version: str | None  # registered version, None when training was skipped
    classifier: str | None
    best_params: dict[str, Any]
    metrics: dict[str, float]  # test split: accuracy, f1_macro, kappa
    baseline_metrics: dict[str, float]  # the payee baseline on the same test split
    counts: dict[str, Any]  # examples, categories, train, test, cv_splits and the dataset report
    selection_run_id: str | None
    grid_search_run_id: str | None
    promotion: PromotionDecision | None
    duration_seconds: float
    skipped_reason: str | None = None


@dataclasses.dataclass
class _Split:
    train_rows: list[dict[str, str]]
    train_labels: list[str]
    test_rows: list[dict[str, str]]
    test_labels: list[str]
    train_payment_ids: list[int]
    test_payment_ids: list[int]


def train_plan(
    db: Database | None,
    plan_id: str,
    tracking_uri: str,
    artifact_location: str | Path,
    *,
    grid: str = "small",
    seed: int = 42,
    test_size: float = 0.2,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    tz: str | dt.tzinfo = DEFAULT_TIMEZONE,
    candidates: Sequence[str] | None = None,
    n_jobs: int = 1,
    promote_model: bool = True,
    force_promotion: bool = False,
    dataset: Dataset | None = None,
) -> TrainingResult:
    """Select, tune, evaluate, register and promote the category model of one plan.

    Args:
        db: The app database; only read when ``dataset`` is None.
        plan_id: The YNAB plan id.
        tracking_uri: MLflow tracking and registry URI, e.g. ``sqlite:////abs/mlflow.db``.
        artifact_location: Folder (or URI) under which new experiments store their artifacts.
        grid: "small" (a few combinations) or "full".
        seed: Fixes the test split, the cross-validation folds and the random forests.
        test_size: Share of the examples held out for the test split, between 0 and 1. The split
            is raised to at least one example per category, which stratified splitting requires.
        min_examples: Categories with fewer examples are left out. It must be at least 3, so that
            a category usually keeps two training examples for cross-validation.
        tz: Time zone of the payments' local dates.
        candidates: Classifier names to compare; all of ``models.CANDIDATES`` by default.
        n_jobs: Parallel jobs for cross-validation and the grid search.
        promote_model: Offer the new version for promotion to ``champion``.
        force_promotion: Promote even if the new version does not beat baseline or champion.
        dataset: Use this dataset instead of loading one from ``db``.

    Returns:
        The result; ``skipped_reason`` is set, and nothing is logged, when the plan has too few
        examples or categories to train on.

    This sets MLflow's process-wide tracking and registry URI to ``tracking_uri``. It must not be
    called while an MLflow run is active in the thread.
    """
    from bunq_ynab.classification import models
    from bunq_ynab.classification.tracking import plan_experiment, use_tracking_uri

    started = time.monotonic()
    if grid not in models.GRID_NAMES:
        raise ValueError(f"unknown grid {grid!r}; expected one of {', '.join(models.GRID_NAMES)}")
    if min_examples < 3:
        raise ValueError(f"min_examples must be at least 3, got {min_examples}")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    candidate_names = list(candidates or models.CANDIDATES)
    for name in candidate_names:
        models.param_grid(name, grid)  # raises for an unknown classifier

    if dataset is None:
        if db is None:
            raise ValueError("pass db or dataset")
        dataset = load_dataset(db, plan_id, tz=tz, min_examples=min_examples)
    model_name = registered_model_name(plan_id)
    counts: dict[str, Any] = {"dataset": dataset.report.as_dict(), "examples": len(dataset)}

    skipped_reason = _untrainable_reason(dataset.labels, min_examples)
    if skipped_reason is not None:
        log.warning("Not training plan %s: %s", plan_id, skipped_reason)
        return _skipped(plan_id, model_name, counts, skipped_reason, started)

    split = _split(dataset, test_size, seed)
    folds = _cv_folds(split.train_labels, seed)
    counts.update(
        categories=len(set(dataset.labels)),
        train=len(split.train_rows),
        test=len(split.test_rows),
        cv_splits=len(folds),
    )
    client = use_tracking_uri(tracking_uri)
    tags = {"plan_id": plan_id, "plan_name": dataset.plan_name, "seed": str(seed), "grid": grid}

    selection_experiment = plan_experiment(
        client, SELECTION_TITLE, plan_id, dataset.plan_name, artifact_location
    )
    classifier, selection_run_id = _select_classifier(
        selection_experiment, candidate_names, split, folds, dataset, seed, n_jobs, tags
    )

    search_experiment = plan_experiment(
        client, GRID_SEARCH_TITLE, plan_id, dataset.plan_name, artifact_location
    )
    outcome = _grid_search_and_register(
        search_experiment, classifier, grid, split, folds, dataset, seed, n_jobs, tags, model_name
    )

    promotion = None
    if promote_model:
        promotion = promote(
            tracking_uri,
            model_name,
            outcome["version"],
            split.test_rows,
            split.test_labels,
            baseline_kappa=outcome["baseline_metrics"]["kappa"],
            force=force_promotion,
        )
    result = TrainingResult(
        plan_id=plan_id,
        model_name=model_name,
        model_version=outcome["version"],
        classifier=classifier,
        best_params=outcome["best_params"],
        metrics=outcome["metrics"],
        baseline_metrics=outcome["baseline_metrics"],
        counts=counts,
        selection_run_id=selection_run_id,
        grid_search_run_id=outcome["run_id"],
        promotion=promotion,
        duration_seconds=time.monotonic() - started,
    )
    log.info(
        "Trained %s v%s (%s) in %.1f s: test kappa %.4f, baseline kappa %.4f",
        model_name,
        result.model_version,
        classifier,
        result.duration_seconds,
        result.metrics["kappa"],
        result.baseline_metrics["kappa"],
    )
    return result


def _untrainable_reason(labels: Sequence[str], min_examples: int) -> str | None:
    counts = Counter(labels)
    if len(counts) < 2:
        return (
            f"{len(labels)} examples in {len(counts)} categories with at least {min_examples} "
            "examples each; at least 2 categories are needed"
        )
    return None


def _skipped(
    plan_id: str, model_name: str, counts: dict[str, Any], reason: str, started: float
) -> TrainingResult:
    return TrainingResult(
        plan_id=plan_id,
        model_name=model_name,
        model_version=None,
        classifier=None,
        best_params={},
        metrics={},
        baseline_metrics={},
        counts=counts,
        selection_run_id=None,
        grid_search_run_id=None,
        promotion=None,
        duration_seconds=time.monotonic() - started,
        skipped_reason=reason,
    )


def _split(dataset: Dataset, test_size: float, seed: int) -> _Split:
    """Split stratified by category, with at least as many test examples as categories."""
    from sklearn.model_selection import train_test_split

    n_categories = len(set(dataset.labels))
    n_test = max(math.ceil(test_size * len(dataset)), n_categories)
    indices = list(range(len(dataset)))
    train_indices, test_indices = train_test_split(
        indices, test_size=n_test, stratify=dataset.labels, random_state=seed
    )
    train_indices, test_indices = sorted(train_indices), sorted(test_indices)
    return _Split(
        train_rows=[dataset.rows[i] for i in train_indices],
        train_labels=[dataset.labels[i] for i in train_indices],
        test_rows=[dataset.rows[i] for i in test_indices],
        test_labels=[dataset.labels[i] for i in test_indices],
        train_payment_ids=[dataset.payment_ids[i] for i in train_indices],
        test_payment_ids=[dataset.payment_ids[i] for i in test_indices],
    )


def _cv_folds(labels: Sequence[str], seed: int) -> list[tuple[Any, Any]]:
    """Return seeded stratified folds, as many as the smallest category allows (2 to 5)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    smallest = min(Counter(labels).values())
    n_splits = max(2, min(MAX_CV_SPLITS, smallest))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), list(labels)))


def _frame(rows: Sequence[dict[str, str]]) -> pd.DataFrame:
    from bunq_ynab.classification.features import to_frame

    return to_frame(rows)


def _scorers() -> dict[str, Any]:
    from sklearn.metrics import f1_score, make_scorer

    from bunq_ynab.classification.evaluation import kappa

    return {
        "kappa": make_scorer(kappa),
        "f1_macro": make_scorer(f1_score, average="macro", zero_division=0),
    }


def _select_classifier(
    experiment_id: str,
    candidate_names: Sequence[str],
    split: _Split,
    folds: list[tuple[Any, Any]],
    dataset: Dataset,
    seed: int,
    n_jobs: int,
    tags: dict[str, str],
) -> tuple[str, str]:
    """Cross-validate every candidate; return the best by mean kappa and the parent run id."""
    import mlflow
    import numpy as np
    from sklearn.model_selection import cross_validate

    from bunq_ynab.classification.models import build_pipeline

    frame = _frame(split.train_rows)
    labels = np.asarray(split.train_labels, dtype=object)
    scores: dict[str, tuple[float, float]] = {}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name="classifier selection", tags=tags
    ) as parent:
        mlflow.log_params(
            {"candidates": ",".join(candidate_names), "cv_splits": len(folds), "seed": seed}
        )
        mlflow.log_metrics({"train_examples": len(labels), "categories": len(set(labels))})
        mlflow.log_dict(dataset.report.as_dict(), "dataset_report.json")
        for name in candidate_names:
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=name, nested=True, tags=tags
            ) as child:
                mlflow.log_param("classifier", name)
                mlflow.log_params(_classifier_params(build_pipeline(name, seed)))
                try:
                    result = cross_validate(
                        build_pipeline(name, seed),
                        frame,
                        labels,
                        cv=folds,
                        scoring=_scorers(),
                        n_jobs=n_jobs,
                        error_score="raise",
                    )
                except Exception as error:  # a failing candidate must not stop the others
                    log.warning("Candidate %s failed in cross-validation: %s", name, error)
                    mlflow.set_tag("error", f"{type(error).__name__}: {error}")
                    mlflow.end_run(status="FAILED")
                    continue
                metrics = {
                    "cv_kappa_mean": float(np.mean(result["test_kappa"])),
                    "cv_kappa_std": float(np.std(result["test_kappa"])),
                    "cv_f1_macro_mean": float(np.mean(result["test_f1_macro"])),
                    "cv_f1_macro_std": float(np.std(result["test_f1_macro"])),
                    "cv_fit_seconds_mean": float(np.mean(result["fit_time"])),
                }
                mlflow.log_metrics(metrics)
                scores[name] = (metrics["cv_kappa_mean"], metrics["cv_f1_macro_mean"])
                log.info("Candidate %s: %s (run %s)", name, metrics, child.info.run_id)
        if not scores:
            raise RuntimeError(f"every candidate classifier failed: {', '.join(candidate_names)}")
        # Highest kappa, then highest macro-F1, then the earlier candidate.
        best = max(scores, key=lambda name: (*scores[name], -candidate_names.index(name)))
        mlflow.set_tag("chosen_classifier", best)
        mlflow.log_metrics({"best_cv_kappa": scores[best][0], "best_cv_f1_macro": scores[best][1]})
        return best, parent.info.run_id


def _classifier_params(pipeline: Any) -> dict[str, Any]:
    """Return the classifier's constructor arguments, for logging as run parameters."""
    params = pipeline.named_steps["classifier"].get_params(deep=False)
    return {f"classifier__{key}": value for key, value in sorted(params.items())}


def _grid_search_and_register(
    experiment_id: str,
    classifier: str,
    grid: str,
    split: _Split,
    folds: list[tuple[Any, Any]],
    dataset: Dataset,
    seed: int,
    n_jobs: int,
    tags: dict[str, str],
    model_name: str,
) -> dict[str, Any]:
    """Tune, refit, evaluate and register; return version, params, metrics and the run id."""
    import mlflow
    import numpy as np
    from sklearn.model_selection import GridSearchCV

    from bunq_ynab.classification.models import build_pipeline, param_grid

    frame = _frame(split.train_rows)
    labels = np.asarray(split.train_labels, dtype=object)
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"grid search {classifier}", tags=tags
    ) as parent:
        mlflow.set_tag("classifier", classifier)
        mlflow.log_params({"classifier": classifier, "grid": grid, "cv_splits": len(folds)})
        search = GridSearchCV(
            build_pipeline(classifier, seed),
            param_grid(classifier, grid),
            scoring=_scorers()["kappa"],
            cv=folds,
            refit=True,  # refits the best combination on the whole training split
            n_jobs=n_jobs,
        )
        search.fit(frame, labels)
        _log_combinations(experiment_id, search, tags)
        best_params = {key: _plain(value) for key, value in search.best_params_.items()}
        mlflow.log_params({f"best_{key}": value for key, value in best_params.items()})
        mlflow.log_metric("best_cv_kappa", float(search.best_score_))

        metrics, baseline_metrics = _evaluate(
            experiment_id, search.best_estimator_, split, dataset, tags
        )
        version = _log_and_register(
            search.best_estimator_, dataset, split, metrics, baseline_metrics, model_name, tags
        )
        return {
            "version": version,
            "best_params": best_params,
            "metrics": metrics,
            "baseline_metrics": baseline_metrics,
            "run_id": parent.info.run_id,
        }


def _log_combinations(experiment_id: str, search: Any, tags: dict[str, str]) -> None:
    """Log every grid combination as a nested run with its cross-validated kappa."""
    import mlflow

    results = search.cv_results_
    for index, params in enumerate(results["params"]):
        name = ", ".join(f"{key.split('__')[-1]}={value}" for key, value in params.items())
        with mlflow.start_run(experiment_id=experiment_id, run_name=name, nested=True, tags=tags):
            mlflow.log_params({key: _plain(value) for key, value in params.items()})
            metrics = {
                "mean_test_score": float(results["mean_test_score"][index]),
                "std_test_score": float(results["std_test_score"][index]),
                "rank_test_score": int(results["rank_test_score"][index]),
                "mean_fit_time": float(results["mean_fit_time"][index]),
            }
            mlflow.log_metrics(
                {key: value for key, value in metrics.items() if not math.isnan(value)}
            )


def _plain(value: Any) -> Any:
    """Return a grid value in a form MLflow can log and JSON can hold."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _evaluate(
    experiment_id: str, pipeline: Any, split: _Split, dataset: Dataset, tags: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Score the refit model and the payee baseline on the test split and log report artifacts.

    Runs inside the grid-search parent run; the baseline gets a nested run of its own as well.
    """
    import mlflow
    import numpy as np

    from bunq_ynab.classification import evaluation
    from bunq_ynab.classification.models import LastCategoryBaseline

    test_frame = _frame(split.test_rows)
    probabilities = pipeline.predict_proba(test_frame)
    best = probabilities.argmax(axis=1)
    predicted = list(np.asarray(pipeline.classes_, dtype=object)[best])
    top_probability = list(probabilities[np.arange(len(best)), best])
    metrics = evaluation.score(split.test_labels, predicted)
    mlflow.log_metrics({f"test_{key}": value for key, value in metrics.items()})
    for threshold in COVERAGE_THRESHOLDS:
        suffix = f"p{round(threshold * 100)}"
        mlflow.log_metric(
            f"test_coverage_{suffix}", evaluation.coverage_at(top_probability, threshold)
        )
        covered = [i for i, p in enumerate(top_probability) if p >= threshold]
        if covered:
            correct = sum(predicted[i] == split.test_labels[i] for i in covered)
            mlflow.log_metric(f"test_accuracy_{suffix}", correct / len(covered))

    baseline = LastCategoryBaseline().fit(_frame(split.train_rows), split.train_labels)
    baseline_metrics = evaluation.score(split.test_labels, list(baseline.predict(test_frame)))
    mlflow.log_metrics({f"baseline_test_{key}": value for key, value in baseline_metrics.items()})
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name="baseline: last category of payee",
        nested=True,
        tags=tags,
    ):
        mlflow.log_param("classifier", "last_category_of_payee")
        mlflow.log_metrics({f"test_{key}": value for key, value in baseline_metrics.items()})

    with tempfile.TemporaryDirectory(prefix="bunq-ynab-eval-") as folder:
        directory = Path(folder)
        evaluation.write_confusion_matrix(
            split.test_labels, predicted, dataset.category_names, directory / "confusion_matrix.png"
        )
        evaluation.write_classification_report(
            split.test_labels, predicted, dataset.category_names, directory
        )
        mlflow.log_artifacts(folder, artifact_path="evaluation")
    mlflow.log_dict(dataset.report.as_dict(), "dataset_report.json")
    mlflow.log_dict(dataset.category_names, "category_names.json")
    mlflow.log_dict(
        {"train_payment_ids": split.train_payment_ids, "test_payment_ids": split.test_payment_ids},
        "split.json",
    )
    return metrics, baseline_metrics


@contextlib.contextmanager
def _library_pickled_by_value() -> Iterator[None]:
    """Embed the model's library code in pickles made inside the block."""
    import cloudpickle

    modules = [importlib.import_module(name) for name in MODEL_CODE_MODULES]
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


def model_requirements() -> list[str]:
    """Return the pip requirements of the logged model, pinned to the installed versions."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def model_signature() -> Any:
    """Return the model signature: the record's string columns in, category and probability out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", column) for column in FEATURE_COLUMNS]),
        outputs=Schema([ColSpec("string", "category_id"), ColSpec("double", "probability")]),
    )


def log_category_model(pipeline: Any, category_names: dict[str, str]) -> Any:
    """Log a fitted pipeline as the pyfunc model ``model`` of the active run; return ModelInfo."""
    import mlflow.pyfunc

    from bunq_ynab.classification.features import to_frame
    from bunq_ynab.classification.pyfunc import CategoryModel

    with _library_pickled_by_value():
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=CategoryModel(pipeline, category_names),
            signature=model_signature(),
            input_example=to_frame(EXAMPLE_RECORDS),
            pip_requirements=model_requirements(),
        )


def register_model_version(model_info: Any, model_name: str, tags: dict[str, str]) -> str:
    """Register a logged model as the next version of ``model_name``; return the version.

    Uses the registry that ``tracking.use_tracking_uri`` pointed MLflow at.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        client.get_registered_model(model_name)
    except MlflowException as error:
        if error.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            raise
        client.create_registered_model(
            model_name,
            tags={"plan_id": tags["plan_id"]},
            description=f"Category model of YNAB plan {tags['plan_name']} ({tags['plan_id']})",
        )
    version = mlflow.register_model(model_info.model_uri, model_name, tags=tags)
    return str(version.version)


def _log_and_register(
    pipeline: Any,
    dataset: Dataset,
    split: _Split,
    metrics: dict[str, float],
    baseline_metrics: dict[str, float],
    model_name: str,
    tags: dict[str, str],
) -> str:
    import mlflow

    model_info = log_category_model(pipeline, dataset.category_names)
    mlflow.log_metrics(
        {f"test_{key}": value for key, value in metrics.items()}, model_id=model_info.model_id
    )
    version_tags = {
        **tags,
        "test_kappa": f"{metrics['kappa']:.4f}",
        "baseline_test_kappa": f"{baseline_metrics['kappa']:.4f}",
        "classifier": type(pipeline.named_steps["classifier"]).__name__,
        "test_examples": str(len(split.test_rows)),
    }
    version = register_model_version(model_info, model_name, version_tags)
    mlflow.set_tag("model_version", version)
    return version
