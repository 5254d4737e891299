"""The OpenAPI 3.1 document, built from app.url_map and each view's `@documented` models.

Every rule (but static) becomes an operation; a view without `@documented` still appears,
marked `x-undocumented`, so tests catch it. Models become components/schemas in one pass
(pydantic names clashing models apart), errors take each surface's shape (as
errors.error_response renders them), and security follows the running AUTH_MODE.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter, Rule

from ..errors import ENVELOPE_PREFIXES, OPENAI_PREFIX
from .docs import Binary, Doc, Empty, EventStream, doc_of
from .health import VERSION
from .schemas.errors import ErrorBody, OpenAIErrorBody, TaskErrorBody

REF = "#/components/schemas/{model}"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
PATH_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
SECURITY_SCHEMES = {
    "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from POST /api/auth/login."},
    "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "sk-sora-…",
               "description": "An API key (POST /api/auth/api-keys) as the Bearer value."},
    "refreshToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                     "description": "The refresh token from login, for POST /api/auth/refresh."},
    "mediaToken": {"type": "apiKey", "in": "query", "name": "token",
                   "description": "A media token (POST /api/auth/media-token) in the URL, for "
                   "<video src>, <audio src> and EventSource, which cannot send headers."},
}  # fmt: skip
AUTH_ERRORS = "AUTH_REQUIRED, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED, USER_NOT_FOUND"
DEFAULT_ERRORS = (
    "Any other error, in the same shape: 405, 413 PAYLOAD_TOO_LARGE, 429 RATE_LIMITED "
    "(Retry-After), 500 INTERNAL_ERROR (a bug), 503 DATABASE_UNAVAILABLE (Retry-After), "
    "507 STORAGE_FULL."
)


def error_model(path: str) -> type[BaseModel]:
    """The error shape of the surface `path` is on (mirrors errors.error_response)."""
    if path.startswith(OPENAI_PREFIX):
        return OpenAIErrorBody
    if path.startswith(ENVELOPE_PREFIXES):
        return TaskErrorBody
    return ErrorBody


def operations(app: Flask) -> list[tuple[Rule, str, Doc | None]]:
    """(rule, method, doc) of every route the document covers."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):  # files, not API
            continue
        doc = doc_of(app.view_functions[rule.endpoint])
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            found.append((rule, method, doc))
    return found


def openapi_path(rule: Rule) -> str:
    return PATH_ARG.sub(r"{\1}", rule.rule)


def build(app: Flask) -> dict[str, Any]:
    """The whole document for this app (its auth mode decides the security requirements)."""
    ops = operations(app)
    refs, schemas = _components(ops)
    open_mode = app.config["AUTH_MODE"] == "open"
    paths: dict[str, dict[str, Any]] = {}
    for rule, method, doc in ops:
        operation = _operation(rule, doc, refs, open_mode)
        paths.setdefault(openapi_path(rule), {})[method.lower()] = operation
    intro = resources.files(__package__).joinpath("openapi_intro.md").read_text("utf-8")
    return {
        "openapi": "3.1.0",
        "info": {"title": "sora_app", "version": VERSION, "description": intro},
        "tags": _tags(paths),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _models(doc: Doc) -> list[tuple[type[BaseModel], str]]:
    """Every model a Doc names, with the JSON schema mode it is shown in."""
    inputs = [doc.request, doc.form]  # query and header models are inlined as parameters
    found = [(model, "validation") for model in inputs if model is not None]
    for answer in doc.responses.values():
        answer = answer[0] if isinstance(answer, tuple) else answer
        if isinstance(answer, type) and issubclass(answer, BaseModel):
            found.append((answer, "serialization"))
    return found


def _components(ops: list[tuple[Rule, str, Doc | None]]) -> tuple[dict, dict[str, Any]]:
    wanted = {(m, "serialization") for m in (ErrorBody, TaskErrorBody, OpenAIErrorBody)}
    for _rule, _method, doc in ops:
        if doc is not None:
            wanted.update(_models(doc))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__module__, pair[0].__name__, pair[1]))
    refs, top = models_json_schema(ordered, ref_template=REF)
    return refs, dict(sorted(top.get("$defs", {}).items()))


def _operation(rule: Rule, doc: Doc | None, refs: dict, open_mode: bool) -> dict[str, Any]:
    path = openapi_path(rule)
    blueprint = rule.endpoint.rpartition(".")[0] or "app"
    error = refs[(error_model(rule.rule), "serialization")]
    params = _path_params(rule)
    if doc is None:
        return {"operationId": rule.endpoint, "summary": f"{path} (undocumented)",
                "tags": [blueprint], "x-undocumented": True, "parameters": params,
                "responses": {"default": _json("Undocumented.", error)}}  # fmt: skip
    operation: dict[str, Any] = {"operationId": rule.endpoint, "summary": doc.summary,
                                 "tags": list(doc.tags) or [blueprint]}  # fmt: skip
    if doc.description:
        operation["description"] = doc.description
    params += _params(doc.query, "query", refs) + _params(doc.headers, "header", refs)
    if params:
        operation["parameters"] = params
    body = _request_body(doc, refs)
    if body:
        operation["requestBody"] = body
    operation["responses"] = _responses(doc, refs, error)
    operation["security"] = _security(doc, open_mode)
    if doc.websocket:
        operation["x-websocket"] = True
    return operation


def _path_params(rule: Rule) -> list[dict[str, Any]]:
    params = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _params(model: type[BaseModel] | None, where: str, refs: dict) -> list[dict[str, Any]]:
    """Query or header parameters from a model's fields (its JSON schema, inlined)."""
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.pop("description", None)
        prop.pop("title", None)
        prop = _not_null(prop)
        param = {"name": name, "in": where, "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter is absent, never null: drop pydantic's `| None` branch."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1 and len(options) < len(schema["anyOf"]):
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**options[0], **rest}
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _request_body(doc: Doc, refs: dict) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if doc.request is not None:
        content["application/json"] = {"schema": refs[(doc.request, "validation")]}
        if doc.examples:
            content["application/json"]["examples"] = {
                name: {"value": value} for name, value in doc.examples.items()
            }
    if doc.form is not None:
        content["multipart/form-data"] = {"schema": refs[(doc.form, "validation")]}
    if not content:
        return None
    required = doc.request is not None and bool(doc.request.model_json_schema().get("required"))
    return {"required": required, "content": content}


def _responses(doc: Doc, refs: dict, error: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in sorted(doc.responses.items()):
        described = None
        if isinstance(answer, tuple):
            answer, described = answer
        responses[str(status)] = _answer(answer, described, refs)
    errors = dict(doc.errors)
    if doc.request is not None:
        errors[400] = ", ".join(filter(None, ("INVALID_JSON", errors.get(400))))
    if doc.auth not in ("public",):
        errors[401] = ", ".join(filter(None, (errors.get(401), AUTH_ERRORS)))
    for status, codes in sorted(errors.items()):
        responses[str(status)] = _json(codes, error)
    responses["default"] = _json(DEFAULT_ERRORS, error)
    return responses


def _answer(answer: Any, described: str | None, refs: dict) -> dict[str, Any]:
    if isinstance(answer, Binary):
        content = {mt: {"schema": {"type": "string", "format": "binary"}}
                   for mt in answer.media_types}  # fmt: skip
        return {"description": described or answer.description, "content": content}
    if isinstance(answer, EventStream):
        events = "".join(f"\n- `{name}`: {what}" for name, what in answer.events.items())
        schema = {"type": "string", "description": "Server-Sent Events (id, event, data lines)"}
        return {"description": (described or answer.description) + events,
                "content": {"text/event-stream": {"schema": schema}}}  # fmt: skip
    if isinstance(answer, Empty):
        return {"description": described or answer.description}
    ref = refs[(answer, "serialization")]
    return _json(described or _first_line(answer.__doc__) or answer.__name__, ref)


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def _security(doc: Doc, open_mode: bool) -> list[dict[str, list[str]]]:
    """Who may call: the schemes accepted, plus `{}` (no credential) where open mode allows."""
    schemes = {
        "public": [],
        "user": ["accessToken", "apiKey"],
        "media": ["accessToken", "apiKey", "mediaToken"],
        "login": ["accessToken"],
        "refresh": ["refreshToken"],
        "openai": ["apiKey", "accessToken"],
    }[doc.auth]
    if not schemes:
        return []
    security: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    if open_mode and doc.auth != "refresh":
        security.append({})
    return security


TAGS = {
    "generate": "Contract 1: start a job, poll its progress, cancel it.",
    "media": "Finished videos and thumbnails (Range, HEAD, conditional requests).",
    "health": "Liveness and dependency checks.",
    "catalog": "What a request may choose: voices (with previews) and every option.",
    "uploads": "The older picture-only upload door (see media_library).",
    "events": "Server-Sent Events: one job's, or all of the caller's.",
    "tasks": 'Contract 2: the task API, camelCase in {"success", "data"}.',
    "auth": "Accounts: register, login, refresh, logout, media tokens.",
    "api_keys": "Long-lived API keys (sk-sora-…).",
    "webhooks": "The caller's webhook endpoint and signing secret.",
    "scripts": "Scripts as resources: write, edit, render.",
    "videos": "The caller's video library and each video's scenes.",
    "media_library": "The caller's pictures and sounds, and stock search.",
    "bulk": "Many videos in one request.",
    "v1_videos": "The OpenAI Videos API (errors in OpenAI's shape).",
    "live": "WebSocket /ws: contract 2's live task updates.",
    "api_docs": "This document and its viewer.",
}


def _tags(paths: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The tags the operations use, in TAGS' order (the order Swagger UI shows them in)."""
    used = {tag for item in paths.values() for op in item.values() for tag in op["tags"]}
    order = [*TAGS, *sorted(used - set(TAGS))]
    return [{"name": name, "description": TAGS.get(name, "")} for name in order if name in used]
