"""Rate limits (flask-limiter) on the routes an attacker or a runaway script would hammer.

Password guessing is limited per client address *and* per account name, so neither one
address nor many addresses against one account get far. Job creation is limited per user
(per address for the anonymous local user). Limits live in memory per server process by
default; set SORA_RATELIMIT_STORAGE_URL=redis://… to share them between processes and hosts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address

from .api.validation import parsed_json
from .errors import error_response
from .extensions import limiter
from .models import LOCAL_USER_ID


def limit_from(setting: str) -> Callable[[], str]:
    """The limit string is read per request, so tests and operators can change it."""
    return lambda: str(current_app.config[setting])


def login_name() -> str:
    """The account being guessed at, whatever address the guesses come from."""
    body = parsed_json() if request.content_length else None
    name = body.get("username") if isinstance(body, dict) else None
    return f"login:{name.strip().lower()[:254]}" if isinstance(name, str) else "login:"


def caller() -> str:
    """A signed-in user is one bucket wherever they connect from; the local user is per address."""
    owner = g.get("owner_id", LOCAL_USER_ID)
    return f"user:{owner}" if owner != LOCAL_USER_ID else f"ip:{get_remote_address()}"


def accepted(response) -> bool:
    """Only requests that created something count toward creation limits."""
    return response.status_code < 300


def too_many(exc: RateLimitExceeded):
    """429 in the project's error shape, saying when to come back (also as Retry-After)."""
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    return error_response(
        429,
        "RATE_LIMITED",
        f"Too many requests ({exc.limit.limit}); retry in {wait} s.",
        details={"limit": str(exc.limit.limit), "retry_after": wait},
        headers={"Retry-After": str(wait)},
    )


def init_limiter(app: Flask) -> None:
    # Retry-After comes from too_many() alone: the extension would recompute it a moment
    # later and could disagree with the body by a second.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # a storage outage is no outage
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "sora")
    limiter.init_app(app)
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[hooks.index(limiter._check_request_limit)] = _check_undecorated_routes
    app.register_error_handler(RateLimitExceeded, too_many)


def _check_undecorated_routes() -> None:
    """flask-limiter's per-request check, run only when some limit could apply in it.

    Decorated routes check their own limits in the decorator; the per-request check only
    adds default, application, blueprint and meta limits, and this app sets none. Resolving
    that nothing applies cost ~15 % of a polled read (/api/progress), every request.
    """
    if undecorated_limits_exist():
        limiter._check_request_limit()


def undecorated_limits_exist() -> bool:
    """Whether a default, application, blueprint or meta limit is set (none by default)."""
    manager = limiter.limit_manager
    return bool(
        manager.default_limits
        or manager.application_limits
        or manager._blueprint_limits
        or manager._endpoint_hints
        or limiter._meta_limits
    )
