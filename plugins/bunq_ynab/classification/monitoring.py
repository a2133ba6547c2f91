"""Live accuracy: how often the stored sync-time predictions match the category the user kept."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from bunq_ynab.classification.dataset import IMPORT_ID_PREFIX
from bunq_ynab.classification.registry import registered_model_name
from bunq_ynab.storage import Database

log = logging.getLogger(__name__)

LIVE_ACCURACY_TITLE = "live accuracy"


@dataclasses.dataclass
class LiveAccuracy:
    """Predictions of one model version whose YNAB transaction the user has approved."""

    model_version: str
    predictions: int
    correct: int  # the predicted category is the transaction's category now
    accuracy: float
    accepted: int  # predictions at or above the sync threshold, so sent to YNAB
    accepted_correct: int
    accepted_accuracy: float | None  # None when no prediction was accepted


def live_accuracy(
    db: Database,
    plan_id: str,
    *,
    tracking_uri: str | None = None,
    artifact_location: str | Path | None = None,
) -> dict[str, LiveAccuracy]:
    """Return live accuracy per model version of a plan, and log it to MLflow if asked.

    With ``tracking_uri`` and ``artifact_location`` set, one run in experiment
    "live accuracy [<plan name>]" gets the metrics ``v<version>_accuracy``,
    ``v<version>_predictions`` and ``v<version>_accepted_accuracy``, and each model version gets
    the tags ``live_accuracy`` and ``live_predictions``.
    """
    model_name = registered_model_name(plan_id)
    rows = db.query(
        "prediction_live_accuracy",
        {"plan_id": plan_id, "model_name": model_name, "import_id_prefix": IMPORT_ID_PREFIX},
    )
    result: dict[str, LiveAccuracy] = {}
    for row in sorted(rows, key=lambda row: _version_order(row["model_version"])):
        result[row["model_version"]] = LiveAccuracy(
            model_version=row["model_version"],
            predictions=row["predictions"],
            correct=row["correct"],
            accuracy=row["correct"] / row["predictions"],
            accepted=row["accepted"],
            accepted_correct=row["accepted_correct"],
            accepted_accuracy=(
                row["accepted_correct"] / row["accepted"] if row["accepted"] else None
            ),
        )
    log.info("Live accuracy of %s: %s", model_name, result)
    if tracking_uri is not None:
        if artifact_location is None:
            raise ValueError("artifact_location is required when tracking_uri is set")
        _log_live_accuracy(db, plan_id, model_name, result, tracking_uri, artifact_location)
    return result


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


def _log_live_accuracy(
    db: Database,
    plan_id: str,
    model_name: str,
    result: dict[str, LiveAccuracy],
    tracking_uri: str,
    artifact_location: str | Path,
) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    from bunq_ynab.classification.tracking import plan_experiment, use_tracking_uri

    client = use_tracking_uri(tracking_uri)
    plans = db.query("training_plan", {"plan_id": plan_id})
    plan_name = plans[0]["name"] if plans else plan_id
    experiment_id = plan_experiment(
        client, LIVE_ACCURACY_TITLE, plan_id, plan_name, artifact_location
    )
    metrics: dict[str, float] = {}
    for version, accuracy in result.items():
        metrics[f"v{version}_accuracy"] = accuracy.accuracy
        metrics[f"v{version}_predictions"] = accuracy.predictions
        if accuracy.accepted_accuracy is not None:
            metrics[f"v{version}_accepted_accuracy"] = accuracy.accepted_accuracy
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name="live accuracy",
        tags={"plan_id": plan_id, "plan_name": plan_name},
    ):
        mlflow.log_metrics(metrics)
        mlflow.log_dict(
            {version: dataclasses.asdict(value) for version, value in result.items()},
            "live_accuracy.json",
        )
    for version, accuracy in result.items():
        try:
            client.set_model_version_tag(
                model_name, version, "live_accuracy", f"{accuracy.accuracy:.4f}"
            )
            client.set_model_version_tag(
                model_name, version, "live_predictions", str(accuracy.predictions)
            )
        except MlflowException as error:  # the version may have been deleted from the registry
            log.warning("Could not tag %s v%s with live accuracy: %s", model_name, version, error)
