"""Tokens: one verifier for every place a token is accepted (headers, media URLs, /ws).

An API key (api_keys.py) is accepted wherever an access token is, with the same claims.

Every token names its kind in `type` (access, refresh or media) and its login session in `sid`.
A media token is only good in the URL of a media route (a leaked `<video src>` must not become
an account); logging out revokes the session, which ends every token minted from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import ExpiredSignatureError, InvalidTokenError, PyJWTError

from . import api_keys
from .errors import APIError
from .extensions import db, jwt
from .models import LOCAL_USER_ID, AuthSession, utcnow

ACCESS, REFRESH, MEDIA = "access", "refresh", "media"
KINDS = frozenset({ACCESS, REFRESH, MEDIA})
LOCAL_SESSION = "local"
"""The `sid` of media tokens for the local user in AUTH_MODE=open, which has no login."""
MAX_TOKEN_CHARS = 4096


def start_session(user_id: str) -> str:
    session = AuthSession(user_id=user_id)
    db.session.add(session)
    db.session.commit()
    return session.id


def issue_pair(user_id: str) -> tuple[str, str]:
    """A fresh login: a new session with its access and refresh token."""
    sid = start_session(user_id)
    return access_token(user_id, sid), create_refresh_token(
        identity=user_id, additional_claims={"sid": sid}
    )


def access_token(user_id: str, sid: str) -> str:
    return create_access_token(identity=user_id, additional_claims={"sid": sid})


def media_token(user_id: str, sid: str) -> tuple[str, int]:
    """A token only good in media URLs, so the long-lived access token never sits in a URL."""
    seconds = int(current_app.config["MEDIA_TOKEN_SECONDS"])
    token = create_access_token(
        identity=user_id,
        additional_claims={"sid": sid, "type": MEDIA},
        expires_delta=timedelta(seconds=seconds),
    )
    return token, seconds


def end_session(sid: str, user_id: str) -> None:
    """Logout: every token of the session stops working at once (access, refresh, media)."""
    session = db.session.get(AuthSession, sid)
    if session is not None and session.user_id == user_id and session.revoked_at is None:
        session.revoked_at = utcnow()
        db.session.commit()


def session_revoked(claims: dict[str, Any]) -> bool:
    """True unless the token's session is live and belongs to the token's user."""
    sid, user_id = claims.get("sid"), str(claims.get("sub"))
    if isinstance(sid, str) and sid.startswith(api_keys.SESSION_PREFIX):
        return api_keys.session_revoked(sid, user_id)
    if sid == LOCAL_SESSION:
        return user_id != LOCAL_USER_ID or current_app.config["AUTH_MODE"] != "open"
    session = db.session.get(AuthSession, sid) if isinstance(sid, str) else None
    return session is None or session.revoked_at is not None or session.user_id != user_id


def verify(raw: Any, kinds: Iterable[str]) -> dict[str, Any]:
    """Claims of a valid, unrevoked token of one of `kinds`, else APIError 401."""
    if api_keys.looks_like_key(raw) and ACCESS in kinds:
        return api_keys.claims_for(api_keys.verify(raw))
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_TOKEN_CHARS or not raw.isascii():
        raise APIError(401, "TOKEN_INVALID", "The token is missing or malformed.")
    try:
        claims = decode_token(raw)
    except (PyJWTError, JWTExtendedException) as exc:
        code = "TOKEN_EXPIRED" if isinstance(exc, ExpiredSignatureError) else "TOKEN_INVALID"
        raise APIError(401, code, f"The token is invalid or expired: {exc}.") from None
    kinds = frozenset(kinds)
    if claims["type"] not in kinds:
        wanted = " or ".join(sorted(kinds))
        message = f"This needs a {wanted} token, not a {claims['type']} token."
        raise APIError(401, "TOKEN_INVALID", message)
    if session_revoked(claims):
        raise APIError(401, "TOKEN_REVOKED", "The token has been revoked (logged out).")
    return claims


def init_tokens() -> None:
    """Teach flask-jwt-extended our rules for tokens sent in the Authorization header."""

    @jwt.decode_key_loader
    def require_claims(_header: dict, unverified: dict) -> str:
        # flask-jwt-extended quietly treats a token without `type` as an access token.
        if unverified.get("type") not in KINDS or not isinstance(unverified.get("sid"), str):
            raise InvalidTokenError("it lacks the type or sid claim")
        return current_app.config["JWT_SECRET_KEY"]

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict, claims: dict) -> bool:
        return session_revoked(claims)

    @jwt.token_verification_loader
    def not_media(_header: dict, claims: dict) -> bool:
        return claims["type"] != MEDIA
