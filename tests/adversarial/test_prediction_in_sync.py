"""The category model is advice: a broken MLServer response must not stop the sync."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.adversarial.support import seed_with, statuses
from tests.integration import world as w


class _StubInference(BaseHTTPRequestHandler):
    """Respond to every V2 inference request with HTTP 200 and the body of ``server.respond``."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        body = self.server.respond(request).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub_mlserver():
    """Start a local stand-in for MLServer, whose response body each test sets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubInference)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _rows_in(request: dict) -> int:
    return len(request["inputs"][0]["data"])


def _null_probabilities(request: dict) -> str:
    count = _rows_in(request)
    return json.dumps(
        {
            "model_name": "m",
            "model_version": "1",
            "outputs": [
                {
                    "name": "category_id",
                    "datatype": "BYTES",
                    "shape": [count],
                    "data": ["x"] * count,
                },
                {
                    "name": "probability",
                    "datatype": "FP64",
                    "shape": [count],
                    "data": [None] * count,
                },
            ],
        }
    )


@pytest.mark.parametrize(
    "respond",
    [lambda request: "<html>502 from the proxy</html>", _null_probabilities],
    ids=["not-json", "null-probability"],
)
def test_unusable_prediction_does_not_stop_sync(make_world, stub_mlserver, respond):
    from bunq_ynab.settings import Settings
    from bunq_ynab.steps import category_predictor

    payments = [w.payment(11, "-1.00"), w.payment(11, "-2.00")]
    world = make_world(seed_with(payments))
    stub_mlserver.respond = respond
    host, port = stub_mlserver.server_address[:2]
    settings = Settings(mlserver_url=f"http://{host}:{port}")
    world.extract()

    report = world.sync(settings=settings, predict=category_predictor(world.db, settings))

    assert sorted(report.created) == sorted(p["id"] for p in payments)
    assert set(statuses(world).values()) == {"synced"}
    assert all(t["category_id"] is None for t in world.created(w.PLAN_HOUSEHOLD))
