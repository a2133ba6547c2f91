"""Sync-time category prediction: one MLServer request per plan, every prediction stored.

A prediction is advice. When MLServer is down, has no model for the plan, or returns something
unusable, every payment gets no category and the sync goes on. This module logs that and does
not raise for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from bunq_ynab.classification.records import DEFAULT_TIMEZONE, payment_features
from bunq_ynab.classification.registry import registered_model_name
from bunq_ynab.serving.mlserver import MLServerError, ModelNotFound, infer
from bunq_ynab.storage import Database, load_query

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
DEFAULT_TIMEOUT = 10.0  # seconds for the one inference request


class Prediction(NamedTuple):
    """The category to send to YNAB, or None when the model is unsure or unavailable."""

    category_id: str | None  # None below the threshold or without a model
    probability: float | None  # the top category's probability; None without a model
    model_version: str | None  # registry version that made the prediction; None without a model


def predict_categories(
    db: Database,
    plan_id: str,
    payments_rows: Sequence[Mapping[str, Any]],
    mlserver_url: str,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tz: str | dt.tzinfo = DEFAULT_TIMEZONE,
) -> dict[int, Prediction]:
    """Predict the YNAB category of ``bunq_payment`` rows of one plan.

    All rows go to MLServer in one request. A probability below ``threshold`` leaves the category
    None but keeps the probability and version. Every prediction MLServer returns, accepted or
    not, is stored in the ``prediction`` table.

    Returns:
        A Prediction per payment id; all categories are None when no model returned predictions.
    """
    if not payments_rows:
        return {}
    payment_ids = [int(row["id"]) for row in payments_rows]
    model_name = registered_model_name(plan_id)
    records = [payment_features(row, tz) for row in payments_rows]
    try:
        batch = infer(mlserver_url, model_name, records, timeout=timeout)
    except ModelNotFound:
        log.warning(
            "No model for plan %s in MLServer (%s); %d payments get no category",
            plan_id,
            model_name,
            len(payment_ids),
        )
        return _without_model(payment_ids)
    except MLServerError as error:
        log.warning(
            "Category prediction for plan %s failed, %d payments get no category: %s",
            plan_id,
            len(payment_ids),
            error,
        )
        return _without_model(payment_ids)
    if batch.model_version is None:
        log.warning("MLServer response for %s has no model version", model_name)

    result: dict[int, Prediction] = {}
    stored: list[dict[str, Any]] = []
    for payment_id, (category_id, probability) in zip(payment_ids, batch.predictions, strict=True):
        accepted = probability >= threshold
        result[payment_id] = Prediction(
            category_id if accepted else None, probability, batch.model_version
        )
        stored.append(
            {
                "payment_id": payment_id,
                "plan_id": plan_id,
                "model_name": model_name,
                "model_version": batch.model_version or "unknown",
                "category_id": category_id,
                "probability": probability,
                "threshold": threshold,
                "accepted": accepted,
            }
        )
    db.execute_many(load_query("prediction_insert"), stored)
    accepted_count = sum(1 for prediction in result.values() if prediction.category_id)
    log.info(
        "Predicted %d payments of plan %s with %s v%s: %d at or above threshold %.2f",
        len(result),
        plan_id,
        model_name,
        batch.model_version,
        accepted_count,
        threshold,
    )
    return result


def _without_model(payment_ids: Sequence[int]) -> dict[int, Prediction]:
    return {payment_id: Prediction(None, None, None) for payment_id in payment_ids}
