"""The caller's webhook endpoint: a default URL for their jobs and the secret that signs
every event sent to them (shown here, to its owner only, and rotatable)."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_jwt_extended import get_jwt_identity, jwt_required
from pydantic import BaseModel, ConfigDict, Field

from ..errors import APIError
from ..jobs import webhook_settings
from ..jobs.webhook_tables import WebhookEndpoint
from ..models import LOCAL_USER_ID
from .docs import documented
from .schemas.accounts import WebhookEndpoint as EndpointView
from .validation import json_body, parse

bp = Blueprint("webhooks", __name__, url_prefix="/api/auth/webhook")


class EndpointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    url: str = Field(min_length=1, max_length=2048)


def _owner() -> str:
    """/api/auth/ skips the app-wide guard, so these views say who is asking themselves."""
    identity = get_jwt_identity()
    if identity is None:
        if current_app.config["AUTH_MODE"] == "required":
            raise APIError(401, "AUTH_REQUIRED", "Log in first.")
        return LOCAL_USER_ID
    return str(identity)


def _shown(row: WebhookEndpoint) -> dict:
    return {"url": row.url, "secret": row.secret}


@bp.get("")
@documented("Your webhook URL and secret", {200: EndpointView}, auth="login")
@jwt_required(optional=True)
def get_webhook():
    """The default URL (null if none) and the signing secret, made on first ask."""
    return _shown(webhook_settings.endpoint(_owner()))


@bp.put("")
@documented(
    "Set your default webhook URL",
    {200: EndpointView},
    request=EndpointRequest,
    errors={400: "VALIDATION_ERROR, WEBHOOK_URL_NOT_ALLOWED"},
    auth="login",
)
@jwt_required(optional=True)
def put_webhook():
    """Set the default URL for jobs that name none (checked like a job's webhook_url)."""
    body = parse(EndpointRequest, json_body())
    return _shown(webhook_settings.set_url(_owner(), body.url))


@bp.delete("")
@documented("Clear the default URL", {200: EndpointView}, auth="login")
@jwt_required(optional=True)
def delete_webhook():
    """Clear the default URL; the secret stays (jobs may still name their own URL)."""
    return _shown(webhook_settings.set_url(_owner(), None))


@bp.post("/rotate-secret")
@documented("A new signing secret", {200: EndpointView}, auth="login")
@jwt_required(optional=True)
def rotate_webhook_secret():
    """A new secret signs every attempt from now on, retries of earlier events included."""
    return _shown(webhook_settings.rotate_secret(_owner()))
