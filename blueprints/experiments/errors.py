"""The store's exceptions as problem+json: :class:`StoreError` 422 naming its field,
:class:`NotFound` 404 (and ids beyond SQLite's INTEGER range, which cannot exist),
:class:`Conflict` 409."""

from __future__ import annotations

from flask import Response

from blueprints._api import problem
from blueprints.experiments import bp
from experiments.store import Conflict, NotFound, StoreError

MAX_ID = 2**63 - 1  # SQLite's INTEGER range; larger ids cannot exist


@bp.url_value_preprocessor
def _check_id(endpoint: str | None, values: dict[str, object] | None) -> None:
    """Ids beyond SQLite's INTEGER range cannot exist (and would overflow the driver)."""
    experiment_id = (values or {}).get("experiment_id")
    if isinstance(experiment_id, int) and experiment_id > MAX_ID:
        raise NotFound(experiment_id)


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
