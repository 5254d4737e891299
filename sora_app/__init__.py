"""sora_app: turns a topic into a finished, narrated video.

`create_app` runs named steps: config -> logging -> extensions -> blueprints -> errors ->
cli -> storage -> Socket.IO (in front of Flask) -> polled-read replays -> trusted proxy
headers (outermost). It starts no job
workers: the server entry point (wsgi.py) does, so CLI commands and tests decide for
themselves.
"""

from __future__ import annotations

import fcntl
import importlib
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .auth import init_auth
from .change_counter import init_change_counter
from .config import check_leases, load_settings
from .errors import register_error_handlers
from .extensions import cors, db, sock
from .media_replay import init_media_replay
from .observe import log_format
from .observe.metrics import init_metrics
from .observe.request_ids import init_request_ids
from .polled_reads import init_polled_reads
from .ratelimits import init_limiter
from .response_policy import init_response_policy
from .schema import SCHEMA_BEFORE_KEY, current_revision, init_migrations, upgrade_schema


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False, static_folder=None)  # api/web.py
    _configure(app, test_config)
    _configure_logging(app)
    init_request_ids(app)  # first: every later hook's logs and errors carry the id
    init_metrics(app)
    _init_extensions(app)
    _register_blueprints(app)
    register_error_handlers(app)
    _register_cli(app)
    _init_storage(app)
    _init_socketio(app)  # /socket.io/ never reaches Flask
    init_polled_reads(app, init_change_counter(app))  # sees the raw request
    init_media_replay(app)  # a player's next range, sent without Flask
    _trust_proxies(app)  # outermost: every layer and gunicorn's access log see the client
    return app


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.update(load_settings().as_flask_config())
    if test_config:
        app.config.update(test_config)
    # A server connection can die between requests (restart, failover): ping it on checkout.
    # A SQLite file can't, and the ping was one more GIL-releasing call per polled read.
    pre_ping = not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": pre_ping})
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///:memory:"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].update(
            pool_size=int(app.config["DB_POOL_SIZE"]),
            max_overflow=int(app.config["DB_MAX_OVERFLOW"]),
        )
    check_leases(app.config["JOB_LEASE_SECONDS"], app.config["JOB_HEARTBEAT_SECONDS"])
    for key in ("INSTANCE_DIR", "VIDEOS_DIR", "UPLOADS_DIR", "WORK_DIR"):
        app.config[key] = Path(app.config[key]).resolve()
    app.instance_path = str(app.config["INSTANCE_DIR"])
    app.json.sort_keys = False


def _configure_logging(app: Flask) -> None:
    log_format.configure(app.config["LOG_FORMAT"])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers and one writer work at once; busy_timeout makes writers queue."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    init_migrations(app)
    init_auth(app)
    init_limiter(app)
    init_response_policy(app)
    origins = list(app.config["CORS_ORIGINS"])
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": origins}, r"/health": {"origins": origins}},
        allow_headers=["Content-Type", "Authorization", "Range", "If-Range"],
        expose_headers=["Content-Range", "Accept-Ranges", "Content-Length", "Retry-After"],
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
    from .api import ws  # its @sock.route must exist before init_app

    sock.init_app(app)
    app.before_request(ws.check_handshake)


BLUEPRINTS = (
    "generate", "tasks", "media", "health", "catalog", "uploads", "auth", "events", "scripts",
    "videos", "media_library", "bulk", "api_keys", "v1_videos", "webhooks", "web", "api_docs",
)  # fmt: skip
"""The api package's modules, each with one blueprint `bp`."""


def _register_blueprints(app: Flask) -> None:
    from . import api

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f".{name}", api.__name__).bp)


def _init_socketio(app: Flask) -> None:
    """The creator studio's Socket.IO events, in front of Flask (a protocol of its own)."""
    from .api.sio import init_socketio

    init_socketio(app)


def _trust_proxies(app: Flask) -> None:
    """Behind nginx: the client's address, scheme, host and path prefix, not the proxy's.

    Outermost, and on the server's own environ dict, so Socket.IO, polled reads, rate-limit
    keys and gunicorn's access log (%(h)s) all see the forwarded client. PROXY_COUNT=0 trusts
    no X-Forwarded-* header at all.
    """
    count = int(app.config["PROXY_COUNT"])
    if count:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_prefix=count
        )


def _register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)


def _init_storage(app: Flask) -> None:
    """Create folders and migrate the schema; a file lock keeps parallel workers from racing."""
    for key in ("INSTANCE_DIR", "VIDEOS_DIR", "UPLOADS_DIR", "WORK_DIR"):
        Path(app.config[key]).mkdir(parents=True, exist_ok=True)
    lock_path = Path(app.config["INSTANCE_DIR"]) / ".init.lock"
    with lock_path.open("w") as lock, app.app_context():
        fcntl.flock(lock, fcntl.LOCK_EX)
        from . import api_keys, models  # noqa: F401  (registers the tables)
        from .content import tables  # noqa: F401
        from .jobs import batch_tables, upstream_deletes, webhook_tables  # noqa: F401

        app.extensions[SCHEMA_BEFORE_KEY] = current_revision()
        upgrade_schema()
