"""Cheap requests first: expensive endpoints take turns, cheap ones never wait for them.

A gunicorn ``gthread`` worker runs its requests on threads that share one GIL, which CPython
hands round, so under load every request in a worker advances at the same pace and a 1 ms
power calculation waits behind a dozen 5–50 ms analyses (issue 16 measured p99 600–800 ms
for every endpoint with 64 clients). This gate keeps, per process, the median CPU time
(``time.thread_time``) of each endpoint's last ``WINDOW`` requests (a median, so one slow
outlier, a page fault or a lazy import, does not reclassify a cheap endpoint); a request to
an endpoint whose median exceeds ``HEAVY_REQUEST_MS`` first takes one of ``HEAVY_REQUEST_SLOTS`` slots, so at most that many
expensive requests compete for the GIL at once while cheap ones go straight through. It is
shortest-job-first by class, the classic way to cut the mean and tail of short jobs' response
times when job sizes are known (Harchol-Balter, *Performance Modeling and Design of Computer
Systems*, 2013, ch. 30–32); expensive requests wait longer in exchange. A new endpoint counts
as cheap until it has been measured once.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import deque

from flask import Flask, request
from flask.typing import ResponseReturnValue

HEAVY_REQUEST_MS = float(os.environ.get("ABACUS_HEAVY_REQUEST_MS", "2"))
"""Median CPU milliseconds above which an endpoint's requests take a slot. Measured inside
the app: the power calculator 0.6 ms, the A/B analyzer and CUPED from summaries 0.4 ms, the
Bayesian analysis 3.5 ms, sequential boundaries 4.6 ms; CPU time inflates under contention on
hyper-threaded vCPUs, hence the margin on both sides."""

HEAVY_REQUEST_SLOTS = int(os.environ.get("ABACUS_HEAVY_REQUEST_SLOTS", "1"))
"""Expensive requests running at once per process (the GIL runs one thread at a time)."""

WINDOW = 15
"""Requests per endpoint whose CPU times the median is taken over."""


class Gate:
    """The per-process state: the slots and each endpoint's recent CPU seconds."""

    def __init__(self, slots: int, heavy_ms: float) -> None:
        self.slots = threading.BoundedSemaphore(slots)
        self.heavy = heavy_ms / 1000.0
        self.recent: dict[str, deque[float]] = {}  # endpoint -> last CPU seconds (fixed keys)
        self.heavy_endpoints: set[str] = set()

    def is_heavy(self, endpoint: str) -> bool:
        return endpoint in self.heavy_endpoints

    def record(self, endpoint: str, spent: float) -> None:
        times = self.recent.setdefault(endpoint, deque(maxlen=WINDOW))
        times.append(spent)
        if statistics.median(times) > self.heavy:
            self.heavy_endpoints.add(endpoint)
        else:
            self.heavy_endpoints.discard(endpoint)


def install(app: Flask) -> Gate:
    """Put the gate around ``app``'s view dispatch (one gate per app, so per process);
    ``app.extensions["priority"]`` holds it.

    The gate wraps ``dispatch_request`` (the view), as WSGI middleware wraps ``wsgi_app``,
    rather than adding request hooks: every request pays for it, and a pair of hooks with
    their state in ``g`` cost ~15 µs a request where this costs ~3 µs. It runs inside Flask's
    error handling, so a body over the size limit, read here before the slot is taken, is
    answered as any view's error is (a 413 problem)."""
    gate = Gate(
        int(app.config.get("HEAVY_REQUEST_SLOTS", HEAVY_REQUEST_SLOTS)),
        float(app.config.get("HEAVY_REQUEST_MS", HEAVY_REQUEST_MS)),
    )
    app.extensions["priority"] = gate
    dispatch = app.dispatch_request

    def gated_dispatch() -> ResponseReturnValue:
        endpoint = request.endpoint
        if endpoint is None:  # no route: the dispatch raises the 404 or 405
            return dispatch()
        heavy = gate.is_heavy(endpoint)
        if heavy:
            # The body is read before the slot is taken, so a client that trickles its upload
            # holds only its own thread (serving.py times the read out), never the slot that
            # every expensive request of this process waits for. Form bodies are parsed into
            # request.form/files; others stay cached for request.get_data().
            request.get_data(cache=True, parse_form_data=True)
            gate.slots.acquire()
        start = time.thread_time()
        try:
            return dispatch()
        finally:
            if heavy:
                gate.slots.release()
            gate.record(endpoint, time.thread_time() - start)

    app.dispatch_request = gated_dispatch  # type: ignore[method-assign]
    return gate
