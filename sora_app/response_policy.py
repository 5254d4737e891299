"""Headers every answer needs, set in one place so no view can forget them.

- Per-user JSON must never sit in a shared cache (a proxy would hand Alice's jobs to Bob):
  `Cache-Control: no-store` unless a view chose otherwise.
- Owned media may be cached by the viewer's own browser only: `private`, never `public`.
- Every 401 says how to authenticate (`WWW-Authenticate: Bearer`, RFC 6750).
- Only the built-in page (api/web.py) answers in HTML: an automatic OPTIONS answer is JSON.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

MEDIA_ENDPOINTS = frozenset({"media.get_video", "catalog.get_voice_preview"})
MEDIA_MAX_AGE = 3600
REALM = "sora_app"


def _authenticate_header() -> str:
    """error="invalid_token" when a token was sent and refused, as RFC 6750 asks."""
    sent = request.headers.get("Authorization", "").startswith("Bearer ") or (
        "token" in request.args
    )
    return f'Bearer realm="{REALM}"' + (', error="invalid_token"' if sent else "")


def apply_policy(response: Response) -> Response:
    if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = _authenticate_header()
    if request.endpoint in MEDIA_ENDPOINTS and response.status_code < 400:
        response.cache_control.public = False
        response.cache_control.private = True
        response.cache_control.max_age = MEDIA_MAX_AGE
        response.vary.add("Authorization")
    elif response.mimetype == "application/json" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if request.method == "OPTIONS" and response.mimetype == "text/html":
        _options_as_json(response)
    return response


def _options_as_json(response: Response) -> None:
    """Flask's automatic OPTIONS answer is an empty text/html page; say the same in JSON."""
    response.set_data(json.dumps({"allow": sorted(response.allow)}))
    response.mimetype = "application/json"
    response.headers["Cache-Control"] = "no-store"


def init_response_policy(app: Flask) -> None:
    app.after_request(apply_policy)
