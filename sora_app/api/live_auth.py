"""Who a live connection acts for: the one decision Socket.IO's connect goes through.

`identify` is the single place that turns a credential into a user, so a new kind of
credential (API keys, coming in sora_app/auth.py) is taught here once. The rules are /ws's:
AUTH_MODE=open lets a connection without a credential act for the local user; a credential,
when sent, must be valid; AUTH_MODE=required needs one. A token in the URL (?token=) must be a
media token: URLs end up in logs, so an access token never belongs there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flask import current_app

from .. import auth, tokens
from ..errors import APIError
from ..models import LOCAL_USER_ID


class Refused(Exception):
    """A credential was refused (or missing where required); code and message go to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Credential:
    """What the client sent to prove who it is, and where (a URL may carry only media tokens)."""

    token: Any
    in_url: bool = False


@dataclass(frozen=True)
class Identity:
    """The user a connection acts for; `claims` of its token (None: the open-mode local user)."""

    user_id: str
    claims: dict[str, Any] | None = None


def credential_from(auth_payload: Any, environ: dict[str, Any]) -> Credential | None:
    """The credential of a Socket.IO handshake: `auth {token}`, a Bearer header, or ?token=."""
    if isinstance(auth_payload, dict) and auth_payload.get("token") is not None:
        return Credential(auth_payload["token"])
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return Credential(value.strip())
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "token" in query:
        return Credential(query["token"][0], in_url=True)
    return None


def identify(credential: Credential | None) -> Identity:
    """The user this credential acts for, else Refused (the reason is shown to the client)."""
    if credential is None:
        if current_app.config["AUTH_MODE"] == "required":
            raise Refused(
                "AUTH_REQUIRED",
                "Log in first: send auth {token: <access token>}, an Authorization: Bearer "
                "header, or ?token=<media token>.",
            )
        return Identity(LOCAL_USER_ID)
    kinds = {tokens.MEDIA} if credential.in_url else {tokens.ACCESS, tokens.MEDIA}
    try:
        claims = tokens.verify(credential.token, kinds)
    except APIError as exc:
        raise Refused(exc.code, exc.message) from None
    user_id = str(claims["sub"])
    if user_id != LOCAL_USER_ID and auth.get_user(user_id) is None:
        raise Refused("USER_NOT_FOUND", "The token's user no longer exists.")
    return Identity(user_id, claims)


def session_ended(identity: Identity) -> str | None:
    """Why a long-lived connection's credential stopped being good (expiry, logout), or None."""
    claims = identity.claims
    if claims is None:
        return None
    if time.time() >= float(claims["exp"]):
        return "TOKEN_EXPIRED"
    if auth.session_revoked_now(claims):
        return "TOKEN_REVOKED"
    return None
