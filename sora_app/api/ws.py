"""WebSocket /ws: contract 2's live task updates (auth, subscriptions, progress, heartbeat).

The protocol lives here; the feed (socket state, job messages, the wait) in ws_live.py, a thin
adapter over jobs/events.py like the SSE streams: a socket sleeps until a client message or a
published change of its jobs, with no DB connection held. A socket holds a gthread thread, so
it takes an SSE stream slot.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from simple_websocket import ConnectionClosed, Server

from .. import auth, tokens
from ..errors import APIError
from ..extensions import sock
from ..jobs import events, service
from ..models import FINAL_STATUSES, LOCAL_USER_ID, VIDEO_ID_PREFIX
from .docs import Binary, documented
from .health import VERSION
from .schemas.events import WsQuery
from .ws_live import Connection, push_changes, send_job, wait

log = logging.getLogger(__name__)

CAPABILITIES = ["task_progress", "realtime_updates"]
MAX_MESSAGE_BYTES = 64 * 1024
"""Client messages are tiny; a bigger one closes the socket (1009) before it is buffered."""
MAX_SUBSCRIPTIONS = 100
HANDSHAKE_KEY_BYTES = 16
WS_ENDPOINT = "__flask_sock.live_updates"
"""flask-sock registers /ws on a blueprint of its own."""
TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
SESSION_CHECK_SECONDS = 1.0
"""How often a signed-in socket checks that its login was not ended (one small read)."""
CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013


class AuthFailed(Exception):
    """A token was refused; the text says why and goes to the client."""


def verify_token(raw: Any, *, media_only: bool = False) -> dict[str, Any]:
    """Claims of a usable token: an access token, or a media token (browsers set no headers)."""
    kinds = {tokens.MEDIA} if media_only else {tokens.ACCESS, tokens.MEDIA}
    try:
        return tokens.verify(raw, kinds)
    except APIError as exc:
        raise AuthFailed(exc.message) from None


def _username(user_id: str) -> str:
    if user_id == LOCAL_USER_ID:
        return LOCAL_USER_ID
    user = auth.get_user(user_id)
    if user is None:
        raise AuthFailed("The token's user no longer exists.")
    return user.username


def _authenticate(conn: Connection, token: Any, *, media_only: bool = False) -> bool:
    """Adopt the token's user, or refuse and close; False means the socket is done."""
    try:
        claims = verify_token(token, media_only=media_only)
        user_id = str(claims["sub"])
        username = _username(user_id)
    except AuthFailed as exc:
        log.info("ws_auth_failed connection_id=%s reason=%r", conn.id, str(exc))
        conn.error("AUTH_FAILED", str(exc))
        conn.ws.close(CLOSE_POLICY, "Authentication failed")
        return False
    if not conn.take_slot(user_id):
        _refuse(conn)
        return False
    if user_id != conn.owner:  # another user: nothing followed so far carries over
        conn.tasks.clear()
        conn.seen.clear()
        conn.everything = False
    conn.owner, conn.auth_deadline = user_id, None
    conn.token_claims, conn.token_expires = claims, float(claims["exp"])
    expires = datetime.fromtimestamp(claims["exp"], UTC).isoformat()
    session = {"sessionId": claims["jti"], "expiresAt": expires}
    conn.send("authSuccess", {"userId": user_id, "username": username, **session})
    log.info("ws_auth connection_id=%s user_id=%s", conn.id, user_id)
    return True


def _owner(conn: Connection) -> str | None:
    """Who the socket acts for; None (after an error) when it must authenticate first."""
    if conn.owner is not None:
        return conn.owner
    if conn.auth_required:
        conn.error("AUTH_REQUIRED", "Send an auth message with a token first.")
        return None
    return LOCAL_USER_ID


def _video_id(conn: Connection, payload: dict[str, Any]) -> str | None:
    video_id = payload.get("videoId")
    if not isinstance(video_id, str) or not TASK_ID.fullmatch(video_id):
        conn.error("BAD_MESSAGE", "payload.videoId must be a task id string.")
        return None
    return video_id


def _on_subscribe_task(conn: Connection, payload: dict[str, Any]) -> None:
    """Send the task's current state at once; later changes follow while it runs."""
    owner = _owner(conn)
    video_id = _video_id(conn, payload) if owner else None
    if owner is None or video_id is None:
        return
    job = service.live_job(video_id.removeprefix(VIDEO_ID_PREFIX))
    if job is None or job.owner_id != owner:  # another user's task is as good as missing
        conn.error("TASK_NOT_FOUND", f"No task with id {video_id!r}.", videoId=video_id)
        return
    if job.job_status not in FINAL_STATUSES:
        if job.id not in conn.tasks and len(conn.tasks) >= MAX_SUBSCRIPTIONS:
            conn.error("TOO_MANY_SUBSCRIPTIONS", "Unsubscribe from some tasks first.")
            return
        conn.tasks.add(job.id)
    conn.seen.pop(job.id, None)  # a (re)subscribe gets the current state ...
    resume = payload.get("version")
    if isinstance(resume, int) and not isinstance(resume, bool) and resume > 0:
        conn.seen[job.id] = (resume, ("", -1, ""))  # ... unless it names a version it has
    send_job(conn, job)


def _on_unsubscribe_task(conn: Connection, payload: dict[str, Any]) -> None:
    video_id = _video_id(conn, payload)
    if video_id is not None:
        conn.tasks.discard(video_id.removeprefix(VIDEO_ID_PREFIX))
        conn.send("unsubscribed", {"videoId": video_id})


def _on_subscribe_all(conn: Connection, _payload: dict[str, Any]) -> None:
    """Every change to any of the caller's tasks, starting with the ones active now."""
    owner = _owner(conn)
    if owner is None:
        return
    conn.everything = True
    conn.send("subscribed", {"scope": "all"})
    active = service.active_for_owner(owner)
    service.release_connection()
    for job in active:
        send_job(conn, job)


def _on_unsubscribe_all(conn: Connection, _payload: dict[str, Any]) -> None:
    conn.everything = False
    conn.send("unsubscribed", {"scope": "all"})


HANDLERS: dict[str, Callable[[Connection, dict[str, Any]], bool | None]] = {
    "auth": lambda conn, payload: _authenticate(conn, payload.get("token")),
    "subscribe_task": _on_subscribe_task,
    "unsubscribe_task": _on_unsubscribe_task,
    "subscribe_all": _on_subscribe_all,
    "unsubscribe_all": _on_unsubscribe_all,
    "ping": lambda conn, _payload: conn.send("pong", {}),
    "pong": lambda _conn, _payload: None,  # the answer to our heartbeat: nothing to do
}


def _handle(conn: Connection, raw: str | bytes) -> bool:
    """Act on one client message; False when the socket was closed (a refused token)."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # no lone surrogates ("\ud800")
    except (ValueError, RecursionError, UnicodeEncodeError):  # also 50,000-deep arrays
        data = None
    payload = (data.get("payload") or {}) if isinstance(data, dict) else None
    if not isinstance(payload, dict) or not isinstance(data.get("type"), str):
        conn.error("BAD_MESSAGE", 'Send JSON text like {"type": "ping", "payload": {}}.')
        return True
    kind = data["type"]
    handler = HANDLERS.get(kind)
    if handler is None:
        conn.error("UNKNOWN_MESSAGE", f"Unknown message type {kind[:40]!r}.", type=kind[:40])
        return True
    return handler(conn, payload) is not False


def _session_ended(conn: Connection) -> str | None:
    """An authenticated socket lives no longer than its token: expiry or logout ends it."""
    if conn.token_claims is None:
        return None
    if conn.token_expires is not None and time.time() >= conn.token_expires:
        return "TOKEN_EXPIRED"
    if auth.session_revoked_now(conn.token_claims):
        return "TOKEN_REVOKED"
    return None


def _drop_session(conn: Connection, code: str) -> None:
    """Forget the user and what it followed; the client may send a fresh `auth`."""
    conn.error(code, "The session's token is no longer valid; send auth with a fresh token.")
    log.info("ws_session_ended connection_id=%s reason=%s", conn.id, code)
    conn.owner, conn.token_claims, conn.token_expires = None, None, None
    conn.drop_slot()  # an anonymous socket holds no slot, and must authenticate in time again
    conn.auth_deadline = time.monotonic() + float(current_app.config["WS_AUTH_SECONDS"])
    conn.tasks.clear()
    conn.seen.clear()
    conn.everything = False


def _serve(conn: Connection) -> str:
    """The socket's loop: client messages and pushed job changes as they come."""
    heartbeat = float(current_app.config["EVENT_HEARTBEAT_SECONDS"])
    if "token" in request.args and not _authenticate(conn, request.args["token"], media_only=True):
        return "auth_failed"
    hub = events.hub()
    conn.cursor = hub.cursor()
    next_check = time.monotonic() + SESSION_CHECK_SECONDS
    with hub.subscription(conn.on_change):
        while True:
            conn.ws.event.clear()  # before looking: a message or change from now on wakes us
            while (raw := conn.ws.receive(timeout=0)) is not None:
                if not _handle(conn, raw):
                    return "auth_failed"
            now = time.monotonic()
            if conn.auth_deadline is not None and now >= conn.auth_deadline:
                conn.error("AUTH_TIMEOUT", "No auth message in time; reconnect and authenticate.")
                conn.ws.close(CLOSE_POLICY, "Authentication timeout")
                return "auth_timeout"
            if now >= next_check:
                ended = _session_ended(conn)
                service.release_connection()
                if ended:
                    _drop_session(conn, ended)
                next_check = now + SESSION_CHECK_SECONDS
            push_changes(conn)
            if time.monotonic() - conn.last_write >= heartbeat:
                conn.send("ping", {})  # keeps proxies from closing an idle socket
            wake = min(next_check, conn.last_write + heartbeat, conn.auth_deadline or next_check)
            wait(conn, wake - time.monotonic())


def _refuse(conn: Connection) -> None:
    log.warning("ws_refused connection_id=%s reason=too_many_connections", conn.id)
    conn.error("TOO_MANY_CONNECTIONS", "Too many open live connections; retry later.")
    conn.ws.close(CLOSE_TRY_LATER, "Too many connections")


def _open(conn: Connection) -> bool:
    """Open mode: the socket is the local user's at once. Required mode: it holds no slot and
    must authenticate within WS_AUTH_SECONDS, so idle anonymous sockets lock nobody out."""
    if conn.auth_required:
        conn.auth_deadline = time.monotonic() + float(current_app.config["WS_AUTH_SECONDS"])
        return True
    if not conn.take_slot(LOCAL_USER_ID):
        _refuse(conn)
        return False
    return True


def check_handshake() -> None:
    """Refuse a malformed upgrade with a JSON 4xx before flask-sock would fail on it (500)."""
    if request.endpoint != WS_ENDPOINT or request.method == "OPTIONS":
        return
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise APIError(
            426, "UPGRADE_REQUIRED", "/ws speaks WebSocket only: send Upgrade: websocket.",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )  # fmt: skip
    key = request.headers.get("Sec-WebSocket-Key", "")
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == HANDSHAKE_KEY_BYTES
    except ValueError:
        valid_key = False
    if not valid_key:
        raise APIError(
            400, "BAD_HANDSHAKE", "Sec-WebSocket-Key must be 16 random bytes in base64.",
            field="Sec-WebSocket-Key",
        )  # fmt: skip
    if request.headers.get("Sec-WebSocket-Version", "").strip() != "13":
        raise APIError(
            426, "UNSUPPORTED_WEBSOCKET_VERSION", "Only WebSocket version 13 is spoken here.",
            field="Sec-WebSocket-Version", headers={"Sec-WebSocket-Version": "13"},
        )  # fmt: skip


@sock.route("/ws")
@documented(
    "WebSocket: live task updates (see the protocol in the introduction)",
    query=WsQuery,
    responses={101: Binary((), "Switching protocols: the socket speaks JSON messages")},
    errors={400: "BAD_HANDSHAKE", 426: "UPGRADE_REQUIRED, UNSUPPORTED_WEBSOCKET_VERSION"},
    auth="media",
    tags=("live",),
    websocket=True,
)
def live_updates(ws: Server) -> None:
    """Contract 2's live channel; a full process refuses it instead of starving requests."""
    conn = Connection(ws, uuid.uuid4().hex, current_app.config["AUTH_MODE"] == "required")
    ws.max_message_size = MAX_MESSAGE_BYTES
    log.info("ws_open connection_id=%s", conn.id)
    outcome = "error"
    hello = {"connectionId": conn.id, "serverVersion": VERSION, "capabilities": CAPABILITIES}
    try:
        if not _open(conn):
            outcome = "refused"
            return
        conn.send("connected", hello)
        outcome = _serve(conn)
    except (ConnectionClosed, OSError):
        outcome = "closed"
    finally:
        conn.drop_slot()
        log.info("ws_close connection_id=%s outcome=%s", conn.id, outcome)
