"""API keys: create (shown once), list (prefix, name, last used) and revoke your own."""

from __future__ import annotations

from flask import Blueprint, g
from pydantic import BaseModel, ConfigDict, Field

from .. import api_keys
from ..auth import current_owner
from ..errors import APIError
from .docs import Empty, documented
from .schemas.accounts import ApiKeys, NewApiKey
from .validation import json_body, parse

bp = Blueprint("api_keys", __name__, url_prefix="/api/auth/api-keys")


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, description="what the key is for")


def _not_by_key() -> None:
    """A key cannot mint or revoke keys: a leaked one must not outlive its revocation."""
    if g.get("via_api_key"):
        raise APIError(403, "API_KEY_NOT_ALLOWED", "Manage API keys with a login, not a key.")


@bp.post("")
@documented(
    "Create an API key (shown once)",
    {201: NewApiKey},
    request=CreateKeyRequest,
    errors={400: "VALIDATION_ERROR", 403: "API_KEY_NOT_ALLOWED"},
)
def create_api_key():
    _not_by_key()
    body = parse(CreateKeyRequest, json_body())
    key, raw = api_keys.create(current_owner(), body.name)
    return {**key.to_dict(), "key": raw}, 201


@bp.get("")
@documented("Your API keys", {200: ApiKeys})
def list_api_keys():
    return {"api_keys": [key.to_dict() for key in api_keys.list_for(current_owner())]}


@bp.delete("/<key_id>")
@documented(
    "Revoke an API key",
    {204: Empty()},
    errors={403: "API_KEY_NOT_ALLOWED", 404: "API_KEY_NOT_FOUND"},
)
def revoke_api_key(key_id: str):
    _not_by_key()
    if not api_keys.revoke(current_owner(), key_id):
        raise APIError(404, "API_KEY_NOT_FOUND", "No such API key.")
    return "", 204
