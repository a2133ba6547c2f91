#!/usr/bin/env bash
# Create the two Python environments this project needs:
#   .venv          Airflow, the DAGs' library, MLflow and the test tools
#   .venv-serving  MLServer, which cannot share an environment with Airflow 3.3
# Safe to rerun: each environment is rebuilt only when its requirement files changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3

stamp() { cat "$@" | sha256sum | cut -c1-16; }

install_airflow_env() {
    local want; want=$(stamp requirements.txt requirements-bunq.txt requirements-dev.txt)
    if [[ -f .venv/.installed && "$(cat .venv/.installed)" == "$want" ]]; then
        return
    fi
    echo "Installing the Airflow environment in .venv (a few minutes the first time)"
    "$python" -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
    .venv/bin/pip install --quiet --no-deps -r requirements-bunq.txt
    .venv/bin/python -c "import bunq, ynab, urllib3; assert urllib3.__version__.startswith('2')"
    echo "$want" > .venv/.installed
}

install_serving_env() {
    if [[ ! -f requirements-serving.txt ]]; then
        return
    fi
    local want; want=$(stamp requirements-serving.txt)
    if [[ -f .venv-serving/.installed && "$(cat .venv-serving/.installed)" == "$want" ]]; then
        return
    fi
    echo "Installing the MLServer environment in .venv-serving"
    "$python" -m venv .venv-serving
    .venv-serving/bin/pip install --quiet --upgrade pip
    .venv-serving/bin/pip install --quiet -r requirements-serving.txt
    echo "$want" > .venv-serving/.installed
}

install_airflow_env
install_serving_env
