"""Scores and report artifacts for category predictions on a held-out split."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
)


def kappa(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Return Cohen's kappa, or 0.0 where it is undefined (a single class in both sequences)."""
    value = cohen_kappa_score(list(y_true), list(y_pred))
    return 0.0 if math.isnan(value) else float(value)


def score(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Return accuracy, macro-F1 and Cohen's kappa."""
    y_true, y_pred = list(y_true), list(y_pred)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "kappa": kappa(y_true, y_pred),
    }


def coverage_at(probabilities: Sequence[float], threshold: float) -> float:
    """Return the share of predictions whose probability reaches ``threshold``."""
    if not probabilities:
        return 0.0
    return float(np.mean(np.asarray(probabilities) >= threshold))


def write_classification_report(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    category_names: Mapping[str, str],
    directory: Path,
) -> list[Path]:
    """Write the per-category precision, recall and F1 as text and JSON; return both paths."""
    labels = _sorted_labels(y_true, y_pred, category_names)
    names = _display_names(labels, category_names)
    arguments = dict(labels=labels, target_names=names, zero_division=0)
    text_path = directory / "classification_report.txt"
    text_path.write_text(classification_report(list(y_true), list(y_pred), **arguments))
    json_path = directory / "classification_report.json"
    report = classification_report(list(y_true), list(y_pred), output_dict=True, **arguments)
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return [text_path, json_path]


def write_confusion_matrix(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    category_names: Mapping[str, str],
    path: Path,
) -> Path:
    """Draw the confusion matrix (rows: true category, columns: predicted) as a PNG."""
    from matplotlib.figure import Figure

    labels = _sorted_labels(y_true, y_pred, category_names)
    names = _display_names(labels, category_names)
    matrix = confusion_matrix(list(y_true), list(y_pred), labels=labels)

    size = max(4.0, 0.45 * len(labels) + 2.5)
    figure = Figure(figsize=(size + 1.5, size))
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(len(labels)), names, rotation=90, fontsize=8)
    axes.set_yticks(range(len(labels)), names, fontsize=8)
    axes.set_xlabel("predicted category")
    axes.set_ylabel("true category")
    axes.set_title("Confusion matrix on the test split")
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(len(labels)):
        for column in range(len(labels)):
            if matrix[row, column]:
                colour = "white" if matrix[row, column] > threshold else "black"
                axes.text(
                    column,
                    row,
                    str(matrix[row, column]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def _sorted_labels(
    y_true: Sequence[str], y_pred: Sequence[str], category_names: Mapping[str, str]
) -> list[str]:
    return sorted(
        set(y_true) | set(y_pred), key=lambda label: (category_names.get(label, label), label)
    )


def _display_names(labels: Sequence[str], category_names: Mapping[str, str]) -> list[str]:
    """Return category names, with the id appended where two categories share a name."""
    names = [category_names.get(label, label) for label in labels]
    return [
        name if names.count(name) == 1 else f"{name} [{label}]"
        for name, label in zip(names, labels, strict=True)
    ]
