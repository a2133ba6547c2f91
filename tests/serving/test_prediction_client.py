"""The MLServer client and repository files, without a running MLServer."""

from __future__ import annotations

import json
import logging

import pytest

from bunq_ynab.classification.predict import Prediction, predict_categories
from bunq_ynab.classification.records import EXAMPLE_RECORDS, FEATURE_COLUMNS
from bunq_ynab.serving.mlserver import (
    MLServerError,
    MLServerUnavailable,
    _decode_response,
    encode_request,
    predict_batch,
    read_model_settings,
    write_model_settings,
    write_server_settings,
)
from bunq_ynab.serving.process import free_port
from tests.classification.support import CHECKING_ACCOUNT_ID, PLAN_ID, Builder, local_time


def test_encode_request_one_bytes_input_per_column():
    request = encode_request(list(EXAMPLE_RECORDS))
    assert request["parameters"] == {"content_type": "pd"}
    assert [item["name"] for item in request["inputs"]] == list(FEATURE_COLUMNS)
    for item in request["inputs"]:
        assert item["datatype"] == "BYTES"
        assert item["shape"] == [2, 1]
        assert item["parameters"] == {"content_type": "str"}
    amounts = next(item for item in request["inputs"] if item["name"] == "amount")
    assert amounts["data"] == ["-24.95", "2850.00"]


def test_decode_response_rejects_wrong_length():
    body = {
        "model_version": "3",
        "outputs": [
            {"name": "category_id", "data": ["a"]},
            {"name": "probability", "data": [0.5]},
        ],
    }
    with pytest.raises(MLServerError, match="for 2 records"):
        _decode_response(body, "m", 2)


def test_decode_response_rejects_missing_output():
    with pytest.raises(MLServerError, match="lacks the outputs"):
        _decode_response({"outputs": [{"name": "predict", "data": [1]}]}, "m", 1)


def test_decode_response_pairs_outputs():
    body = {
        "model_version": "3",
        "outputs": [
            {"name": "probability", "data": [0.25, 0.75]},
            {"name": "category_id", "data": ["a", "b"]},
        ],
    }
    batch = _decode_response(body, "m", 2)
    assert batch.model_version == "3"
    assert batch.predictions == [("a", 0.25), ("b", 0.75)]


def test_model_settings_pin_version(tmp_path):
    path = write_model_settings(tmp_path, "bunq-ynab-p1", "7")
    assert path == tmp_path / "bunq-ynab-p1" / "model-settings.json"
    assert read_model_settings(tmp_path, "bunq-ynab-p1") == {
        "name": "bunq-ynab-p1",
        "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": "models:/bunq-ynab-p1/7", "version": "7"},
    }
    assert read_model_settings(tmp_path, "bunq-ynab-p2") is None


def test_server_settings_defaults(tmp_path):
    settings = json.loads(write_server_settings(tmp_path).read_text())
    assert settings["http_port"] == 8085
    assert settings["grpc_port"] == 8086
    assert settings["metrics_port"] == 8087
    assert settings["parallel_workers"] == 0
    assert settings["host"] == "127.0.0.1"
    assert settings["model_repository_root"] == str(tmp_path.resolve())


def test_server_settings_reject_many_workers(tmp_path):
    with pytest.raises(ValueError, match="parallel_workers"):
        write_server_settings(tmp_path, parallel_workers=4)


def test_predict_batch_unavailable_raises():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MLServerUnavailable):
        predict_batch(url, "bunq-ynab-p1", list(EXAMPLE_RECORDS), timeout=2.0)


def test_mlserver_down_gives_no_categories(ml_db, caplog):
    builder = Builder(ml_db)
    builder.plan()
    builder.ynab_account(CHECKING_ACCOUNT_ID)
    builder.bunq_account()
    for day in (1, 2, 3):
        builder.payment(local_time(2026, 10, day), "-12.50", counterparty_name="Jumbo")
    rows = ml_db.fetch_all("SELECT * FROM bunq_payment ORDER BY id")
    url = f"http://127.0.0.1:{free_port()}"

    with caplog.at_level(logging.WARNING, logger="bunq_ynab.classification.predict"):
        result = predict_categories(ml_db, PLAN_ID, rows, url, 0.5, timeout=2.0)

    assert result == {row["id"]: Prediction(None, None, None) for row in rows}
    assert "3 payments get no category" in caplog.text
    assert ml_db.fetch_one("SELECT count(*) AS n FROM prediction")["n"] == 0


def test_no_payments_sends_nothing(ml_db):
    assert predict_categories(ml_db, PLAN_ID, [], "http://127.0.0.1:9", 0.5) == {}
