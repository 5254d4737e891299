"""Accounts' answers: tokens, the caller, media tokens, API keys, the webhook endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .base import Answer


class User(Answer):
    id: str
    username: str
    email: str | None
    created_at: str | None = None
    local: bool | None = Field(default=None, description="Open mode's local user (no token)")


class Tokens(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "access_token": "eyJhbGciOi…", "refresh_token": "eyJhbGciOi…", "token_type": "Bearer",
            "expires_in": 900, "user": {"id": "9b1e…", "username": "alice", "email": None,
                                        "created_at": "2026-11-04T12:34:56+00:00"}}]},
    )  # fmt: skip

    access_token: str = Field(description="Send as Authorization: Bearer <token>")
    refresh_token: str = Field(description="POST /api/auth/refresh with it as the Bearer")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token lives")
    user: User


class Refreshed(Answer):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class LoggedOut(Answer):
    status: Literal["logged_out"]


class MediaToken(Answer):
    token: str = Field(description="Works only as ?token= on media, event and socket URLs")
    expires_in: int


class ApiKey(Answer):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    created_at: str
    last_used_at: str | None


class NewApiKey(ApiKey):
    key: str = Field(description="The whole key (sk-sora-…), shown this once")


class ApiKeys(Answer):
    api_keys: list[ApiKey]


class WebhookEndpoint(Answer):
    url: str | None = Field(description="The default URL for jobs that name none")
    secret: str = Field(description="whsec_… (Standard Webhooks): verify signatures with it")
