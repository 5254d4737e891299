"""Accounts: register, login, refresh, logout, me, and short-lived media tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_jwt_extended import get_jwt, get_jwt_identity, jwt_required, verify_jwt_in_request
from pydantic import BaseModel, ConfigDict, Field

from .. import api_keys, auth, tokens
from ..errors import APIError
from ..extensions import limiter
from ..models import LOCAL_USER_ID, User
from ..ratelimits import limit_from, login_name
from .docs import documented
from .schemas.accounts import LoggedOut, MediaToken, Refreshed, Tokens
from .schemas.accounts import User as UserView
from .validation import json_body, parse

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    username: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=8, max_length=128)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=254, description="username or email")
    password: str = Field(min_length=1, max_length=128)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    refresh_token: str | None = Field(default=None, max_length=4096)


def _tokens(user: User) -> dict:
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    access, refresh = tokens.issue_pair(user.id)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
        "user": user.to_dict(),
    }


@bp.post("/register")
@documented(
    "Create an account (and log in)",
    {201: Tokens},
    request=RegisterRequest,
    errors={400: "VALIDATION_ERROR", 409: "USER_EXISTS", 429: "RATE_LIMITED"},
    auth="public",
)
@limiter.limit(limit_from("RATE_LIMIT_REGISTER"))
def register():
    body = parse(RegisterRequest, json_body())
    user = auth.create_user(body.username, body.email, body.password)
    return _tokens(user), 201


@bp.post("/login")
@documented(
    "Log in: an access and a refresh token",
    {200: Tokens},
    request=LoginRequest,
    errors={400: "VALIDATION_ERROR", 401: "INVALID_CREDENTIALS", 429: "RATE_LIMITED"},
    auth="public",
)
@limiter.limit(limit_from("RATE_LIMIT_LOGIN"))
@limiter.limit(limit_from("RATE_LIMIT_LOGIN"), key_func=login_name)
def login():
    body = parse(LoginRequest, json_body())
    return _tokens(auth.authenticate(body.username, body.password))


@bp.post("/refresh")
@documented("A new access token", {200: Refreshed}, errors={429: "RATE_LIMITED"}, auth="refresh")
@limiter.limit(limit_from("RATE_LIMIT_REFRESH"))
@jwt_required(refresh=True)
def refresh():
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": tokens.access_token(get_jwt_identity(), get_jwt()["sid"]),
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


@bp.post("/logout")
@documented(
    "End the login session (all its tokens)",
    {200: LoggedOut},
    request=LogoutRequest,
    errors={400: "TOKEN_INVALID"},
    auth="login",
)
@jwt_required()
def logout():
    """End the session: its access, refresh and media tokens all stop working.

    A refresh token in the body (of the same user) ends its session too, for clients
    that keep tokens of several logins.
    """
    body = parse(LogoutRequest, json_body()) if _has_body() else LogoutRequest()
    user_id = str(get_jwt_identity())
    tokens.end_session(get_jwt()["sid"], user_id)
    if body.refresh_token:
        try:
            other = tokens.verify(body.refresh_token, {tokens.REFRESH})
        except APIError as exc:
            if exc.code in ("TOKEN_REVOKED", "TOKEN_EXPIRED"):  # nothing left to end
                return {"status": "logged_out"}
            raise APIError(
                400, "TOKEN_INVALID", "refresh_token is not a valid token.", field="refresh_token"
            ) from None
        tokens.end_session(other["sid"], user_id)
    return {"status": "logged_out"}


@bp.get("/me")
@documented("Who you are", {200: UserView}, auth="login")
@jwt_required(optional=True)
def me():
    identity = get_jwt_identity()
    if identity is None:
        if current_app.config["AUTH_MODE"] == "required":
            raise APIError(401, "AUTH_REQUIRED", "Log in first.")
        return {"id": LOCAL_USER_ID, "username": LOCAL_USER_ID, "email": None, "local": True}
    user = auth.get_user(str(identity))
    if user is None:
        raise APIError(401, "USER_NOT_FOUND", "The token's user no longer exists.")
    return user.to_dict()


@bp.post("/media-token")
@documented("A 1-hour token for media URLs", {200: MediaToken}, auth="user")
def create_media_token():
    """For <video src>, EventSource and WebSocket URLs, which cannot carry headers.

    An API key may ask too (a script or the command-line client hands a player a URL): the
    token's session is the key (`apikey:<id>`), so revoking the key ends the token as well,
    and the token can do less than the key (media URLs only, for an hour).
    """
    raw = auth.bearer_value()
    if api_keys.looks_like_key(raw):
        key = api_keys.verify(raw)
        token, seconds = tokens.media_token(key.user_id, api_keys.SESSION_PREFIX + key.id)
        return {"token": token, "expires_in": seconds}
    verify_jwt_in_request(optional=True)  # header tokens: access only (tokens.init_tokens)
    identity = get_jwt_identity()
    if identity is None and current_app.config["AUTH_MODE"] == "required":
        raise APIError(401, "AUTH_REQUIRED", "Log in first.")
    if identity is None:
        token, seconds = tokens.media_token(LOCAL_USER_ID, tokens.LOCAL_SESSION)
    else:
        token, seconds = tokens.media_token(str(identity), get_jwt()["sid"])
    return {"token": token, "expires_in": seconds}


def _has_body() -> bool:
    return bool(request.get_data(cache=True))
