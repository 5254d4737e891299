"""A request id per request: taken from X-Request-ID (or made), returned, logged, forwarded.

The id lives in observe.request_context's context variable, so the log filter and the
upstream client (which know nothing of Flask) can read it; a job's thread carries
`job-<id>` instead, so the calls a render makes upstream can be found in the upstream's
logs by the job they belong to.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from .request_context import HEADER, current, request_id_of


def _begin() -> None:
    rid = request_id_of(request.environ)
    g.request_id = rid
    current.set(rid)


def _end(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[HEADER] = rid
    return response


def _forget(_exc: BaseException | None) -> None:
    current.set(None)  # gthread reuses threads: the next request must not inherit this id


def init_request_ids(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
    app.teardown_request(_forget)
