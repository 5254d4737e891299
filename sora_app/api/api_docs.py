"""The API's own documentation: the OpenAPI document and Swagger UI, served offline.

The viewer's assets come from the swagger-ui-bundle-v2 package (Swagger UI 5, which reads
OpenAPI 3.1), never from a CDN, so the docs work on a box without a network.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory
from pydantic import ConfigDict
from swagger_ui_bundle import swagger_ui_path

from ..errors import APIError
from .docs import Binary, documented
from .openapi import build
from .schemas.base import Answer

bp = Blueprint("api_docs", __name__)

ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
     "index.css", "favicon-32x32.png", "favicon-16x16.png"}
)  # fmt: skip
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sora_app API</title>
<link rel="stylesheet" href="/api-docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/api-docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api-docs/swagger-ui-bundle.js"></script>
<script src="/api-docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl], layout: "StandaloneLayout"});
</script></body></html>
"""


class OpenAPIDocument(Answer):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict
    paths: dict


@bp.get("/api/openapi.json")
@documented("This OpenAPI document", {200: OpenAPIDocument}, auth="public")
def get_openapi():
    """Built once per app: routes and auth mode do not change while it runs."""
    document = current_app.extensions.get("openapi")
    if document is None:
        document = current_app.extensions["openapi"] = build(current_app)
    return document


@bp.get("/api-docs")
@documented(
    "Swagger UI for this document", {200: Binary(("text/html",), "The page.")}, auth="public"
)
def get_api_docs():
    return Response(PAGE, mimetype="text/html")


@bp.get("/api-docs/<asset>")
@documented(
    "Swagger UI's assets",
    {200: Binary(("text/css", "text/javascript", "image/png"))},
    errors={404: "NOT_FOUND"},
    auth="public",
)
def get_api_docs_asset(asset: str):
    if asset not in ASSETS:
        raise APIError(404, "NOT_FOUND", "No such file.", field="asset")
    return send_from_directory(swagger_ui_path, asset, max_age=86400)
