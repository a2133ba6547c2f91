"""MLflow plumbing shared by training, promotion and monitoring: URIs and per-plan experiments.

MLflow's fluent API keeps the tracking URI and the active run in process-wide state. Every entry
point here sets the URI it was given and passes experiment ids explicitly, so training several
plans in one process never lands a run in another plan's experiment.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.entities import LifecycleStage
from mlflow.tracking import MlflowClient


def artifact_root_uri(artifact_location: str | Path) -> str:
    """Return a folder path or URI as a URI; a relative path is resolved against the CWD now."""
    text = str(artifact_location)
    if "://" in text:
        return text.rstrip("/")
    return Path(text).expanduser().resolve().as_uri()


def use_tracking_uri(tracking_uri: str) -> MlflowClient:
    """Point MLflow's fluent API and model registry at ``tracking_uri``; return a client for it.

    This sets process-wide MLflow state and leaves it set, as ``mlflow.set_tracking_uri`` does.
    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def plan_experiment(
    client: MlflowClient,
    title: str,
    plan_id: str,
    plan_name: str,
    artifact_location: str | Path,
) -> str:
    """Return the id of experiment "<title> [<plan name>]", creating or restoring it.

    Artifacts go to ``<artifact_location>/<plan id>/<title with dashes>``. When another plan
    already has an experiment of that name, the plan id is added to the name.
    """
    name = f"{title} [{plan_name}]"
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.tags.get("plan_id") != plan_id:
        name = f"{title} [{plan_name} {plan_id}]"
        experiment = client.get_experiment_by_name(name)
    if experiment is None:
        folder = title.replace(" ", "-")
        return client.create_experiment(
            name,
            artifact_location=f"{artifact_root_uri(artifact_location)}/{plan_id}/{folder}",
            tags={"plan_id": plan_id, "plan_name": plan_name},
        )
    if experiment.lifecycle_stage == LifecycleStage.DELETED:
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id
