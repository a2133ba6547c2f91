"""Fixtures of the serving tests. Tests marked ``serving`` need MLServer in .venv-serving."""

from __future__ import annotations

import pytest

from bunq_ynab.serving.process import MLSERVER_BIN
from tests.classification.support import temporary_database


def pytest_collection_modifyitems(config, items):
    if MLSERVER_BIN.is_file():
        return
    skip = pytest.mark.skip(
        reason=f"MLServer is not installed at {MLSERVER_BIN}; run scripts/install.sh"
    )
    for item in items:
        if "serving" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def ml_db():
    """An empty, migrated database of this test alone."""
    with temporary_database() as database:
        yield database
