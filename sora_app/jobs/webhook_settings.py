"""Each user's webhook endpoint: a default URL for their jobs and the secret that signs them.

The secret is made on first need and shown only to its owner (GET /api/auth/webhook);
rotating it signs every later attempt with the new one, retries of older events included.
"""

from __future__ import annotations

import base64
import logging
import secrets

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..errors import APIError
from ..extensions import db
from ..providers.ssrf import AllowList, Target, UnsafeURL, check_url
from .webhook_tables import WebhookEndpoint

log = logging.getLogger(__name__)

SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """Standard Webhooks' secret format: `whsec_` and the base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def allow_list() -> AllowList:
    """Hosts the operator lets webhooks reach although they are not public."""
    return AllowList.parse(current_app.config["WEBHOOK_ALLOW_HOSTS"])


def check_target(url: str, field: str = "webhook_url") -> Target:
    """A URL the server may post to, or a 400 naming the field (at submit and when saved)."""
    try:
        return check_url(url, allow_list())
    except UnsafeURL as exc:
        message = f"{field} {exc.message}"
        raise APIError(400, "WEBHOOK_URL_NOT_ALLOWED", message, field=field) from None


def endpoint(owner_id: str) -> WebhookEndpoint:
    """The owner's endpoint row, made (with a fresh secret) on first need."""
    db.session.rollback()
    found = db.session.get(WebhookEndpoint, owner_id)
    if found is not None:
        return found
    db.session.add(WebhookEndpoint(owner_id=owner_id, url=None, secret=new_secret()))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent first request made it: use theirs
        db.session.rollback()
    return db.session.get(WebhookEndpoint, owner_id)


def secret_of(owner_id: str) -> str:
    return endpoint(owner_id).secret


def default_url(owner_id: str) -> str | None:
    """The owner's default webhook URL, if they set one (no row is made for asking)."""
    db.session.rollback()
    found = db.session.get(WebhookEndpoint, owner_id)
    return found.url if found is not None else None


def set_url(owner_id: str, url: str | None) -> WebhookEndpoint:
    """Save (checked) or clear the owner's default URL; their secret stays."""
    if url is not None:
        check_target(url, field="url")
    row = endpoint(owner_id)
    row.url = url
    db.session.commit()
    log.info("event=webhook_endpoint_set owner=%s cleared=%s", owner_id, url is None)
    return row


def rotate_secret(owner_id: str) -> WebhookEndpoint:
    """A new secret for every attempt from now on (the old one stops verifying)."""
    row = endpoint(owner_id)
    row.secret = new_secret()
    db.session.commit()
    log.info("event=webhook_secret_rotated owner=%s", owner_id)
    return row


def target_for(job_url: str | None, owner_id: str) -> str | None:
    """Where this owner's job reports: its own URL, else the owner's default, else nowhere."""
    return job_url or default_url(owner_id)
