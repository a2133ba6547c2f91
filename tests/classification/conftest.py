"""Fixtures of the classification tests: their own Postgres databases and MLflow stores."""

from __future__ import annotations

import pytest

from tests.classification.support import temporary_database


@pytest.fixture
def ml_db():
    """An empty, migrated database of this test alone."""
    with temporary_database() as database:
        yield database


@pytest.fixture
def mlflow_store(tmp_path):
    """A fresh MLflow tracking URI (SQLite) and artifact folder."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts"
