"""Each endpoint's contract declared once: a pydantic request model and a result type.

A module's ``__init__`` creates ``contract = Contract(bp, tag)``; its routes declare operations
with ``@contract.post(rule, summary=..., request=Model, result=ResultType)``. The view receives the
validated model instead of reading the body itself, and ``blueprints.core`` builds the OpenAPI
document from the same declarations (:func:`document`): request schemas from the models
(validation mode), result schemas from the result types (dataclasses or TypedDicts, through
pydantic's ``TypeAdapter`` in serialization mode). Nothing is declared twice.
:meth:`Contract.route` declares an operation of a service API in full: any method, its
:class:`Security` (requirement, check, problems), a :class:`Query` model, the status, and
bodies or answers in other media types (YAML, Markdown, HTML).

Why pydantic v2 with this small adapter rather than a Flask OpenAPI extension (flask-smorest,
spectree, flask-openapi3): the models validate in pydantic-core (compiled, a few µs per
request), the result types are the ``stats`` dataclasses themselves, and the adapter keeps
our one problem+json shape and our wording, which the extensions replace with their own.

Input rules, the same for JSON bodies and multipart forms (whose text fields
:func:`blueprints._upload.form_values` coerces first): strict types (a number is a JSON number,
not a string or a bool; whole numbers may be written ``1000.0``), ``null`` means absent, unknown
fields are ignored. A wrong type or a missing field is a 400, a value outside its range or
choices a 422, each naming the field (``variants[1].users``) and what to send instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, cast

from flask import Blueprint, Response
from flask import request as flask_request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from blueprints._api import ApiError, json_body, request_data, shown
from blueprints._openapi import PROBLEM_RESPONSES, envelope, post_json

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V", bound=Callable[..., Any])


class Body(BaseModel):
    """A request (or a nested object of one): strict types, ``null`` as absent."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def whole(value: Any) -> Any:
    """``1000.0`` as ``1000`` (JSON and forms write whole numbers either way)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(whole)]
"""A whole number, written ``1000`` or ``1000.0``."""


def _column(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(MALFORMED, "must be a column name")
    return value


Column = Annotated[str, BeforeValidator(_column)]
"""A column name (of a CSV or a source's table)."""


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class Range:
    """Bounds of a number, checked after its type, with a message naming the interval
    (``alpha must be in (0, 0.5], got 0.7.``) and the same bounds in the JSON schema."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def allowed(self) -> str:
        """The interval in words: ``in (0, 0.5]``, ``> 0`` or ``≥ 1``."""
        low = self.gt if self.gt is not None else self.ge
        high = self.lt if self.lt is not None else self.le
        if low is not None and high is not None:
            left, right = "(" if self.gt is not None else "[", ")" if self.lt is not None else "]"
            return f"in {left}{_number(low)}, {_number(high)}{right}"
        if low is not None:
            return f"{'>' if self.gt is not None else '≥'} {_number(low)}"
        assert high is not None
        return f"{'<' if self.lt is not None else '≤'} {_number(high)}"

    def __call__(self, value: float) -> float:
        inside = (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )
        if not inside:
            raise PydanticCustomError(
                "out_of_range", "must be {allowed}", {"allowed": self.allowed()}
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: Callable[[Any], core_schema.CoreSchema]
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: Callable[[Any], JsonSchemaValue]
    ) -> JsonSchemaValue:
        json_schema = dict(handler(schema))
        for key, bound in (
            ("exclusiveMinimum", self.gt),
            ("minimum", self.ge),
            ("exclusiveMaximum", self.lt),
            ("maximum", self.le),
        ):
            if bound is not None:
                json_schema[key] = bound
        return json_schema


@dataclass(frozen=True, slots=True)
class WorkCap(Range):
    """An upper bound on a request's work (simulations, draws), worded as ``stats`` words its
    work limits (``simulations must be <= 100,000, got 200000.``)."""

    def allowed(self) -> str:
        assert self.le is not None
        return f"<= {self.le:,.0f}"


# ---------------------------------------------------------------------------------------------
# Validation errors as problems


MEANINGLESS = "meaningless"
"""The type of a :class:`PydanticCustomError` a model raises for a value it cannot use (a
422 whose detail is ``<field> <message>, got <value>.``)."""
MALFORMED = "malformed"
"""As :data:`MEANINGLESS`, for a value of the wrong kind (a 400)."""
_KINDS = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "finite_number": "a finite number",
    "float_parsing": "a number",
    "int_parsing": "a whole number",
}


def field_name(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("variants", 1, "users")`` as ``variants[1].users`` (after ``prefix``, e.g.
    ``events.``)."""
    name = prefix.rstrip(".")
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or "body"


def _error(error: Mapping[str, Any], prefix: str) -> tuple[int, dict[str, Any]]:
    """One pydantic error as (status, ``{"field", "detail"}``)."""
    name = field_name(error["loc"], prefix)
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return 400, {"field": name, "detail": f"{name} is required."}
    if kind == "out_of_range":
        detail = f"{name} must be {error['ctx']['allowed']}, got {shown(value)}."
        return 422, {"field": name, "detail": detail}
    if kind in (MEANINGLESS, MALFORMED):
        detail = f"{name} {error['msg']}, got {shown(value)}."
        return 422 if kind == MEANINGLESS else 400, {"field": name, "detail": detail}
    if kind == "string_too_short":
        return 422, {"field": name, "detail": f"{name} must not be empty."}
    if kind == "string_too_long":
        detail = f"{name} must be at most {error['ctx']['max_length']} characters long."
        return 422, {"field": name, "detail": detail}
    if kind in ("literal_error", "enum"):
        # a value of the choices' kind (words 'a' or 'b', or numbers 2 or 3) that is not
        # one of them is meaningless; a value of another kind is a wrong type
        words = "'" in error["ctx"]["expected"]
        whole_number = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and float(value).is_integer()
        )
        if not (isinstance(value, str) if words else whole_number):
            kind = "a string" if words else "a whole number"
            return 400, {"field": name, "detail": f"{name} must be {kind}, got {shown(value)}."}
        detail = f"{name} must be {error['ctx']['expected']}, got {shown(value)}."
        return 422, {"field": name, "detail": detail}
    if kind == "too_short":
        least = error["ctx"]["min_length"]
        items = "one item" if least == 1 else f"{least} items"
        detail = f"{name} must hold at least {items}, got {error['ctx']['actual_length']}."
        return 422, {"field": name, "detail": detail}
    if kind == "too_long":
        detail = f"{name} must hold at most {error['ctx']['max_length']} items, got more."
        return 422, {"field": name, "detail": detail}
    if kind in _KINDS:
        return 400, {"field": name, "detail": f"{name} must be {_KINDS[kind]}, got {shown(value)}."}
    return 400, {"field": name, "detail": f"{name}: {error['msg']}."}


def validation_problem(exc: ValidationError, prefix: str = "") -> ApiError:
    """Every error of ``exc`` named by field; the first one sets the status (400 for a wrong
    type or a missing field, 422 for a value outside its range or choices)."""
    found = [_error(e, prefix) for e in exc.errors(include_url=False)]
    status = found[0][0]
    return ApiError(status, found[0][1]["detail"], [e for _, e in found])


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    """``model`` validated from ``data``; errors as a problem naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, prefix) from None


# ---------------------------------------------------------------------------------------------
# Operations and the OpenAPI document


@dataclass(frozen=True, slots=True)
class Operation:
    """One declared operation: a ``POST`` taking a request model and answering the envelope
    (result, figures, readout, warnings), or a ``GET`` answering its result as it is."""

    rule: str
    summary: str
    tag: str
    request: type[BaseModel] | None
    result: Any
    examples: Mapping[str, Any] | None = None
    form: bool = False
    """The operation also takes a multipart form (a CSV ``file`` or ``csv`` text beside the
    options)."""
    form_model: type[BaseModel] | None = None
    """The form's own model when its fields are not the request model's (e.g. a report's:
    ``page`` beside another operation's form fields)."""
    description: str = ""
    problems: Mapping[str, str] = field(default_factory=dict)
    """Further problem answers than 400/413/422, by status: what each means."""
    answer: Mapping[str, Any] | None = None
    """A ``POST``'s 200 response when it is not the envelope (e.g. an HTML file); its
    ``result`` is then ``None``."""
    method: str = "post"
    security: Security | None = None
    """Set by :meth:`Contract.route` (which documents the operation in full)."""
    query: type[BaseModel] | None = None
    status: int = 200
    enveloped: bool = False
    media: Mapping[str, Any] = field(default_factory=dict)
    """Further media types of the answer (``text/markdown``: its schema), beside JSON."""
    body: Mapping[str, Any] = field(default_factory=dict)
    """A request body that is not a JSON model, by media type (e.g. YAML)."""
    optional: bool = False
    """The JSON body may be left out."""


@dataclass(frozen=True, slots=True)
class Security:
    """Who may call an operation: the OpenAPI requirement, the check run (with the path
    parameters) before the request is read, and the problems it answers (401, 429)."""

    requirement: tuple[Mapping[str, list[str]], ...] = ()
    check: Callable[..., object] | None = None
    responses: Mapping[str, Any] = field(default_factory=dict)


class Query(BaseModel):
    """A query string's parameters: text converted to the declared types."""

    model_config = ConfigDict(allow_inf_nan=False, extra="ignore", frozen=True)


@dataclass(slots=True)
class Contract:
    """A module's declared operations (``contract = Contract(bp, "power")`` in its
    ``__init__``)."""

    bp: Blueprint
    tag: str
    operations: list[Operation] = field(default_factory=list)
    schemas: dict[str, Any] = field(default_factory=dict)
    """Component schemas the operations refer to that no model generates (a published
    JSON Schema)."""
    security_schemes: dict[str, Any] = field(default_factory=dict)

    def post(
        self,
        rule: str,
        *,
        summary: str,
        request: type[M],
        result: Any = None,
        examples: Mapping[str, Any] | None = None,
        form: bool | type[Body] = False,
        errors: Callable[[], AbstractContextManager[None]] = nullcontext,
        answer: Mapping[str, Any] | None = None,
    ) -> Callable[[Callable[[M], Response]], Callable[[], Response]]:
        """Route ``POST rule`` to a view taking the validated ``request`` model; a multipart
        form is accepted (its fields coerced) when ``form`` is set, validated as ``request``
        or, when ``form`` is a model, as that model (the view then takes either). ``errors`` wraps the
        validation and the view (e.g. to reword the problems it raises). The view answers
        the envelope around ``result``, or ``answer`` (another 200 response)."""

        def decorator(view: Callable[[M], Response]) -> Callable[[], Response]:
            @functools.wraps(view)
            def endpoint() -> Response:
                with errors():
                    return view(cast(M, _validated(request, form)))

            self.bp.add_url_rule(rule, view_func=endpoint, methods=["POST"])
            form_model = form if isinstance(form, type) else None
            self.operations.append(
                Operation(
                    rule,
                    summary,
                    self.tag,
                    request,
                    result,
                    examples,
                    bool(form),
                    form_model=form_model,
                    answer=answer,
                )
            )
            return endpoint

        return decorator

    def get(
        self,
        rule: str,
        *,
        summary: str,
        result: Any,
        description: str = "",
        problems: Mapping[str, str] | None = None,
    ) -> Callable[[V], V]:
        """Route ``GET rule`` (path parameters as Flask spells them) to a view answering
        ``result`` as it is (no envelope)."""

        def decorator(view: V) -> V:
            self.bp.add_url_rule(rule, view_func=view, methods=["GET"])
            self.operations.append(
                Operation(
                    rule,
                    summary,
                    self.tag,
                    None,
                    result,
                    description=description,
                    problems=problems or {},
                )
            )
            return view

        return decorator

    def route(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        security: Security,
        request: type[Body] | None = None,
        query: type[Query] | None = None,
        result: Any = None,
        status: int = 200,
        enveloped: bool = False,
        problems: Mapping[str, Any] | None = None,
        examples: Mapping[str, Any] | None = None,
        media: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        optional: bool = False,
        description: str = "",
        tag: str | None = None,
    ) -> Callable[[V], V]:
        """Route ``method rule`` to a view taking the validated ``request`` model and
        ``query`` model (when declared, in that order) and the path parameters, after
        ``security``'s check. It answers ``result`` with ``status`` (inside the envelope when
        ``enveloped``) or another of ``media``; ``problems`` are its further problem
        responses by status; ``tag`` groups it with another module's operations."""

        def decorator(view: V) -> V:
            @functools.wraps(view)
            def endpoint(**args: Any) -> Response:
                if security.check is not None:
                    security.check(**args)
                models: list[BaseModel] = []
                if request is not None:
                    empty = optional and not request_data()
                    models.append(validate(request, {} if empty else json_body()))
                if query is not None:
                    models.append(validate(query, dict(flask_request.args)))
                answer: Response = view(*models, **args)
                return answer

            self.bp.add_url_rule(rule, view_func=endpoint, methods=[method.upper()])
            self.operations.append(
                Operation(
                    rule,
                    summary,
                    tag or self.tag,
                    request,
                    result,
                    examples,
                    description=description,
                    problems={**security.responses, **(problems or {})},
                    method=method,
                    security=security,
                    query=query,
                    status=status,
                    enveloped=enveloped,
                    media=media or {},
                    body=body or {},
                    optional=optional,
                )
            )
            return view

        return decorator


def _validated(request: type[BaseModel], form: bool | type[Body]) -> BaseModel:
    """The body as ``request`` (JSON), or a multipart form's values as ``request`` or as
    ``form`` when that is a model."""
    if form:
        from blueprints._upload import form_values, is_multipart

        if is_multipart():
            return validate(form if isinstance(form, type) else request, form_values())
    return validate(request, json_body())


_SERIALIZED_AS: dict[type, tuple[Any, bool]] = {}


def serialized_as(cls: type, form: Any, *, inline: bool = False) -> None:
    """Declare that the view sends dataclass ``cls`` in the shape of ``form`` (a model or a
    TypedDict): e.g. a comparison flattened by its ``as_dict``. ``inline``: the document
    holds that shape under ``cls``'s own name and title, not as a reference to ``form``."""
    _SERIALIZED_AS[cls] = (form, inline)


def records(item: Any, **constraints: Any) -> Any:
    """A list of records that ``stats`` parses as data (naming ``variants[1].users`` in its
    422s, numbers allowed as text as in a CSV): the list is validated here, each record's
    shape (``item``, a TypedDict) is documented."""
    items = TypeAdapter(item).json_schema()
    return Annotated[list[Any], Field(json_schema_extra={"items": items}, **constraints)]


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON schema without per-field titles; in results (serialization mode)
    a number may be ``null``: NaN and infinities go out as ``null``."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        cls = schema["cls"]
        if cls not in _SERIALIZED_AS:
            return super().dataclass_schema(schema)
        form, inline = _SERIALIZED_AS[cls]
        shape = TypeAdapter(form).core_schema
        if not inline:
            return self.generate_inner(shape)
        unnamed = {k: v for k, v in shape.items() if k != "ref"}  # no component of its own
        return {**self.generate_inner(unnamed), "title": cls.__name__}

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return {"type": ["number", "null"]}
        return super().float_schema(schema)


REF = "#/components/schemas/{model}"


def _ref_name(ref: Mapping[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _referred(node: Any) -> list[str]:
    """The schema names every ``$ref`` in ``node`` (a JSON schema) points at."""
    if isinstance(node, Mapping):
        own = [_ref_name(node)] if isinstance(node.get("$ref"), str) else []
        return own + [name for value in node.values() for name in _referred(value)]
    if isinstance(node, list):
        return [name for value in node for name in _referred(value)]
    return []


def _reachable(roots: Sequence[Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The ``schemas`` that ``roots`` refer to, directly or through each other: pydantic also
    defines what only a dataclass sent in another shape (:func:`serialized_as`) holds."""
    seen: set[str] = set()
    todo = _referred(roots)
    while todo:
        name = todo.pop()
        if name in schemas and name not in seen:
            seen.add(name)
            todo += _referred(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in seen}


def _form_schema(model: Mapping[str, Any]) -> dict[str, Any]:
    """A request model's schema as multipart form fields: a CSV ``file`` beside the options,
    lists and objects as JSON text."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    for name, schema in model.get("properties", {}).items():
        forms = [schema, *schema.get("anyOf", [])]
        scalar = not any("$ref" in f or f.get("type") in ("array", "object") for f in forms)
        properties[name] = schema if scalar else {"type": "string", "description": "JSON text."}
    return {
        "type": "object",
        "description": "A CSV (one row per user) as an uploaded file or pasted text, with the options.",
        "properties": properties,
    }


_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _get(op: Operation, result_ref: dict[str, Any]) -> dict[str, Any]:
    """A ``GET`` operation: path parameters from the rule, the result as the 200 answer."""
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if converter == "int" else {"type": "string"},
        }
        for converter, name in _PARAMETER.findall(op.rule)
    ]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    answer = {"description": op.summary, "content": {"application/json": {"schema": result_ref}}}
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {
            "200": answer,
            **{k: {"description": v, "content": problem} for k, v in op.problems.items()},
        },
    }
    if op.description:
        operation["description"] = op.description
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    """The path parameters of the rule (Flask's ``int`` converter matches 0 and up) and the
    query model's fields."""
    found: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0}
            if converter == "int"
            else {"type": "string"},
        }
        for converter, name in _PARAMETER.findall(op.rule)
    ]
    if op.query is not None:
        model = op.query.model_json_schema(schema_generator=_Schema)
        for name, schema in model.get("properties", {}).items():
            description = schema.pop("description", None)
            parameter = {
                "name": name,
                "in": "query",
                "required": name in model.get("required", []),
                "schema": schema,
            }
            found.append({**parameter, "description": description} if description else parameter)
    return found


def _routed(
    op: Operation, request: dict[str, Any] | None, result: dict[str, Any]
) -> dict[str, Any]:
    """An operation declared by :meth:`Contract.route`, in full."""
    assert op.security is not None
    content: dict[str, Any] = {}
    if op.result is not None:
        content["application/json"] = {"schema": envelope(result) if op.enveloped else result}
    content.update({media: {"schema": schema} for media, schema in op.media.items()})
    answer: dict[str, Any] = {"description": op.summary}
    if content:
        answer["content"] = content
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses: dict[str, Any] = {str(op.status): answer, **PROBLEM_RESPONSES}
    for status, response in op.problems.items():
        responses[status] = (
            {"description": response, "content": problem} if isinstance(response, str) else response
        )
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "security": list(op.security.requirement),
        "responses": responses,
    }
    if op.description:
        operation["description"] = op.description
    if parameters := _parameters(op):
        operation["parameters"] = parameters
    if request is not None:
        media: dict[str, Any] = {"schema": request}
        if op.examples:
            media["examples"] = {k: {"value": v} for k, v in op.examples.items()}
        body = {"required": not op.optional, "content": {"application/json": media}}
        operation["requestBody"] = body
    elif op.body:
        content = {media: {"schema": schema} for media, schema in op.body.items()}
        operation["requestBody"] = {"required": True, "content": content}
    return {op.method: operation}


def document(operations: Sequence[Operation]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI ``paths`` and component ``schemas`` of ``operations``."""
    inputs: list[tuple[Any, JsonSchemaMode, TypeAdapter[Any]]] = []
    for i, op in enumerate(operations):
        if op.request is not None:
            inputs.append(((i, "request"), "validation", TypeAdapter(op.request)))
        if op.form_model is not None:
            inputs.append(((i, "form"), "validation", TypeAdapter(op.form_model)))
        if op.result is not None:
            inputs.append(((i, "result"), "serialization", TypeAdapter(op.result)))
    refs, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=_Schema)
    schemas = _reachable(list(refs.values()), definitions.get("$defs", {}))
    paths: dict[str, Any] = {}
    for i, op in enumerate(operations):
        result_ref = refs.get(((i, "result"), "serialization"), {})
        path = _PARAMETER.sub(lambda m: "{" + m.group(2) + "}", op.rule)
        if op.security is not None:
            key = ((i, "request"), "validation")
            request = schemas.pop(_ref_name(refs[key])) if key in refs else None
            paths.setdefault(path, {}).update(_routed(op, request, result_ref))
            continue
        if op.request is None:
            paths.setdefault(path, {}).update(_get(op, result_ref))
            continue
        # the request schema stands inline in its operation (its nested models by reference)
        request = schemas.pop(_ref_name(refs[((i, "request"), "validation")]))
        for ref in [result_ref, *result_ref.get("anyOf", [])]:
            if "$ref" in ref:  # the envelope carries the warnings; the result leaves its own out
                result = schemas[_ref_name(ref)]
                result.get("properties", {}).pop("warnings", None)
                if "warnings" in result.get("required", []):
                    result["required"] = [r for r in result["required"] if r != "warnings"]
        form = _form_schema(request) if op.form else None
        if op.form_model is not None:  # the form's own fields, description and requirements
            own = schemas.pop(_ref_name(refs[((i, "form"), "validation")]))
            keys = ("description", "required", "additionalProperties")
            form = _form_schema(own) | {k: own[k] for k in keys if k in own}
        paths.setdefault(path, {}).update(
            post_json(
                op.summary,
                request,
                result_ref,
                tag=op.tag,
                examples=dict(op.examples or {}),
                multipart=form,
                answer=dict(op.answer) if op.answer else None,
            )
        )
    return paths, schemas
