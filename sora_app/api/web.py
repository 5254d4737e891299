"""The built-in web page at `/`: plain files from the package, so it works offline, no build.

The page talks to the same /api routes as every other client; this blueprint only serves
the files, with a strict Content-Security-Policy (no inline code, nothing from elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, make_response, request
from markupsafe import escape

from .docs import Binary, documented

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

bp = Blueprint("web", __name__, static_folder=WEB_DIR / "static", static_url_path="/static")

CSP = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Everything from this origin only: the page must work with no network beyond the server."""


@bp.get("/")
@documented(
    "The built-in web page",
    {200: Binary(("text/html",), "The page; its script and style are under /static/.")},
    auth="public",
)
def get_page() -> Response:
    """Revalidated on every visit, so an upgraded server never pairs old HTML with new JS.

    The page carries the server's auth mode (`<body data-auth-mode>`): without a stored
    login, the script shows the login form of a required-mode server at once, instead of
    asking /api/auth/me and getting the 401 every browser logs as a console error.
    """
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    mode = escape(current_app.config["AUTH_MODE"])
    response = make_response(html.replace("<body>", f'<body data-auth-mode="{mode}">', 1))
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.after_request
def _page_headers(response: Response) -> Response:
    """The page and its files: this origin only, never sniffed, never framed."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
