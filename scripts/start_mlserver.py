"""Start MLServer from ``.venv-serving`` for the category models and keep it running.

It writes the server's ``settings.json`` into the model folder, starts ``mlserver start`` with
the MLflow store in its environment, waits until it is ready and stays in the foreground until
Ctrl+C or SIGTERM. Use the same values as the ``bunq_ynab_settings`` Variable:

    .venv/bin/python scripts/start_mlserver.py \\
        --repository "$AIRFLOW_HOME/mlserver" \\
        --tracking-uri "sqlite:///$AIRFLOW_HOME/mlflow/mlflow.db"
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "plugins"))


def main() -> int:
    from bunq_ynab.serving.process import (
        DEFAULT_GRPC_PORT,
        DEFAULT_HTTP_PORT,
        DEFAULT_METRICS_PORT,
        start_mlserver,
    )

    airflow_home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    parser = argparse.ArgumentParser(description="Serve the category models with MLServer")
    parser.add_argument("--repository", default=str(airflow_home / "mlserver"))
    parser.add_argument(
        "--tracking-uri", default=f"sqlite:///{airflow_home / 'mlflow' / 'mlflow.db'}"
    )
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT)
    parser.add_argument("--grpc-port", type=int, default=DEFAULT_GRPC_PORT)
    parser.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    server = start_mlserver(
        args.repository,
        args.tracking_uri,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        parallel_workers=1,
    )
    print(f"MLServer is ready at {server.base_url}; its log is {server.log_path}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(1.0) and server.is_running():
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
