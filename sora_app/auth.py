"""Accounts: password hashing, tokens, and who owns the current request.

AUTH_MODE=open (a local box): a request without a token belongs to the local user, so the
Vite app and curl work unchanged; a token, when sent, must be valid. AUTH_MODE=required:
every /api route except auth, health, docs and the catalogue of choices (PUBLIC_ENDPOINTS)
needs a valid access token or API key.
/v1 (the OpenAI SDK's surface) is looser in open mode: the SDK always sends some key, so any
bearer that is not one of ours is the local user, and SDK examples work as written.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.config import config as jwt_config
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import api_keys, tokens
from .errors import APIError, error_response
from .extensions import db, jwt
from .models import LOCAL_USER_ID, User

PUBLIC_PREFIXES = ("/api/auth/", "/api/docs", "/api/openapi.json")
OPENAI_PREFIX = "/v1/"
GUARDED_UNDER_PUBLIC = ("/api/auth/api-keys",)
"""Routes under a public prefix that act for a user all the same."""
PUBLIC_ENDPOINTS = frozenset({"catalog.list_options", "catalog.list_voices_view"})
"""Server-wide lists, the same for everyone: a login page shows the form with them."""
MEDIA_TOKEN_ENDPOINTS = frozenset(
    {
        "media.get_video",
        "catalog.get_voice_preview",
        "events.job_events",
        "events.all_events",
        "media_library.get_media_content",
        "media_library.preview_stock",
    }
)
"""Views a browser opens without headers (<video src>, <audio src>, EventSource): ?token=…."""
_DUMMY_HASH = generate_password_hash("not-a-real-password")
"""Checked when the user does not exist, so a wrong name costs as long as a wrong password."""


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt: deliberately slow


def create_user(username: str, email: str | None, password: str) -> User:
    clash = db.session.scalar(
        select(User).where(or_(User.username == username, User.email == (email or username)))
    )
    if clash is not None or username == LOCAL_USER_ID:
        raise APIError(409, "USER_EXISTS", "That username or email is already registered.")
    user = User(username=username, email=email, password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(login: str, password: str) -> User:
    """The same answer for an unknown user and a wrong password."""
    user = db.session.scalar(select(User).where(or_(User.username == login, User.email == login)))
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, password) or not user:
        raise APIError(401, "INVALID_CREDENTIALS", "The username or password is incorrect.")
    return user


def get_user(user_id: str) -> User | None:
    return db.session.get(User, user_id)


def session_revoked_now(claims: dict[str, Any]) -> bool:
    """Whether the token's login ended, read fresh (a long-lived socket's session is stale)."""
    db.session.rollback()
    return tokens.session_revoked(claims)


def current_owner() -> str:
    """The user id the current request acts for (set by the guard below)."""
    return g.get("owner_id", LOCAL_USER_ID)


def _guard() -> None:
    """Resolve the request's owner before any /api view runs."""
    path = request.path
    if path.startswith(OPENAI_PREFIX) and request.method != "OPTIONS":
        g.owner_id = _openai_owner()
        return
    if (
        request.method == "OPTIONS"
        or not path.startswith("/api/")
        or (path.startswith(PUBLIC_PREFIXES) and not path.startswith(GUARDED_UNDER_PUBLIC))
    ):
        return
    if request.endpoint in MEDIA_TOKEN_ENDPOINTS and "token" in request.args:
        g.owner_id = str(tokens.verify(request.args["token"], {tokens.MEDIA})["sub"])
        return
    key = bearer_value()
    if api_keys.looks_like_key(key):
        g.owner_id = api_keys.verify(key).user_id
        g.via_api_key = True
        return
    optional = (
        current_app.config["AUTH_MODE"] == "open" or request.endpoint in PUBLIC_ENDPOINTS
    )  # a token, when sent, must still be valid
    if optional and _no_token_sent():
        g.owner_id = LOCAL_USER_ID  # what verify_jwt_in_request(optional) decides, done cheaply
        return
    verify_jwt_in_request(optional=optional)  # header tokens: access only (tokens.init_tokens)
    identity = get_jwt_identity()
    g.owner_id = str(identity) if identity is not None else LOCAL_USER_ID


def _openai_owner() -> str:
    """An API key or access token names its user (a bad key is a 401 in any mode); any
    other bearer, or none, is the local user in open mode and a 401 in required mode."""
    raw = bearer_value()
    if api_keys.looks_like_key(raw):
        g.via_api_key = True
        return api_keys.verify(raw).user_id
    required = current_app.config["AUTH_MODE"] == "required"
    if raw and raw.count(".") == 2:  # shaped like a JWT
        try:
            return str(tokens.verify(raw, {tokens.ACCESS})["sub"])
        except APIError:
            if required:
                raise
    if required:
        raise APIError(
            401, "AUTH_REQUIRED", "Send an API key or access token as Authorization: Bearer …"
        )
    return LOCAL_USER_ID


def bearer_value() -> str | None:
    """The credential in `Authorization: Bearer …`, if any (a JWT or an API key)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _no_token_sent() -> bool:
    """No token anywhere flask-jwt-extended would look (by default: the Authorization header).

    The open-mode local user's polls skip the extension's machinery, a measurable part of
    each /api/progress answer; any token sent is still verified in full.
    """
    locations = jwt_config.token_location
    return tuple(locations) == ("headers",) and jwt_config.header_name not in request.headers


def _jwt_error(code: str, message: str, status: int = 401):
    return error_response(status, code, message)


def init_auth(app: Flask) -> None:
    jwt.init_app(app)
    tokens.init_tokens()
    app.before_request(_guard)

    @jwt.token_verification_failed_loader
    def wrong_kind(_header: dict, _payload: dict):
        return _jwt_error("TOKEN_INVALID", "A media token only works in media URLs.")

    @jwt.expired_token_loader
    def expired(_header: dict, _payload: dict):
        return _jwt_error("TOKEN_EXPIRED", "The token has expired; refresh it and retry.")

    @jwt.invalid_token_loader
    def invalid(reason: str):
        return _jwt_error("TOKEN_INVALID", f"The token is invalid: {reason}.")

    @jwt.unauthorized_loader
    def missing(reason: str):
        return _jwt_error("AUTH_REQUIRED", f"Log in first: {reason}.")

    @jwt.revoked_token_loader
    def revoked(_header: dict, _payload: dict):
        return _jwt_error("TOKEN_REVOKED", "The token has been revoked (logged out).")

    @jwt.needs_fresh_token_loader
    def not_fresh(_header: dict, _payload: dict):
        return _jwt_error("TOKEN_NOT_FRESH", "Log in again to do this.")

    @jwt.user_lookup_error_loader
    def no_user(_header: dict, _payload: dict):
        return _jwt_error("USER_NOT_FOUND", "The token's user no longer exists.")
