"""Airflow's plugin loader must not import the library's modules under their bare names."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from airflow import plugins_manager

plugins_manager.ensure_plugins_loaded()
print(sorted(plugins_manager.get_import_errors()))
names = ("queue", "settings", "steps", "tasks", "client", "extract")
shadowed = [
    name for name in names
    if "bunq_ynab" in (getattr(sys.modules.get(name), "__file__", None) or "")
]
print(shadowed)
import bunq_ynab.sync.queue
"""


def test_plugin_loader_leaves_library_alone():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    import_errors, shadowed = result.stdout.strip().splitlines()[-2:]
    assert import_errors == "[]"
    assert shadowed == "[]"
