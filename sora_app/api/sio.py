"""Socket.IO at /socket.io/: the creator studio's live job events (contract 4).

Events to the client: `processing_started` (the first state of a queued or running job a
connection sees), `progress_update`, `processing_completed`, `processing_failed` (also for a
cancelled job). From the client: `subscribe {job_id}` and `unsubscribe {job_id}`, each with an
ack (`{job_id, subscribed}` or `{error, message}`); `auth: {token, job_id}` at connect
subscribes at once, so socket.io-client's reconnects (which resend `auth`) follow the job again.

A thin adapter like SSE and /ws: python-socketio in threading mode, mounted in front of Flask
(its own WSGI middleware), fed by jobs/events.py through sio_feed.py. Who a connection acts
for is decided by live_auth.identify, once, at connect.

Long-polling sessions live in one process's memory: a client's polls must reach the process
that made its session. So the server runs one gunicorn process by default (SORA_WEB_WORKERS=1,
more threads); several processes need sticky routing in front (README "Socket.IO"). No
cross-process client manager is needed: every process's EventHub hears every job change, and
each process only emits to its own connections.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import socketio
from flask import Flask

from ..jobs import service
from ..models import VIDEO_ID_PREFIX
from .live_auth import Refused, credential_from, identify, session_ended
from .sio_feed import Client, Feeder, Followers
from .stream_slots import stream_slots

log = logging.getLogger(__name__)

PATH = "socket.io"
EXTENSION_KEY = "sora_socketio"
MAX_MESSAGE_BYTES = 64 * 1024
"""Client messages are tiny (a job id); python-engineio refuses bigger ones."""
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_JOB_ID = 64


class _Server(socketio.Server):
    """Runs `after_connect(sid)` once the CONNECT packet is queued.

    Events emitted inside the connect handler would reach the client before it knows it is
    connected, so a connect-time subscription sends its first state from here instead.
    """

    after_connect: Callable[[str], None] | None = None

    def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        super()._handle_connect(eio_sid, namespace, data)  # pinned python-socketio: see tests
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
        if self.after_connect and sid and self.manager.is_connected(sid, namespace or "/"):
            self.after_connect(sid)


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def _refuse(code: str, message: str, **extra: Any) -> socketio.exceptions.ConnectionRefusedError:
    """A refusal socket.io-client shows as `connect_error`: err.message, err.data.error."""
    return socketio.exceptions.ConnectionRefusedError(message, _error(code, message, **extra))


def _job_id(data: Any) -> str | None:
    """The job id of a subscribe (`{job_id}` or the bare id; contract 2's `video_<id>` too)."""
    raw = data.get("job_id") if isinstance(data, dict) else data
    if not isinstance(raw, str) or not JOB_ID.fullmatch(raw):
        return None
    job_id = raw.removeprefix(VIDEO_ID_PREFIX)
    return job_id if 0 < len(job_id) <= MAX_JOB_ID else None


def _connect_job_id(auth: Any, environ: dict[str, Any]) -> Any:
    """A job to follow from the start: `auth.job_id` or `?job_id=` (None: none asked)."""
    if isinstance(auth, dict) and auth.get("job_id") is not None:
        return auth["job_id"]
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    return query["job_id"][0] if "job_id" in query else None


class Live:
    """The handlers of one app's Socket.IO server."""

    def __init__(self, app: Flask, server: _Server) -> None:
        self.app, self.server = app, server
        self.followers = Followers(lambda kind, payload, sid: server.emit(kind, payload, to=sid))
        self.feeder = Feeder(app, self.followers, self.end_session)
        self.pending: dict[str, str] = {}
        """Connect-time job ids, subscribed once the connection is confirmed."""

    def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Admit the connection for the credential's user, or refuse it with the reason."""
        with self.app.app_context():
            try:
                identity = identify(credential_from(auth, environ))
            except Refused as exc:
                log.info("event=socketio_refused sid=%s reason=%s", sid, exc.code)
                raise _refuse(exc.code, exc.message) from None
            wanted = _connect_job_id(auth, environ)
            job_id = _job_id(wanted) if wanted is not None else None
            if wanted is not None and (
                job_id is None or service.current_view(job_id, identity.user_id) is None
            ):  # another user's job is as good as missing
                message = f"No job with id {str(wanted)[:64]!r}."
                raise _refuse("JOB_NOT_FOUND", message, field="job_id")
            slot = stream_slots().acquire(identity.user_id)
            if slot is None:
                log.warning("event=socketio_refused sid=%s reason=too_many_connections", sid)
                raise _refuse(
                    "TOO_MANY_CONNECTIONS", "Too many open live connections; retry later."
                )
            self.followers.add(sid, Client(identity, slot))
            if job_id is not None:
                self.pending[sid] = job_id
            self.feeder.ensure_running()  # also ends the connection when its token does
        log.info("event=socketio_connect sid=%s user=%s", sid, identity.user_id)

    def after_connect(self, sid: str) -> None:
        job_id = self.pending.pop(sid, None)
        if job_id is not None:
            answer = self.subscribe(sid, {"job_id": job_id})
            if "error" in answer:
                self.server.emit("subscribe_error", answer, to=sid)

    def subscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Follow one of the caller's jobs: its current state at once, then every change."""
        job_id = _job_id(data)
        if job_id is None:
            return _error("VALIDATION_ERROR", "Send {job_id: <your job's id>}.", field="job_id")
        identity = self.followers.owner(sid)
        if identity is None:
            return _error("NOT_CONNECTED", "Connect first.")
        with self.app.app_context():
            ended = session_ended(identity)
            if ended is not None:
                self.end_session(sid, ended)
                return _error(ended, "The token is no longer valid; reconnect with a fresh one.")
            self.feeder.ensure_running()
            if not self.followers.follow(sid, job_id):  # before the read: no change slips by
                return _error("TOO_MANY_SUBSCRIPTIONS", "Unsubscribe from some jobs first.")
            job = service.current_view(job_id, identity.user_id)
            if job is None:
                self.followers.unfollow(sid, job_id)
                return _error("JOB_NOT_FOUND", f"No job with id {job_id!r}.", field="job_id")
            self.followers.deliver(job.id, job, only=sid)
        log.info("event=socketio_subscribe sid=%s job=%s", sid, job_id)
        return {"job_id": job_id, "subscribed": True, "status": job.status}

    def unsubscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        job_id = _job_id(data)
        if job_id is None:
            return _error("VALIDATION_ERROR", "Send {job_id: <your job's id>}.", field="job_id")
        self.followers.unfollow(sid, job_id)
        return {"job_id": job_id, "subscribed": False}

    def disconnect(self, sid: str, reason: Any = None) -> None:
        self.pending.pop(sid, None)
        if self.followers.remove(sid) is not None:
            log.info("event=socketio_disconnect sid=%s reason=%s", sid, reason)

    def end_session(self, sid: str, reason: str) -> None:
        """The token expired or its login ended: say so, then close (no auto-reconnect)."""
        message = "The token is no longer valid; reconnect with a fresh one."
        self.server.emit("session_ended", _error(reason, message), to=sid)
        log.info("event=socketio_session_ended sid=%s reason=%s", sid, reason)
        self.server.disconnect(sid)


def init_socketio(app: Flask) -> _Server:
    """Mount Socket.IO in front of Flask: /socket.io/ never reaches its routing or hooks."""
    origins = list(app.config["CORS_ORIGINS"])
    server = _Server(
        async_mode="threading",
        cors_allowed_origins="*" if "*" in origins else origins,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
    )
    live = Live(app, server)
    server.after_connect = live.after_connect
    server.on("connect", live.connect)
    server.on("subscribe", live.subscribe)
    server.on("unsubscribe", live.unsubscribe)
    server.on("disconnect", live.disconnect)
    app.wsgi_app = socketio.WSGIApp(server, app.wsgi_app, socketio_path=PATH)  # type: ignore[method-assign]
    app.extensions[EXTENSION_KEY] = live
    return server
