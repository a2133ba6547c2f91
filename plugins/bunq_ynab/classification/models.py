"""Candidate classifiers, their parameter grids, and the payee baseline every model must beat."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline

from bunq_ynab.classification.features import RecordFrame, build_features, to_frame
from bunq_ynab.classification.records import clean_counterparty_name

CANDIDATES: tuple[str, ...] = ("logistic_regression", "random_forest", "complement_nb")
GRID_NAMES: tuple[str, ...] = ("small", "full")

# Parameter grids per classifier, as GridSearchCV param_grid over the pipeline's steps.
GRIDS: dict[str, dict[str, dict[str, list[Any]]]] = {
    "small": {
        "logistic_regression": {"classifier__C": [0.3, 1.0, 3.0]},
        "random_forest": {"classifier__min_samples_leaf": [1, 2]},
        "complement_nb": {"classifier__alpha": [0.1, 0.3, 1.0]},
    },
    "full": {
        "logistic_regression": {
            "classifier__C": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
            "classifier__class_weight": [None, "balanced"],
        },
        # 12 combinations: 300 trees and a depth limit took two thirds of a 9-minute search on
        # 10,000 payments (scripts/benchmark_train.py) without a better score.
        "random_forest": {
            "classifier__n_estimators": [100, 200],
            "classifier__min_samples_leaf": [1, 2, 4],
            "classifier__class_weight": [None, "balanced_subsample"],
        },
        "complement_nb": {
            "classifier__alpha": [0.01, 0.03, 0.1, 0.3, 1.0],
            "classifier__norm": [False, True],
        },
    },
}


def make_classifier(name: str, seed: int) -> BaseEstimator:
    """Return a candidate classifier with scikit-learn's default settings.

    The exceptions: logistic regression gets more iterations because the lbfgs default of 100
    often stops before converging on sparse text features, and random forests use one core so
    that cross-validation timings stay comparable.
    """
    if name == "logistic_regression":
        return LogisticRegression(max_iter=2000)
    if name == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1)
    if name == "complement_nb":
        return ComplementNB()
    raise ValueError(f"unknown classifier {name!r}; expected one of {', '.join(CANDIDATES)}")


def build_pipeline(classifier_name: str, seed: int) -> Pipeline:
    """Return the unfitted pipeline: records to DataFrame, features, classifier."""
    return Pipeline(
        [
            ("records", RecordFrame()),
            ("features", build_features()),
            ("classifier", make_classifier(classifier_name, seed)),
        ]
    )


def param_grid(classifier_name: str, grid: str) -> dict[str, list[Any]]:
    """Return the parameter grid of one classifier for the grid size "small" or "full"."""
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; expected one of {', '.join(GRID_NAMES)}")
    if classifier_name not in GRIDS[grid]:
        raise ValueError(f"no {grid} grid for classifier {classifier_name!r}")
    return GRIDS[grid][classifier_name]


def payee_key(record: dict[str, str]) -> str | None:
    """Return what identifies the payee of a record: the cleaned name, else the IBAN."""
    name = clean_counterparty_name(record.get("counterparty_name", ""))
    if name:
        return f"name:{name}"
    iban = "".join(record.get("counterparty_iban", "").split()).upper()
    return f"iban:{iban}" if iban else None


class LastCategoryBaseline(ClassifierMixin, BaseEstimator):
    """Predict the category the payee had the last time it was seen in training.

    This is what YNAB itself does for a known payee. Unknown payees get the most frequent training
    category (the alphabetically first one on a tie).
    """

    def fit(self, X, y):
        frame = to_frame(X)
        labels = list(y)
        order = sorted(range(len(labels)), key=lambda i: frame.at[i, "created_local"])
        self.last_category_: dict[str, Any] = {}
        for i in order:
            key = payee_key(frame.iloc[i].to_dict())
            if key is not None:
                self.last_category_[key] = labels[i]
        counts = Counter(labels)
        self.fallback_ = min(counts, key=lambda label: (-counts[label], str(label)))
        self.classes_ = np.array(sorted(counts, key=str), dtype=object)
        return self

    def predict(self, X):
        frame = to_frame(X)
        keys = [payee_key(record) for record in frame.to_dict("records")]
        return np.array(
            [self.last_category_.get(key, self.fallback_) for key in keys], dtype=object
        )
