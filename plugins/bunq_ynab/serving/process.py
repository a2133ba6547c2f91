"""Start and stop an MLServer process from the serving virtualenv, for tests and the local demo.

In production MLServer is a service of its own. This helper runs it the same way on one
machine: with a model repository folder and ``MLFLOW_TRACKING_URI`` in its environment. It gets
its own process group, so stopping it also stops any inference workers it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from bunq_ynab.paths import REPO_ROOT
from bunq_ynab.serving.mlserver import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_METRICS_PORT,
    write_server_settings,
)

log = logging.getLogger(__name__)

SERVING_VENV = REPO_ROOT / ".venv-serving"
MLSERVER_BIN = SERVING_VENV / "bin" / "mlserver"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class MLServerProcess:
    """A running ``mlserver start`` process; use it as a context manager or call :meth:`stop`."""

    def __init__(self, process: subprocess.Popen, base_url: str, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """Send SIGTERM to the process group and wait; SIGKILL it after ``timeout`` seconds."""
        if not self.is_running():
            return
        # The process leads its own group (start_new_session), so its group id is its pid.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("MLServer %d did not stop within %.0f s; killing it", self.pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        log.info("MLServer %d stopped with exit code %s", self.pid, self.process.returncode)

    def __enter__(self) -> MLServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_mlserver(
    repository: str | Path,
    tracking_uri: str,
    *,
    http_port: int = DEFAULT_HTTP_PORT,
    grpc_port: int = DEFAULT_GRPC_PORT,
    metrics_port: int = DEFAULT_METRICS_PORT,
    parallel_workers: int = 0,
    mlserver_bin: str | Path = MLSERVER_BIN,
    log_path: str | Path | None = None,
    startup_timeout: float = 120.0,
) -> MLServerProcess:
    """Write ``settings.json``, start ``mlserver start <repository>`` and wait until it is ready.

    The server listens on 127.0.0.1 only. Its output goes to ``log_path`` (default
    ``<repository>/mlserver.log``). ``PYTHONPATH`` is removed from its environment, so models
    must load without this repository's code.

    Raises:
        FileNotFoundError: ``mlserver_bin`` does not exist.
        RuntimeError: The process exited, or was not ready within ``startup_timeout`` seconds.
    """
    mlserver_bin = Path(mlserver_bin)
    if not mlserver_bin.is_file():
        raise FileNotFoundError(
            f"MLServer not found at {mlserver_bin}; create the serving virtualenv with "
            "`python -m venv .venv-serving && .venv-serving/bin/pip install -r "
            "requirements-serving.txt`"
        )
    repository = Path(repository).resolve()
    repository.mkdir(parents=True, exist_ok=True)
    write_server_settings(
        repository,
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        parallel_workers=parallel_workers,
    )
    log_path = Path(log_path) if log_path is not None else repository / "mlserver.log"
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    environment["MLFLOW_TRACKING_URI"] = tracking_uri
    # mlflow.set_registry_uri exports MLFLOW_REGISTRY_URI, so a process that trained against
    # another store earlier would hand MLServer that store's registry; pin both to one store.
    environment["MLFLOW_REGISTRY_URI"] = tracking_uri
    environment["PATH"] = f"{mlserver_bin.parent}{os.pathsep}{environment.get('PATH', '')}"

    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [str(mlserver_bin), "start", str(repository)],
            cwd=repository,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = MLServerProcess(process, f"http://127.0.0.1:{http_port}", log_path)
    log.info("Started MLServer %d on port %d for %s", server.pid, http_port, repository)
    try:
        _wait_until_healthy(server, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_healthy(server: MLServerProcess, timeout: float) -> None:
    url = f"{server.base_url}/v2/health/ready"
    deadline = time.monotonic() + timeout
    while True:
        if not server.is_running():
            raise RuntimeError(
                f"MLServer exited with code {server.process.returncode} during startup:\n"
                f"{server.log_tail()}"
            )
        try:
            if requests.get(url, timeout=2.0).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"MLServer was not ready after {timeout:.0f} s:\n{server.log_tail()}"
            )
        time.sleep(0.5)
