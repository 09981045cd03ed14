"""Credentials and the store: one :class:`Store` per app per process, bearer-token checks.

Management calls need ``Authorization: Bearer <ADMIN_TOKEN>``; assignment and events need the
experiment's ingest key (or the admin token). Tokens are compared with
``hmac.compare_digest`` (constant time). A missing or wrong credential is a 401 with
``WWW-Authenticate: Bearer`` and nothing changes; with no ``ADMIN_TOKEN`` configured every
management call is refused (there is no default token). The store's exceptions map to
problem+json here: :class:`StoreError` 422 naming its field, :class:`NotFound` 404,
:class:`Conflict` 409.
"""

from __future__ import annotations

import hmac
import threading

from flask import Response, current_app, request

from blueprints._api import problem
from blueprints.experiments import bp
from blueprints.experiments.store import Conflict, Experiment, NotFound, Store, StoreError

EXTENSION = "experiments_store"
MAX_ID = 2**63 - 1  # SQLite's INTEGER range; larger ids cannot exist
_lock = threading.Lock()


class Unauthorized(Exception):
    """Missing or wrong credentials (401)."""


def store() -> Store:
    """The app's Store, opened (and migrated) on the first experiments request in this
    process, not at import: a bad DATABASE path never stops the other modules, and importing
    ``app`` (tests, tools) creates no database file."""
    found: Store | None = current_app.extensions.get(EXTENSION)
    if found is None:
        with _lock:
            found = current_app.extensions.get(EXTENSION)
            if found is None:
                found = Store(current_app.config["DATABASE"])
                current_app.extensions[EXTENSION] = found
    return found


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
    if not is_admin():
        raise Unauthorized("The admin token is wrong.")


def require_ingest(experiment_id: int) -> Experiment:
    """The experiment, if the request carries its ingest key or the admin token. An unknown
    experiment is a 404 for the admin and a 401 otherwise (a key proves nothing about it)."""
    given = _bearer()
    if given is None:
        raise Unauthorized("Send the experiment's ingest key as 'Authorization: Bearer <key>'.")
    admin = is_admin()
    try:
        experiment = store().get_experiment(experiment_id)
    except NotFound:
        if admin:
            raise
        raise Unauthorized("The ingest key is wrong for this experiment.") from None
    if not admin and not _same(given, experiment.ingest_key):
        raise Unauthorized("The ingest key is wrong for this experiment.")
    return experiment


@bp.url_value_preprocessor
def _check_id(endpoint: str | None, values: dict[str, object] | None) -> None:
    """Ids beyond SQLite's INTEGER range cannot exist (and would overflow the driver)."""
    experiment_id = (values or {}).get("experiment_id")
    if isinstance(experiment_id, int) and experiment_id > MAX_ID:
        raise NotFound(experiment_id)


@bp.errorhandler(Unauthorized)
def _unauthorized(error: Unauthorized) -> Response:
    response = problem(401, str(error), [{"field": "Authorization", "detail": str(error)}])
    response.headers["WWW-Authenticate"] = 'Bearer realm="abacus"'
    return response


@bp.errorhandler(StoreError)
def _invalid(error: StoreError) -> Response:
    detail = str(error)
    detail = detail if detail.endswith(".") else detail + "."
    return problem(422, detail, [{"field": error.field, "detail": detail}])


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Response:
    detail = f"Experiment {error.experiment_id} does not exist."
    return problem(404, detail, [{"field": "id", "detail": detail}])


@bp.errorhandler(Conflict)
def _conflict(error: Conflict) -> Response:
    detail = str(error)
    detail = detail[0].upper() + detail[1:] + ("" if detail.endswith(".") else ".")
    return problem(409, detail, [{"field": error.field, "detail": detail}])
