"""User settings of the sync, read from the Airflow Variable ``bunq_ynab_settings`` (JSON).

Every key is optional, and :class:`Settings` defines the defaults. The Variable can also come
from the environment as ``AIRFLOW_VAR_BUNQ_YNAB_SETTINGS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SETTINGS_VARIABLE = "bunq_ynab_settings"

_CLEARED_VALUES = ("cleared", "uncleared", "reconciled")
_FLAG_COLORS = ("red", "orange", "yellow", "green", "blue", "purple", None)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the sync: transaction fields, connection ids and model locations."""

    start_date: dt.date | None = None  # payments created before it (local date) are skipped
    timezone: str = "Europe/Amsterdam"  # the calendar that YNAB dates are taken from
    cleared: str = "uncleared"
    approved: bool = False
    flag_color: str | None = "blue"
    bunq_conn_id: str = "bunq_default"
    ynab_conn_id: str = "ynab_default"
    db_conn_id: str = "bunq_ynab_db"
    batch_size: int = 20_000  # payments per YNAB POST; one POST per plan in a normal hourly run
    mlserver_url: str | None = None  # e.g. http://127.0.0.1:8085; None disables prediction
    prediction_threshold: float = 0.5  # below this probability the category stays empty
    # MLflow store and the MLServer model repository; None means a folder in $AIRFLOW_HOME.
    mlflow_tracking_uri: str | None = None
    mlflow_artifact_location: str | None = None
    mlserver_repository: str | None = None
    training_jobs: int = -1  # parallel jobs of the cross-validation; -1 uses every core

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"Invalid time zone {self.timezone!r} in settings") from error
        if self.cleared not in _CLEARED_VALUES:
            raise ValueError(f"Invalid cleared {self.cleared!r}: expected one of {_CLEARED_VALUES}")
        if self.flag_color not in _FLAG_COLORS:
            raise ValueError(
                f"Invalid flag_color {self.flag_color!r}: expected one of {_FLAG_COLORS}"
            )
        if self.batch_size < 1:
            raise ValueError(f"Invalid batch_size {self.batch_size}: must be at least 1")
        if not 0.0 <= self.prediction_threshold <= 1.0:
            raise ValueError(
                f"Invalid prediction_threshold {self.prediction_threshold}: must be in [0, 1]"
            )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{_airflow_home() / 'mlflow' / 'mlflow.db'}"

    def artifact_location(self) -> str:
        return self.mlflow_artifact_location or str(_airflow_home() / "mlflow" / "artifacts")

    def model_repository(self) -> str:
        return self.mlserver_repository or str(_airflow_home() / "mlserver")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Settings:
        """Build settings from a JSON-like mapping; unknown keys raise so typos surface."""
        values = dict(values or {})
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown settings keys {unknown}; known keys are {sorted(known)}")
        start_date = values.get("start_date")
        if isinstance(start_date, str):
            try:
                values["start_date"] = dt.date.fromisoformat(start_date)
            except ValueError as error:
                raise ValueError(
                    f"Invalid start_date {start_date!r}: expected YYYY-MM-DD"
                ) from error
        return cls(**values)

    @classmethod
    def from_airflow(cls) -> Settings:
        """Read the settings Variable; call this inside a task, never at DAG parse time."""
        from airflow.sdk import Variable

        return cls.from_mapping(Variable.get(SETTINGS_VARIABLE, default={}, deserialize_json=True))


def _airflow_home() -> Path:
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    return home
