"""Feature extraction of the category model: payment records in, one sparse matrix out.

Every block is non-negative (TF-IDF weights, one-hot indicators, scaled magnitudes), so
ComplementNB can use the same features as the linear and tree classifiers.

The fitted pipeline is pickled into the MLflow model with this module's code embedded (see
``experiments``), so the serving environment does not import it from the repository. Keep it
free of Airflow and database imports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer

from bunq_ynab.classification.records import (
    FEATURE_COLUMNS,
    clean_counterparty_name,
    clean_description,
)

EMPTY_TOKEN = "<none>"  # keeps a vocabulary non-empty when a field is empty in every record
# Upper edges in euros of the amount-size indicators; the last bin is open-ended.
AMOUNT_BIN_EDGES = (2.5, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
# log10(1 + 10,000 euros) is about 4, so magnitudes up to 10,000 euros scale into [0, 1].
_MAGNITUDE_SCALE = 4.0


def to_frame(records: pd.DataFrame | Iterable[Mapping[str, str]]) -> pd.DataFrame:
    """Return records as a DataFrame with exactly the feature columns, as object-dtype strings.

    Missing columns and missing values become "". Extra columns are dropped.
    """
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    columns = {}
    for column in FEATURE_COLUMNS:
        if column in frame.columns:
            values = frame[column].astype(object).where(frame[column].notna(), "")
            columns[column] = values.map(str).to_numpy(dtype=object)
        else:
            columns[column] = np.full(len(frame), "", dtype=object)
    return pd.DataFrame(columns, index=range(len(frame)))


class RecordFrame(TransformerMixin, BaseEstimator):
    """First pipeline step: accept a list of record dicts or a DataFrame, return ``to_frame``."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return to_frame(X)


def description_tokens(text: str) -> list[str]:
    """Split a description into words and word pairs, with digits removed beforehand."""
    words = [word for word in clean_description(text).split() if len(word) >= 2]
    pairs = [f"{first} {second}" for first, second in zip(words, words[1:], strict=False)]
    return words + pairs or [EMPTY_TOKEN]


def counterparty_tokens(name: str) -> list[str]:
    """Return the words of the cleaned counterparty name plus the whole cleaned name as a token."""
    cleaned = clean_counterparty_name(name)
    if not cleaned:
        return [EMPTY_TOKEN]
    return cleaned.split() + [f"name={cleaned}"]


def iban_tokens(iban: str) -> list[str]:
    """Return the IBAN as one categorical token, plus its bank code ("bank=BUNQ")."""
    normalised = "".join((iban or "").split()).upper()
    if not normalised:
        return [EMPTY_TOKEN]
    tokens = [normalised]
    if len(normalised) >= 8:
        tokens.append(f"bank={normalised[4:8]}")
    return tokens


def _parse_amount(value: str) -> Decimal:
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return Decimal(0)


class AmountFeatures(TransformerMixin, BaseEstimator):
    """Amount magnitude (log-scaled), sign indicators and amount-size indicators, per direction.

    Magnitude and size indicators are separate for money going out and coming in, so "a large
    inflow" and "a large outflow" are different features. Neither a linear model nor naive Bayes
    can combine sign and size by itself, and a tree would split on size alone.

    The decimal string becomes a float here only as a model feature; no money arithmetic happens.
    """

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        values = [_parse_amount(value) for value in _first_column(X)]
        bins = len(AMOUNT_BIN_EDGES) + 1
        matrix = np.zeros((len(values), 4 + 2 * bins))
        for row, value in enumerate(values):
            size = float(abs(value))
            inflow = value > 0
            # Columns 0/1: magnitude of money going out / coming in, 2/3: the sign as indicators.
            magnitude_column, sign_column = (1, 3) if inflow else (0, 2)
            matrix[row, magnitude_column] = math.log10(1.0 + size) / _MAGNITUDE_SCALE
            if value != 0:
                matrix[row, sign_column] = 1.0
            size_bin = int(np.searchsorted(AMOUNT_BIN_EDGES, size, side="right"))
            matrix[row, 4 + (bins if inflow else 0) + size_bin] = 1.0
        return sp.csr_matrix(matrix)


def _direction(amount: str) -> str:
    return "in" if _parse_amount(amount) > 0 else "out"


class TypeFeatures(TransformerMixin, BaseEstimator):
    """One-hot bunq type and sub_type, each also combined with the direction of the amount.

    Expects the columns amount, payment_type and sub_type. "EBA_SCT in" (a transfer received)
    and "EBA_SCT out" (a transfer sent) usually mean different categories. Values not seen in
    training are ignored.
    """

    def fit(self, X, y=None):
        self.vectorizer_ = DictVectorizer().fit(self._tokens(X))
        return self

    def transform(self, X):
        return self.vectorizer_.transform(self._tokens(X)).tocsr()

    @staticmethod
    def _tokens(X) -> list[dict[str, float]]:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        tokens = []
        for amount, payment_type, sub_type in frame.astype(object).itertuples(index=False):
            direction = _direction(amount)
            tokens.append(
                {
                    f"type={payment_type}": 1.0,
                    f"sub_type={sub_type}": 1.0,
                    f"type={payment_type} {direction}": 1.0,
                    f"sub_type={sub_type} {direction}": 1.0,
                }
            )
        return tokens


class DateFeatures(TransformerMixin, BaseEstimator):
    """Day of month (scaled to [0, 1]), weekday indicators and part-of-month indicators.

    The part of the month (days 1-7, 8-14, 15-21, 22-end) picks up salaries, rent and other
    payments that recur around the same day. An unreadable date gives all zeros.
    """

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        texts = list(_first_column(X))
        matrix = np.zeros((len(texts), 1 + 7 + 4))
        for row, text in enumerate(texts):
            try:
                moment = dt.datetime.fromisoformat(text)
            except (TypeError, ValueError):
                continue
            matrix[row, 0] = moment.day / 31.0
            matrix[row, 1 + moment.weekday()] = 1.0
            matrix[row, 8 + min((moment.day - 1) // 7, 3)] = 1.0
        return sp.csr_matrix(matrix)


def _first_column(X) -> Iterable[str]:
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, 0].astype(object).tolist()
    if isinstance(X, pd.Series):
        return X.astype(object).tolist()
    return [row[0] for row in np.asarray(X, dtype=object)]


def build_features() -> ColumnTransformer:
    """Return the unfitted feature union over the columns of a ``to_frame`` DataFrame."""
    return ColumnTransformer(
        [
            (
                "description",
                TfidfVectorizer(analyzer=description_tokens, sublinear_tf=True),
                "description",
            ),
            (
                "counterparty",
                TfidfVectorizer(analyzer=counterparty_tokens, sublinear_tf=True),
                "counterparty_name",
            ),
            ("iban", TfidfVectorizer(analyzer=iban_tokens, use_idf=False), "counterparty_iban"),
            ("amount", AmountFeatures(), ["amount"]),
            ("type", TypeFeatures(), ["amount", "payment_type", "sub_type"]),
            ("date", DateFeatures(), ["created_local"]),
        ],
        sparse_threshold=1.0,
    )
