"""The MLflow pyfunc model that MLServer serves: payment records in, category and probability out.

``predict`` returns a dict of numpy arrays, not a DataFrame, because MLServer 1.7.1 cannot encode
pandas 3 string columns in a response. MLServer's MLflow runtime turns the dict into two outputs:
``category_id`` (BYTES) and ``probability`` (FP64), one element per input row.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from bunq_ynab.classification.features import to_frame


class CategoryModel(mlflow.pyfunc.PythonModel):
    """A fitted scikit-learn pipeline and the names of the categories it predicts."""

    def __init__(self, pipeline: Any, category_names: dict[str, str]) -> None:
        self.pipeline = pipeline
        self.category_names = dict(category_names)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """Return the most likely category id of each record and its probability."""
        frame = to_frame(model_input)
        if len(frame) == 0:
            return {
                "category_id": np.array([], dtype=object),
                "probability": np.array([], dtype=np.float64),
            }
        probabilities = self.pipeline.predict_proba(frame)
        best = probabilities.argmax(axis=1)
        classes = np.asarray(self.pipeline.classes_, dtype=object)
        return {
            "category_id": classes[best],
            "probability": probabilities[np.arange(len(best)), best].astype(np.float64),
        }
