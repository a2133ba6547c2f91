"""MLServer glue: model repository files, V2 repository and inference calls, deployment.

MLServer runs in its own virtualenv (``.venv-serving``) because its FastAPI pin clashes with
Airflow's, so this side talks to it over HTTP only. Each plan's model is one folder
``<repository>/<model name>/`` with a ``model-settings.json`` for the MLflow runtime. The
settings pin one registry version (``models:/<name>/<version>``) rather than the ``champion``
alias, so a restarted MLServer serves exactly the version that was deployed and smoke-tested, and
the response's ``model_version`` names it. The MLServer process resolves that URI through its own
``MLFLOW_TRACKING_URI``.

MLServer does not watch the repository, so :func:`deploy_champion` calls
``POST /v2/repository/models/{name}/load``, which swaps the model in without a restart.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from bunq_ynab.classification.records import EXAMPLE_RECORDS, FEATURE_COLUMNS

log = logging.getLogger(__name__)

# Airflow's API server uses 8080, MLServer's own default, so MLServer moves to 8085-8087.
DEFAULT_HTTP_PORT = 8085
DEFAULT_GRPC_PORT = 8086
DEFAULT_METRICS_PORT = 8087
SERVER_SETTINGS_FILE = "settings.json"
MODEL_SETTINGS_FILE = "model-settings.json"
MLFLOW_RUNTIME = "mlserver_mlflow.MLflowRuntime"
DEFAULT_LOAD_TIMEOUT = 300.0  # seconds; loading downloads the artifacts and unpickles the model


class MLServerError(RuntimeError):
    """A request to MLServer failed or returned a response that cannot be used."""


class MLServerUnavailable(MLServerError):
    """MLServer could not be reached, or did not respond in time."""


class ModelNotFound(MLServerError):
    """MLServer has no ready model of that name."""


@dataclasses.dataclass
class BatchPrediction:
    """One inference response: the model version and (category_id, probability) per record."""

    model_version: str | None
    predictions: list[tuple[str, float]]


@dataclasses.dataclass
class DeploymentResult:
    """Outcome of :func:`deploy_champion`."""

    model_name: str
    requested_version: str | None  # the champion when deployment started
    served_version: str | None  # what MLServer serves afterwards; None when nothing is
    rolled_back: bool
    error: str | None  # why the requested version was not deployed


def write_server_settings(
    repository: str | Path,
    *,
    host: str = "127.0.0.1",
    http_port: int = DEFAULT_HTTP_PORT,
    grpc_port: int = DEFAULT_GRPC_PORT,
    metrics_port: int = DEFAULT_METRICS_PORT,
    parallel_workers: int = 0,
) -> Path:
    """Write MLServer's ``settings.json`` into the repository folder; return its path.

    ``parallel_workers`` 0 runs inference in the server process. MLServer 1.7.1 with its default
    of 1 needs uvloop 0.21.0, because with uvloop 0.22 or later every inference worker dies with
    "There is no current event loop" and restarts in a loop.
    """
    if parallel_workers not in (0, 1):
        raise ValueError(f"parallel_workers must be 0 or 1, got {parallel_workers}")
    repository = Path(repository).resolve()
    settings = {
        "host": host,
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": parallel_workers,
        "model_repository_root": str(repository),
        "load_models_at_startup": True,
        "debug": False,
    }
    return _write_json(repository / SERVER_SETTINGS_FILE, settings)


def model_settings_path(repository: str | Path, model_name: str) -> Path:
    return Path(repository) / model_name / MODEL_SETTINGS_FILE


def write_model_settings(repository: str | Path, model_name: str, version: str) -> Path:
    """Write the plan model's ``model-settings.json`` pinned to one registry version."""
    settings = {
        "name": model_name,
        "implementation": MLFLOW_RUNTIME,
        "parameters": {"uri": f"models:/{model_name}/{version}", "version": str(version)},
    }
    return _write_json(model_settings_path(repository, model_name), settings)


def read_model_settings(repository: str | Path, model_name: str) -> dict[str, Any] | None:
    path = model_settings_path(repository, model_name)
    return json.loads(path.read_text()) if path.is_file() else None


def _write_json(path: Path, content: Mapping[str, Any]) -> Path:
    """Write JSON through a temporary file and a rename, so MLServer never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.replace(handle.name, path)
    return path


def _request(method: str, url: str, *, timeout: float, **kwargs: Any) -> requests.Response:
    try:
        return requests.request(method, url, timeout=timeout, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise MLServerUnavailable(f"MLServer at {url} is unavailable: {error}") from error


def load_model(base_url: str, model_name: str, *, timeout: float = DEFAULT_LOAD_TIMEOUT) -> None:
    """Ask MLServer to (re)load a model from its repository folder; the old one is swapped out."""
    url = f"{base_url.rstrip('/')}/v2/repository/models/{model_name}/load"
    response = _request("POST", url, timeout=timeout)
    if response.status_code != 200:
        raise MLServerError(
            f"loading {model_name} failed with HTTP {response.status_code}: {response.text[:500]}"
        )


def unload_model(base_url: str, model_name: str, *, timeout: float = 30.0) -> None:
    url = f"{base_url.rstrip('/')}/v2/repository/models/{model_name}/unload"
    response = _request("POST", url, timeout=timeout)
    if response.status_code not in (200, 404):
        raise MLServerError(
            f"unloading {model_name} failed with HTTP {response.status_code}: {response.text[:500]}"
        )


def wait_until_ready(
    base_url: str,
    model_name: str,
    *,
    version: str | None = None,
    timeout: float = 60.0,
    interval: float = 0.5,
) -> None:
    """Poll the model's ready endpoint until it returns 200.

    Raises:
        MLServerError: The model (or that version of it) was not ready within ``timeout`` seconds.
    """
    path = f"/v2/models/{model_name}"
    if version is not None:
        path += f"/versions/{version}"
    url = f"{base_url.rstrip('/')}{path}/ready"
    deadline = time.monotonic() + timeout
    last = "no response"
    while True:
        try:
            response = requests.get(url, timeout=min(5.0, timeout))
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except (requests.ConnectionError, requests.Timeout) as error:
            last = str(error)
        if time.monotonic() >= deadline:
            raise MLServerError(f"{model_name} was not ready after {timeout:.0f} s ({last})")
        time.sleep(interval)


def encode_request(records: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Build one V2 inference request with one BYTES input per feature column.

    The body is plain JSON rather than ``PandasCodec.encode_request``, which fails on pandas 3
    string columns in MLServer 1.7.1; the ``pd`` content type makes MLServer decode the inputs
    into a DataFrame again.
    """
    count = len(records)
    inputs = []
    for column in FEATURE_COLUMNS:
        inputs.append(
            {
                "name": column,
                "shape": [count, 1],
                "datatype": "BYTES",
                "parameters": {"content_type": "str"},
                "data": [str(record.get(column) or "") for record in records],
            }
        )
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}


def infer(
    base_url: str,
    model_name: str,
    records: Sequence[Mapping[str, str]],
    *,
    timeout: float = 10.0,
) -> BatchPrediction:
    """Send all records in one V2 inference request and decode the response.

    Raises:
        MLServerUnavailable: MLServer could not be reached or timed out.
        ModelNotFound: MLServer has no model of that name.
        MLServerError: Any other failed request or unusable response.
    """
    if not records:
        return BatchPrediction(model_version=None, predictions=[])
    url = f"{base_url.rstrip('/')}/v2/models/{model_name}/infer"
    response = _request("POST", url, timeout=timeout, json=encode_request(records))
    if response.status_code == 404:
        raise ModelNotFound(f"MLServer has no model {model_name}: {response.text[:300]}")
    if response.status_code != 200:
        raise MLServerError(
            f"inference on {model_name} failed with HTTP {response.status_code}: "
            f"{response.text[:500]}"
        )
    return _decode_response(response.json(), model_name, len(records))


def _decode_response(body: Mapping[str, Any], model_name: str, count: int) -> BatchPrediction:
    outputs = {output.get("name"): output for output in body.get("outputs", [])}
    missing = {"category_id", "probability"} - outputs.keys()
    if missing:
        raise MLServerError(
            f"response of {model_name} lacks the outputs {sorted(missing)}; got {sorted(outputs)}"
        )
    categories = list(outputs["category_id"].get("data", []))
    probabilities = list(outputs["probability"].get("data", []))
    if len(categories) != count or len(probabilities) != count:
        raise MLServerError(
            f"response of {model_name} has {len(categories)} categories and "
            f"{len(probabilities)} probabilities for {count} records"
        )
    version = body.get("model_version")
    return BatchPrediction(
        model_version=str(version) if version is not None else None,
        predictions=[
            (str(category), float(probability))
            for category, probability in zip(categories, probabilities, strict=True)
        ],
    )


def predict_batch(
    base_url: str,
    model_name: str,
    records: Sequence[Mapping[str, str]],
    timeout: float = 10.0,
) -> list[tuple[str, float]]:
    """Return (category_id, probability) per record, from one V2 inference request.

    Raises the errors of :func:`infer`.
    """
    return infer(base_url, model_name, records, timeout=timeout).predictions


def deploy_champion(
    repository: str | Path,
    base_url: str,
    tracking_uri: str,
    model_name: str,
    *,
    smoke_records: Sequence[Mapping[str, str]] = EXAMPLE_RECORDS,
    timeout: float = DEFAULT_LOAD_TIMEOUT,
) -> DeploymentResult:
    """Serve the registry's ``champion`` version of a model in a running MLServer.

    Steps: write the model settings, ``/load``, wait until the version is ready, and send a smoke
    inference. If any step fails, ``champion`` moves back to ``previous``, which is loaded again.
    When there is no previous version, the model's settings are removed and the model unloaded,
    so the sync predicts nothing instead of using a broken model.

    Raises:
        LookupError: The model has no ``champion`` alias.
        MLServerError: The rollback to ``previous`` failed as well.
    """
    from bunq_ynab.classification.registry import (
        CHAMPION_ALIAS,
        PREVIOUS_ALIAS,
        alias_version,
        rollback,
    )
    from bunq_ynab.classification.tracking import use_tracking_uri

    client = use_tracking_uri(tracking_uri)
    champion = alias_version(client, model_name, CHAMPION_ALIAS)
    if champion is None:
        raise LookupError(f"{model_name} has no {CHAMPION_ALIAS!r} version to deploy")
    try:
        _serve_version(repository, base_url, model_name, champion, smoke_records, timeout)
        client.set_model_version_tag(model_name, champion, "deployment", "served")
        return DeploymentResult(model_name, champion, champion, rolled_back=False, error=None)
    except MLServerError as error:
        failure = str(error)
        log.error("Deploying %s v%s failed: %s", model_name, champion, failure)
        client.set_model_version_tag(model_name, champion, "deployment", f"failed: {failure}")

    previous = alias_version(client, model_name, PREVIOUS_ALIAS)
    if previous is None or previous == champion:
        log.error("No previous version of %s to roll back to; unloading it", model_name)
        model_settings_path(repository, model_name).unlink(missing_ok=True)
        try:
            unload_model(base_url, model_name)
        except MLServerError as error:
            log.warning("Unloading %s failed: %s", model_name, error)
        return DeploymentResult(model_name, champion, None, rolled_back=False, error=failure)

    rollback(tracking_uri, model_name)
    _serve_version(repository, base_url, model_name, previous, smoke_records, timeout)
    log.warning("Rolled %s back to v%s after v%s failed", model_name, previous, champion)
    return DeploymentResult(model_name, champion, previous, rolled_back=True, error=failure)


def _serve_version(
    repository: str | Path,
    base_url: str,
    model_name: str,
    version: str,
    smoke_records: Sequence[Mapping[str, str]],
    timeout: float,
) -> None:
    write_model_settings(repository, model_name, version)
    load_model(base_url, model_name, timeout=timeout)
    wait_until_ready(base_url, model_name, version=version, timeout=min(timeout, 60.0))
    smoke = infer(base_url, model_name, smoke_records, timeout=min(timeout, 30.0))
    if smoke.model_version != str(version):
        raise MLServerError(
            f"smoke inference returned model version {smoke.model_version}, expected {version}"
        )
    log.info("MLServer serves %s v%s; smoke inference: %s", model_name, version, smoke.predictions)
