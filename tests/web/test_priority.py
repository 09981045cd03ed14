"""The priority gate (priority.py): expensive endpoints take turns, cheap ones never wait."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import orjson

from app import create_app
from priority import WINDOW, Gate


def test_the_median_of_recent_requests_classifies_endpoints():
    gate = Gate(1, heavy_ms=2.0)
    assert not gate.is_heavy("power.api")  # unmeasured: cheap
    gate.record("power.api", 0.001)
    gate.record("bayesian.api", 0.010)
    assert not gate.is_heavy("power.api") and gate.is_heavy("bayesian.api")
    gate.record("power.api", 0.050)  # one slow outlier does not make it expensive
    gate.record("power.api", 0.001)
    assert not gate.is_heavy("power.api")
    for _ in range(WINDOW):  # the old times leave the window
        gate.record("bayesian.api", 0.001)
    assert not gate.is_heavy("bayesian.api")


def test_a_cheap_request_passes_while_the_expensive_slot_is_taken():
    app = create_app({"TESTING": True, "HEAVY_REQUEST_MS": 1e9})
    gate = app.extensions["priority"]
    client = app.test_client()
    assert gate.slots.acquire(timeout=1)  # an expensive request holds the only slot
    try:
        assert client.get("/healthz").status_code == 200  # cheap: does not wait
    finally:
        gate.slots.release()
    assert "healthz" in "".join(gate.recent)


def test_an_expensive_request_waits_for_the_slot_and_releases_it():
    app = create_app({"TESTING": True, "HEAVY_REQUEST_MS": 0.0})
    gate = app.extensions["priority"]
    client = app.test_client()
    client.get("/healthz")  # measured once: above 0 ms, so expensive from now on
    assert gate.slots.acquire(timeout=1)
    done = threading.Event()

    def call() -> None:
        app.test_client().get("/healthz")
        done.set()

    worker = threading.Thread(target=call)
    worker.start()
    assert not done.wait(0.3)  # blocked on the slot
    gate.slots.release()
    assert done.wait(10)
    worker.join()
    assert gate.slots.acquire(timeout=1)  # released again after the request
    gate.slots.release()


class _SlowBody(io.RawIOBase):
    """A request body whose second half arrives ``pause`` seconds after its first (a slow
    client): reads return at most the first half until then."""

    def __init__(self, data: bytes, pause: float) -> None:
        self.data, self.pos, self.pause = data, 0, pause

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """The test client measures the body by seeking to its end and back."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: len(self.data)}[whence]
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        if self.pos >= len(self.data) // 2 and self.pause:
            time.sleep(self.pause)
            self.pause = 0.0
        end = len(self.data) if self.pos >= len(self.data) // 2 else len(self.data) // 2
        chunk = self.data[self.pos : min(end, self.pos + len(buffer))]
        buffer[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


def test_a_slow_body_does_not_hold_the_expensive_slot():
    """An expensive endpoint's body is read before its request takes the slot: a client that
    trickles its upload must not make every other expensive request of the process wait."""
    app = create_app({"TESTING": True, "HEAVY_REQUEST_MS": 0.0})
    gate = app.extensions["priority"]
    body = b'{"metric": "proportion", "baseline": 0.1, "mde": 0.02, "power": 0.8}'
    assert app.test_client().post("/api/power", json=orjson.loads(body)).status_code == 200
    assert gate.is_heavy("power.api")
    slow_answer: list[int] = []

    def slow_client() -> None:
        environ = {"CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"}
        response = app.test_client().post(
            "/api/power", input_stream=_SlowBody(body, pause=2.0), environ_base=environ
        )
        slow_answer.append(response.status_code)

    slow = threading.Thread(target=slow_client)
    slow.start()
    time.sleep(0.3)  # the slow client is now between the two parts of its body
    started = time.perf_counter()
    fast = app.test_client().post("/api/power", data=body, content_type="application/json")
    waited = time.perf_counter() - started
    slow.join()
    assert fast.status_code == 200 and slow_answer == [200]
    assert waited < 1.0, f"an expensive request waited {waited:.2f} s behind a slow body"
