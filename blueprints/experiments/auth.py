"""Credentials: bearer-token checks and their failure throttle.

Management calls need ``Authorization: Bearer <ADMIN_TOKEN>``; assignment and events need the
experiment's ingest key (or the admin token). Tokens are compared with
``hmac.compare_digest`` (constant time). A missing or wrong credential is a 401 with
``WWW-Authenticate: Bearer`` and nothing changes; with no ``ADMIN_TOKEN`` configured every
management call is refused (there is no default token).

Guessing is throttled per client address, in process: after ``AUTH_MAX_FAILURES`` wrong
tokens or keys (default 10) within ``AUTH_FAILURE_WINDOW`` seconds (default 60), every
credentialed call from that address is a 429 with ``Retry-After`` until the oldest failure
leaves the window, whatever token it carries (checking it would keep the guessing going).
The failure log lives on ``app.extensions`` (:func:`init_app`).
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict, deque

from flask import Flask, Response, current_app, request

from blueprints._api import problem
from blueprints.experiments import bp
from blueprints.experiments.db import get_store
from experiments.store import Experiment, NotFound


class Unauthorized(Exception):
    """Missing or wrong credentials (401)."""


class Throttled(Exception):
    """Too many wrong credentials from one client (429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class FailureLog:
    """Wrong credentials per client address in a sliding window (thread-safe, bounded).

    At most ``max_clients`` addresses are tracked; the least recently failing is forgotten
    first, so a flood of addresses costs bounded memory."""

    def __init__(self, max_clients: int = 10_000) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_clients = max_clients

    def blocked_for(self, client: str, limit: int, window: float) -> float:
        """Seconds until ``client`` may try again (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return 0.0
            while times and times[0] <= now - window:
                times.popleft()
            if not times:
                del self._failures[client]
                return 0.0
            return times[0] + window - now if len(times) >= limit else 0.0

    def fail(self, client: str, limit: int) -> None:
        with self._lock:
            times = self._failures.pop(client, None) or deque(maxlen=limit)
            times.append(time.monotonic())
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


FAILURES = "experiments_auth_failures"


def init_app(app: Flask) -> None:
    app.extensions[FAILURES] = FailureLog()


def _failures() -> FailureLog:
    log: FailureLog = current_app.extensions[FAILURES]
    return log


def _limits() -> tuple[int, float]:
    return (
        int(current_app.config.get("AUTH_MAX_FAILURES", 10)),
        float(current_app.config.get("AUTH_FAILURE_WINDOW", 60.0)),
    )


def _client() -> str:
    return request.remote_addr or "unknown"


def _not_throttled() -> None:
    """Raise :class:`Throttled` while this client has too many recent failures."""
    limit, window = _limits()
    wait = _failures().blocked_for(_client(), limit, window)
    if wait > 0:
        raise Throttled(wait)


def _wrong(message: str) -> Unauthorized:
    """Count a wrong credential from this client; the 401 to raise."""
    _failures().fail(_client(), _limits()[0])
    return Unauthorized(message)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def is_admin() -> bool:
    token: str | None = current_app.config.get("ADMIN_TOKEN")
    given = _bearer()
    return bool(token) and given is not None and _same(given, str(token))


def require_admin() -> None:
    """Raise :class:`Unauthorized` unless the request carries the admin token."""
    if not current_app.config.get("ADMIN_TOKEN"):
        raise Unauthorized(
            "This server has no admin token configured: set ABACUS_ADMIN_TOKEN to manage "
            "experiments."
        )
    if _bearer() is None:
        raise Unauthorized("Send the admin token as 'Authorization: Bearer <token>'.")
    _not_throttled()
    if not is_admin():
        raise _wrong("The admin token is wrong.")


def require_ingest(experiment_id: int) -> Experiment:
    """The experiment, if the request carries its ingest key or the admin token. An unknown
    experiment is a 404 for the admin and a 401 otherwise (a key proves nothing about it)."""
    given = _bearer()
    if given is None:
        raise Unauthorized("Send the experiment's ingest key as 'Authorization: Bearer <key>'.")
    _not_throttled()
    admin = is_admin()
    try:
        experiment = get_store().get_experiment(experiment_id)
    except NotFound:
        if admin:
            raise
        raise _wrong("The ingest key is wrong for this experiment.") from None
    if not admin and not _same(given, experiment.ingest_key):
        raise _wrong("The ingest key is wrong for this experiment.")
    return experiment


@bp.errorhandler(Unauthorized)
def _unauthorized(error: Unauthorized) -> Response:
    response = problem(401, str(error), [{"field": "Authorization", "detail": str(error)}])
    response.headers["WWW-Authenticate"] = 'Bearer realm="abacus"'
    return response


@bp.errorhandler(Throttled)
def _throttled(error: Throttled) -> Response:
    seconds = max(1, math.ceil(error.retry_after))
    detail = f"Too many wrong tokens from this address; try again in {seconds} s."
    response = problem(429, detail, [{"field": "Authorization", "detail": detail}])
    response.headers["Retry-After"] = str(seconds)
    return response
