"""The priority gate (priority.py): expensive endpoints take turns, cheap ones never wait."""

from __future__ import annotations

import threading

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
