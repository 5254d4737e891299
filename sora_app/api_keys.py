"""Long-lived API keys: for SDKs, scripts and sockets that cannot log in with a password.

A key is shown once, at creation; only its SHA-256 is stored. A fast hash is enough here
(unlike passwords): a key is 256 random bits, so there is nothing to guess offline, and a
lookup by hash keeps every request that carries one cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .errors import APIError
from .extensions import db
from .models import new_job_id, utcnow

KEY_PREFIX = "sk-sora-"
"""What tells a key from a JWT (those start with `eyJ`) in an Authorization header."""
SHOWN_CHARS = 12
"""How much of a key its listing shows, so its owner can tell keys apart."""
MAX_KEY_CHARS = 128
USE_RECORD_SECONDS = 60
"""`last_used_at` is written at most this often per key, not on every request."""
SESSION_PREFIX = "apikey:"
"""A key's claims carry `sid = apikey:<id>`, so a socket can see the key revoked."""


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_job_id)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(SHOWN_CHARS))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def looks_like_key(raw: Any) -> bool:
    return isinstance(raw, str) and raw.startswith(KEY_PREFIX)


def create(user_id: str, name: str) -> tuple[ApiKey, str]:
    """A new key for `user_id`; the raw key is returned this once and never stored."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user_id, name=name, prefix=raw[:SHOWN_CHARS], key_hash=_digest(raw))
    db.session.add(key)
    db.session.commit()
    return key, raw


def list_for(user_id: str) -> list[ApiKey]:
    rows = select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    return list(db.session.scalars(rows.order_by(ApiKey.created_at.desc(), ApiKey.id)))


def revoke(user_id: str, key_id: str) -> bool:
    """Revoke one of the caller's keys; another user's key is as good as missing."""
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    done = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return done


def verify(raw: Any) -> ApiKey:
    """The live key for `raw`, its use recorded; else 401 API_KEY_INVALID."""
    if not looks_like_key(raw) or len(raw) > MAX_KEY_CHARS or not raw.isascii():
        raise APIError(401, "API_KEY_INVALID", "The API key is malformed.")
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(raw)))
    if key is None or key.revoked_at is not None:
        raise APIError(401, "API_KEY_INVALID", "The API key is unknown or has been revoked.")
    _record_use(key)
    return key


def _record_use(key: ApiKey) -> None:
    """At most one write a minute per key, whatever the request rate."""
    now = utcnow()
    stale = now - timedelta(seconds=USE_RECORD_SECONDS)
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key.id)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < stale))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).rowcount:
        db.session.commit()


def claims_for(key: ApiKey) -> dict[str, Any]:
    """Token-like claims, so sockets treat a key as they treat an access token."""
    expires = utcnow() + timedelta(days=365)
    return {
        "sub": key.user_id,
        "type": "access",
        "sid": SESSION_PREFIX + key.id,
        "jti": SESSION_PREFIX + key.id,
        "exp": int(expires.timestamp()),
    }


def session_revoked(sid: str, user_id: str) -> bool:
    """Whether the key behind `sid` (apikey:<id>) is gone or not `user_id`'s."""
    key = db.session.get(ApiKey, sid.removeprefix(SESSION_PREFIX))
    return key is None or key.revoked_at is not None or key.user_id != user_id
