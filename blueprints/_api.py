"""What every blueprint's JSON API shares: strict input parsing, problem+json errors, output.

Errors follow RFC 9457 (``application/problem+json``): 400 for malformed input (not JSON, a
missing field, a string where a number belongs), 422 for well-formed but meaningless values
(``stats`` raised :class:`~stats.errors.InvalidInput`), 413 for bodies over
``MAX_CONTENT_LENGTH``. Every problem has ``type``, ``title``, ``status``, ``detail`` and ``errors``: a list of ``{"field", "detail"}``
(and ``"row"``, the 1-based data row, where there is one). This module is the one place that
builds a problem: elsewhere raise :class:`ApiError` (or call :func:`problem`).
Numbers go out as JSON numbers; NaN and infinities become ``null`` (orjson does that).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import reprlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import orjson
from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

from blueprints._figures import escape_figure
from stats.errors import InvalidInput
from stats.warnings import ResultWarning

log = logging.getLogger(__name__)
T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"
MAX_DETAIL = 1_000
"""Longest ``detail`` (and error detail) a problem carries; longer text is cut with an ellipsis."""
MAX_ERRORS = 20
"""Most entries in a problem's ``errors`` list."""
MAX_JSON_CONTAINERS = 250_000
"""Most objects and arrays in a JSON body: parsing costs ~3 µs each (a 12 MB body of small
lists took 2.7 s), while a CSV string or a long list of numbers parses at ~100 MB/s."""
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = 5
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)`` short enough to quote in an error (~80 characters at most):
    a 200,000-element list is shown as its first elements and ``...``."""
    text = _SHOWN.repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_DETAIL:
        return value[: MAX_DETAIL - 1] + "…"
    return value


class ApiError(Exception):
    """An error answered as problem+json; raise it anywhere inside an API view."""

    def __init__(
        self, status: int, detail: str, errors: Sequence[Mapping[str, Any]] = (), title: str = ""
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [dict(e) for e in errors]
        self.title = title


def bad_request(field: str, detail: str) -> NoReturn:
    """Raise a 400 naming ``field``: missing, wrong type, malformed."""
    raise ApiError(400, detail, [{"field": field, "detail": detail}])


def unprocessable(field: str | None, detail: str) -> NoReturn:
    """Raise a 422 naming ``field``: a well-formed value outside its allowed range."""
    raise ApiError(422, detail, [{"field": field, "detail": detail}])


def required(value: T | None, field: str) -> T:
    """``value``, or a 400 naming ``field`` when the request left it out (a field its model
    makes optional that this use of the request needs)."""
    if value is None:
        bad_request(field, f"{field} is required.")
    return value


def problem(
    status: int, detail: str, errors: Sequence[Mapping[str, Any]] = (), title: str = ""
) -> Response:
    """A problem+json response (RFC 9457)."""
    from http import HTTPStatus

    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": _clip(detail),
        "instance": _clip(request.path),
        "errors": [{k: _clip(v) for k, v in e.items()} for e in list(errors)[:MAX_ERRORS]],
    }
    return Response(orjson.dumps(body), status=status, mimetype=PROBLEM_JSON)


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def install_error_handlers(app: Flask) -> None:
    """problem+json for /api/ routes, an HTML page elsewhere; never a stack trace."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return problem(error.status, error.detail, error.errors, error.title)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[str, int]:
        status = error.code or 500
        if status == 413:
            detail, field = _too_large(error)
            errors = [{"field": field, "detail": detail}]
        elif status == 404:
            detail = f"There is no {request.path} here; the API's operations are listed at /api/openapi.json."
            errors = [{"field": "path", "detail": detail}]
        elif status == 405:
            allowed = error.get_response().headers.get("Allow", "")
            detail = f"{request.method} is not allowed on {request.path}; use {allowed or 'another method'}."
            errors = [{"field": "method", "detail": detail}]
        else:
            detail, errors = error.description or "", []
        if wants_problem_json():
            response = problem(status, detail, errors)
            if status == 405 and error.get_response().headers.get("Allow"):
                response.headers["Allow"] = error.get_response().headers["Allow"]
            return response
        return render_template("error.html", status=status, title=error.name, detail=detail), status

    @app.errorhandler(TimeoutError)
    @app.errorhandler(ClientDisconnected)
    def read_timeout(error: Exception) -> Response | tuple[str, int]:
        """The body stopped arriving: the server's read timeout (serving.py) expired, which
        werkzeug reports as a client disconnect."""
        detail = "The request body stopped arriving before it was complete; send it again."
        if wants_problem_json():
            return problem(408, detail, [{"field": "body", "detail": detail}])
        return render_template("error.html", status=408, title="Timeout", detail=detail), 408

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s", request.path)
        detail = "Something went wrong on our side; the error was logged."
        if wants_problem_json():
            return problem(500, detail)
        return render_template("error.html", status=500, title="Server error", detail=detail), 500


def _too_large(error: HTTPException) -> tuple[str, str]:
    """What a 413 means, and the field it names: too many form parts (werkzeug's
    ``max_form_parts``), or a body over ``MAX_CONTENT_LENGTH`` (declared or chunked)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    within = request.content_length is not None and request.content_length <= limit
    if request.mimetype == "multipart/form-data" and within:
        # A form within the size limit (its text fields may be as large as the body:
        # MAX_FORM_MEMORY_SIZE) is refused only for werkzeug's max_form_parts.
        parts = request.max_form_parts
        return (
            f"The form has more than {parts:,} parts (fields and files); send fewer fields.",
            "body",
        )
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit:,}-byte"
    detail = f"The request is larger than the {size} limit; send a smaller file."
    return detail, "file" if request.mimetype == "multipart/form-data" else "body"


def request_data() -> bytes:
    """The whole body; a chunked body that reaches ``MAX_CONTENT_LENGTH`` is a 413 (werkzeug
    stops reading it at the limit and would otherwise hand over a truncated body)."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def json_body() -> dict[str, Any]:
    """The request's JSON object, parsed strictly (no NaN/Infinity, UTF-8, an object)."""
    if not request.is_json:
        bad_request("body", "Send a JSON object with Content-Type: application/json.")
    raw = request_data()
    containers = raw.count(b"{") + raw.count(b"[")  # an upper bound: brackets in strings count
    if containers > MAX_JSON_CONTAINERS:
        detail = (
            f"The JSON body holds {containers:,} objects and arrays; the limit is "
            f"{MAX_JSON_CONTAINERS:,}. Send row data as a CSV (a multipart file or a csv string)."
        )
        raise ApiError(413, detail, [{"field": "body", "detail": detail}])
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        bad_request("body", f"The body is not valid JSON: {exc}.")
    if not isinstance(data, dict):
        bad_request("body", "The body must be a JSON object.")
    return data


def invalid_input(exc: InvalidInput, prefix: str = "") -> ApiError:
    """A 422 naming ``exc.field`` (after ``prefix``) and ``exc.row``: read from the
    exception's attributes, never from its message."""
    field = None if exc.field is None else f"{prefix}{exc.field}"
    detail = _sentence(str(exc), capital=field is None)
    error: dict[str, Any] = {"field": field, "detail": detail}
    if exc.row is not None:
        error["row"] = exc.row
    return ApiError(422, detail, [error])


def _sentence(message: str, capital: bool = False) -> str:
    detail = message if message.endswith(".") else message + "."
    return detail[0].upper() + detail[1:] if capital and detail else detail


@contextmanager
def stats_errors(prefix: str = "") -> Iterator[None]:
    """Turn a ``stats`` :class:`InvalidInput` into a 422 naming its ``field`` (and ``row``).

    Any other ``ValueError`` (numpy's or scipy's, not ours) is still a 422, naming no field.
    """
    try:
        yield
    except InvalidInput as exc:
        raise invalid_input(exc, prefix) from None
    except ValueError as exc:
        unprocessable(None, _sentence(str(exc), capital=True))


def respond(
    result: Any,
    figures: Mapping[str, Any] | None = None,
    readout: str = "",
    warnings: Sequence[ResultWarning] = (),
    status: int = 200,
) -> Response:
    """The one response shape: result, figures, readout, warnings.

    ``result`` may be a dataclass (orjson serialises dataclasses, numpy arrays and tuples);
    NaN and infinities become ``null``. Each warning goes out once, as ``{"code", "message"}``
    in the envelope's ``warnings``: a ``warnings`` field of the result itself is left out.
    """
    return json_response(envelope(result, figures, readout, warnings), status)


def envelope(
    result: Any,
    figures: Mapping[str, Any] | None = None,
    readout: str = "",
    warnings: Sequence[ResultWarning] = (),
) -> dict[str, Any]:
    """The body :func:`respond` sends (the CLI's ``--json`` prints the same)."""
    return {
        "result": _without_warnings(result),
        "figures": {name: escape_figure(f) for name, f in (figures or {}).items()},
        "readout": readout,
        "warnings": [{"code": str(w.code), "message": w.message} for w in warnings],
    }


def _without_warnings(result: Any) -> Any:
    """``result`` (a dataclass or a mapping) without its top-level ``warnings``."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {name: getattr(result, name) for name in _sent_fields(type(result))}
    if isinstance(result, Mapping) and "warnings" in result:
        return {k: v for k, v in result.items() if k != "warnings"}
    return result


@functools.cache
def _sent_fields(cls: type) -> tuple[str, ...]:
    """The fields of dataclass ``cls`` an answer's result sends: all but ``warnings``."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "warnings")


def json_response(body: Any, status: int = 200) -> Response:
    """Serialise with orjson: numpy arrays and scalars, dataclasses, NaN → null."""
    data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    # content_type, not mimetype: werkzeug would parse the mimetype to add a charset (JSON
    # takes none), a few microseconds of every answer
    return Response(data, status=status, content_type="application/json")
