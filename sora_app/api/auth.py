"""Accounts: register, login, refresh, logout, me, and short-lived media tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)
from jwt import PyJWTError
from pydantic import BaseModel, ConfigDict, Field

from .. import auth
from ..errors import APIError
from ..extensions import db
from ..models import LOCAL_USER_ID, User
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
    return {
        "access_token": create_access_token(identity=user.id),
        "refresh_token": create_refresh_token(identity=user.id),
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
        "user": user.to_dict(),
    }


@bp.post("/register")
def register():
    body = parse(RegisterRequest, json_body())
    user = auth.create_user(body.username, body.email, body.password)
    return _tokens(user), 201


@bp.post("/login")
def login():
    body = parse(LoginRequest, json_body())
    return _tokens(auth.authenticate(body.username, body.password))


@bp.post("/refresh")
@jwt_required(refresh=True)
def refresh():
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(identity=get_jwt_identity()),
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


@bp.post("/logout")
@jwt_required()
def logout():
    """Revoke the access token used here, and the refresh token if one is sent."""
    body = parse(LogoutRequest, json_body()) if _has_body() else LogoutRequest()
    auth.revoke(get_jwt())
    if body.refresh_token:
        try:
            claims = decode_token(body.refresh_token, allow_expired=True)
        except PyJWTError:
            raise APIError(
                400, "TOKEN_INVALID", "refresh_token is not a valid token.", field="refresh_token"
            ) from None
        if str(claims["sub"]) == str(get_jwt_identity()):
            auth.revoke(claims)
    return {"status": "logged_out"}


@bp.get("/me")
@jwt_required(optional=True)
def me():
    identity = get_jwt_identity()
    if identity is None:
        if current_app.config["AUTH_MODE"] == "required":
            raise APIError(401, "AUTH_REQUIRED", "Log in first.")
        return {"id": LOCAL_USER_ID, "username": LOCAL_USER_ID, "email": None, "local": True}
    user = db.session.get(User, str(identity))
    if user is None:
        raise APIError(401, "USER_NOT_FOUND", "The token's user no longer exists.")
    return user.to_dict()


@bp.post("/media-token")
@jwt_required(optional=True)
def create_media_token():
    """For <video src>, EventSource and WebSocket URLs, which cannot carry headers."""
    identity = get_jwt_identity()
    if identity is None and current_app.config["AUTH_MODE"] == "required":
        raise APIError(401, "AUTH_REQUIRED", "Log in first.")
    token, seconds = auth.media_token(str(identity) if identity else LOCAL_USER_ID)
    return {"token": token, "expires_in": seconds}


def _has_body() -> bool:
    return bool(request.get_data(cache=True))
