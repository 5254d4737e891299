"""Checks a real answer against the OpenAPI document: the status is documented for the
route and method (explicitly, not by `default`), and the body matches its schema."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from flask import Flask
from werkzeug.routing.exceptions import WebsocketMismatch

from sora_app.api.openapi import openapi_path


class Documented:
    """The app's document, with a cached validator per referenced schema."""

    def __init__(self, app: Flask, client) -> None:
        self.app, self.client = app, client
        response = client.get("/api/openapi.json")
        assert response.status_code == 200
        self.doc: dict[str, Any] = response.get_json()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        path = path.split("?")[0]
        try:
            adapter = self.app.url_map.bind("localhost")
            rule, _args = adapter.match(path, method=method, return_rule=True)
        except WebsocketMismatch:  # /ws: a WebSocket rule (flask-sock)
            adapter = self.app.url_map.bind("localhost", url_scheme="ws")
            rule, _args = adapter.match(path, method=method, return_rule=True)
        template = openapi_path(rule)
        operation = self.doc["paths"][template][method.lower()]
        return template, operation

    def check(self, response, method: str, path: str, status: int | None = None):
        """Assert `response` (to method + path) is what the document says; returns it."""
        template, operation = self.operation(method, path)
        code = str(response.status_code)
        if status is not None:
            assert response.status_code == status, (path, response.status_code, response.data)
        documented = operation["responses"]
        assert code in documented, f"{method} {template} answered {code}, not documented"
        content = documented[code].get("content", {})
        if response.mimetype == "application/json":
            schema = content.get("application/json", {}).get("schema")
            assert schema is not None, f"{method} {template} {code}: JSON not documented"
            self.validate(schema, response.get_json(), f"{method} {path} {code}")
        elif response.data and method != "HEAD":
            assert response.mimetype in content, (method, template, code, response.mimetype)
        return response

    def validate(self, schema: dict[str, Any], body: Any, where: str) -> None:
        root = {**schema, "components": self.doc["components"]}
        validator = jsonschema_rs.Draft202012Validator(root)
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{where}: {errors[:5]}\n{body}"

    def call(self, method: str, path: str, status: int | None = None, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        return self.check(response, method, path, status)
