"""Typed settings: the only module that reads os.environ, so every knob is listed here."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from limits import parse_many

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: instance/ and videos/ live beside the package by default."""


Number = TypeVar("Number", int, float)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never mid-request."""


TRAILING_COMMENT = re.compile(r"\s#")


def _env(name: str, default: str) -> str:
    """The setting, stripped. A blank and `#` inside it is refused: systemd's EnvironmentFile
    (and `docker --env-file`) keep an end-of-line comment as part of the value, which would
    otherwise start a server on `production   # …` as if it were development."""
    value = os.environ.get(name, default).strip()
    comment = TRAILING_COMMENT.search(value)
    if comment:  # only the comment is shown: the value may be a secret or a URL with a password
        raise ConfigError(
            f"{name} holds a comment ({value[comment.start() :].strip()!r}). Put comments on "
            "their own lines; env files for systemd and Docker keep the rest of the line as "
            "part of the value"
        )
    return value


def _env_number(
    name: str, default: Number, minimum: Number, maximum: Number | None = None
) -> Number:
    kind = type(default)
    raw = _env(name, str(default))
    try:
        value = kind(raw)
    except ValueError as exc:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {noun}, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}, got {value:g}")
    return value


def _env_int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    return _env_number(name, default, minimum, maximum)


def _env_float(
    name: str, default: float, minimum: float = 0.0, maximum: float | None = None
) -> float:
    return _env_number(name, float(default), float(minimum), maximum)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _env_limit(name: str, default: str) -> str:
    """A flask-limiter limit such as "10 per minute" or "5/second;100/day"."""
    raw = _env(name, default)
    try:
        if not parse_many(raw):
            raise ValueError(raw)
    except ValueError:
        example = '"10 per minute"'
        raise ConfigError(f"{name} must be a rate limit like {example}, got {raw!r}") from None
    return raw


@dataclass(frozen=True)
class Upstream:
    """One hosted service (OpenAI-compatible or Pexels-style) the pipeline may call."""

    name: str
    label: str
    base_url: str
    api_key: str | None
    model: str
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    max_total_seconds: float
    backoff: float
    auth_scheme: str = "Bearer"
    health_path: str = "models"


UPSTREAM_KINDS = {
    # name: (env prefix, label used in messages, default model, default read timeout)
    "llm": ("SORA_LLM", "script model", "gpt-4o-mini", 60.0),
    "images": ("SORA_IMAGE_API", "image API", "gpt-image-1", 120.0),
    "stock": ("SORA_STOCK", "stock photo API", "", 30.0),
    "tts": ("SORA_TTS", "speech API", "tts-1", 60.0),
    "video": ("SORA_VIDEO_API", "video API", "sora-2", 60.0),
}


def _key_variable(prefix: str) -> str:
    """SORA_LLM_API_KEY, but SORA_VIDEO_API_KEY (not ..._API_API_KEY)."""
    return f"{prefix}_KEY" if prefix.endswith("_API") else f"{prefix}_API_KEY"


def _upstreams() -> dict[str, Upstream]:
    """Only upstreams with a base URL are configured; the rest stay offline."""
    found: dict[str, Upstream] = {}
    for name, (prefix, label, model, read_timeout) in UPSTREAM_KINDS.items():
        base_url = _env(f"{prefix}_BASE_URL", "")
        if not base_url:
            continue
        found[name] = Upstream(
            name=name,
            label=label,
            base_url=base_url,
            api_key=_env(_key_variable(prefix), "") or None,
            model=_env(f"{prefix}_MODEL", model),
            connect_timeout=_env_float("SORA_UPSTREAM_CONNECT_TIMEOUT", 5.0, minimum=0.1),
            read_timeout=_env_float(f"{prefix}_READ_TIMEOUT", read_timeout, minimum=0.1),
            max_attempts=_env_int("SORA_UPSTREAM_MAX_ATTEMPTS", 3, minimum=1),
            max_total_seconds=_env_float("SORA_UPSTREAM_MAX_TOTAL_SECONDS", 120.0, minimum=1.0),
            backoff=_env_float("SORA_UPSTREAM_BACKOFF", 0.5),
            auth_scheme="" if name == "stock" else "Bearer",
            health_path="search?query=health&per_page=1" if name == "stock" else "models",
        )
    return found


@dataclass(frozen=True)
class Settings:
    """Every setting with its default; `.env.example` documents the same names."""

    ENV: str
    SECRET_KEY: str
    SQLALCHEMY_DATABASE_URI: str
    INSTANCE_DIR: Path
    VIDEOS_DIR: Path
    UPLOADS_DIR: Path
    WORK_DIR: Path
    ARTEFACTS_DIR: str
    """Where reusable render pieces live ("" = an `artefacts` folder beside WORK_DIR)."""
    ARTEFACT_RETENTION_DAYS: float
    ARTEFACT_MAX_MB: int
    VOICES_DIR: str
    """Piper voices an operator dropped in ("" = a `voices` folder in INSTANCE_DIR)."""
    CORS_ORIGINS: tuple[str, ...]
    JOB_WORKERS: int
    JOB_QUEUE_LIMIT: int
    JOB_LEASE_SECONDS: float
    JOB_HEARTBEAT_SECONDS: float
    JOB_SCAN_SECONDS: float
    JOB_MAX_ATTEMPTS: int
    JOB_EXECUTOR: str
    JOB_MAINTENANCE_SECONDS: float
    JOB_RETENTION_DAYS: float
    CELERY_BROKER_URL: str
    CELERY_QUEUE: str
    CELERY_VISIBILITY_TIMEOUT: float
    MAX_CONTENT_LENGTH: int
    MAX_UPLOAD_BYTES: int
    MAX_AUDIO_SECONDS: float
    BATCH_PARALLEL: int
    MAX_BATCH_VIDEOS: int
    AUTH_MODE: str
    JWT_SECRET_KEY: str
    JWT_ACCESS_TOKEN_EXPIRES: timedelta
    JWT_REFRESH_TOKEN_EXPIRES: timedelta
    MEDIA_TOKEN_SECONDS: int
    KEEP_WORK_DIRS: bool
    EVENT_POLL_SECONDS: float
    EVENT_RESYNC_SECONDS: float
    EVENT_HEARTBEAT_SECONDS: float
    READ_REPLAY_SECONDS: float
    EVENTS_REDIS_URL: str
    DB_POOL_SIZE: int
    DB_MAX_OVERFLOW: int
    MAX_EVENT_STREAMS: int
    MAX_STREAMS_PER_USER: int
    WS_AUTH_SECONDS: float
    UPSTREAMS: dict
    UPSTREAM_HEALTH_TTL: float
    LLM_FALLBACK: bool
    VIDEO_API_POLL_SECONDS: float
    VIDEO_API_MAX_WAIT_SECONDS: float
    MAX_DOWNLOAD_BYTES: int
    FFMPEG_STALL_SECONDS: float
    HEALTH_MIN_FREE_MB: int
    RATELIMIT_ENABLED: bool
    RATELIMIT_STORAGE_URI: str
    RATE_LIMIT_LOGIN: str
    RATE_LIMIT_REGISTER: str
    RATE_LIMIT_REFRESH: str
    RATE_LIMIT_SUBMIT: str
    PROXY_COUNT: int
    """Proxies in front whose X-Forwarded-For/-Proto/-Host/-Prefix are trusted (0: none)."""
    ACCEL_REDIRECT_PREFIX: str
    """nginx's internal location for the videos folder ("" = the app sends the bytes)."""
    LOCAL_VIDEO_MODELS: tuple[str, ...]
    """/v1/videos `model` names rendered by the local pipeline; others go to the gateway."""
    WEBHOOK_ALLOW_HOSTS: tuple[str, ...]
    """Hosts, addresses or networks webhooks may reach although not public (providers.ssrf)."""
    WEBHOOK_MAX_ATTEMPTS: int
    WEBHOOK_TIMEOUT_SECONDS: float
    WEBHOOK_SENDER_THREAD: bool
    """Each process sends webhooks from a thread as jobs end; off: the maintenance pass does."""
    IMAGE_URL_ALLOW_HOSTS: tuple[str, ...]
    """Non-public hosts a /v1 input_reference.image_url may name (providers.ssrf)."""
    IMAGE_URL_TIMEOUT_SECONDS: float
    MEDIA_REPLAY_SECONDS: float
    """How long Flask's yes to a video request is reused below Flask (media_replay.py)."""
    LOG_FORMAT: str
    """text (default) or json: one JSON object a line, with the request id."""
    METRICS_TOKEN: str
    """When set, /metrics answers only `Authorization: Bearer <it>`."""

    def as_flask_config(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


AUTH_MODES = ("open", "required")
ENVIRONMENTS = ("development", "production")


def _auth_mode() -> str:
    mode = _env("SORA_AUTH_MODE", "open").lower()
    if mode not in AUTH_MODES:
        raise ConfigError(f"SORA_AUTH_MODE must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    return mode


def load_settings() -> Settings:
    """Read the environment once; production refuses to start without a real secret."""
    env = _env("SORA_ENV", "development").lower()
    if env not in ENVIRONMENTS:  # a typo must not quietly drop production's guards
        raise ConfigError(f"SORA_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    instance = Path(_env("SORA_INSTANCE_DIR", str(ROOT / "instance"))).resolve()
    secret = _env("SORA_SECRET_KEY", "")
    auth_mode = _auth_mode()
    if not secret:
        if env == "production":
            raise ConfigError("SORA_SECRET_KEY must be set when SORA_ENV=production")
        if auth_mode == "required":
            raise ConfigError("SORA_SECRET_KEY must be set when SORA_AUTH_MODE=required")
        secret = instance_secret(instance)
    default_db = f"sqlite:///{instance / 'sora_app.sqlite'}"
    origins = tuple(o.strip() for o in _env("SORA_CORS_ORIGINS", "*").split(",") if o.strip())
    settings = Settings(
        ENV=env,
        SECRET_KEY=secret,
        SQLALCHEMY_DATABASE_URI=_env("SORA_DATABASE_URL", default_db),
        INSTANCE_DIR=instance,
        VIDEOS_DIR=Path(_env("SORA_VIDEOS_DIR", str(ROOT / "videos"))).resolve(),
        UPLOADS_DIR=Path(_env("SORA_UPLOADS_DIR", str(instance / "uploads"))).resolve(),
        WORK_DIR=Path(_env("SORA_WORK_DIR", str(instance / "work"))).resolve(),
        ARTEFACTS_DIR=_env("SORA_ARTEFACTS_DIR", ""),
        ARTEFACT_RETENTION_DAYS=_env_float("SORA_ARTEFACT_RETENTION_DAYS", 14.0, minimum=0.0),
        ARTEFACT_MAX_MB=_env_int("SORA_ARTEFACT_MAX_MB", 4096, minimum=0),
        VOICES_DIR=_env("SORA_VOICES_DIR", ""),
        CORS_ORIGINS=origins or ("*",),
        JOB_WORKERS=_env_int("SORA_JOB_WORKERS", 1, minimum=1),
        JOB_QUEUE_LIMIT=_env_int("SORA_JOB_QUEUE_LIMIT", 20, minimum=1),
        JOB_LEASE_SECONDS=_env_float("SORA_JOB_LEASE_SECONDS", 30.0, minimum=1.0),
        JOB_HEARTBEAT_SECONDS=_env_float("SORA_JOB_HEARTBEAT_SECONDS", 5.0, minimum=0.1),
        JOB_SCAN_SECONDS=_env_float("SORA_JOB_SCAN_SECONDS", 2.0, minimum=0.05),
        JOB_MAX_ATTEMPTS=_env_int("SORA_JOB_MAX_ATTEMPTS", 3, minimum=1),
        JOB_EXECUTOR=_executor(),
        JOB_MAINTENANCE_SECONDS=_env_float("SORA_JOB_MAINTENANCE_SECONDS", 10.0, minimum=0.1),
        JOB_RETENTION_DAYS=_env_float("SORA_JOB_RETENTION_DAYS", 0.0),
        CELERY_BROKER_URL=_env("SORA_CELERY_BROKER_URL", ""),
        CELERY_QUEUE=_env("SORA_CELERY_QUEUE", "sora_jobs") or "sora_jobs",
        CELERY_VISIBILITY_TIMEOUT=_env_float("SORA_CELERY_VISIBILITY_TIMEOUT", 7200.0, minimum=60),
        MAX_CONTENT_LENGTH=_env_int("SORA_MAX_REQUEST_BYTES", 1_000_000, minimum=1024),
        MAX_UPLOAD_BYTES=_env_int("SORA_MAX_UPLOAD_BYTES", 25_000_000, minimum=1024),
        MAX_AUDIO_SECONDS=_env_float("SORA_MAX_AUDIO_SECONDS", 900.0, minimum=1.0),
        BATCH_PARALLEL=_env_int("SORA_BATCH_PARALLEL", 1, minimum=1),
        MAX_BATCH_VIDEOS=_env_int("SORA_MAX_BATCH_VIDEOS", 50, minimum=1),
        AUTH_MODE=auth_mode,
        JWT_SECRET_KEY=secret,
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(
            minutes=_env_int("SORA_ACCESS_TOKEN_MINUTES", 15, minimum=1)
        ),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(
            days=_env_int("SORA_REFRESH_TOKEN_DAYS", 30, minimum=1)
        ),
        MEDIA_TOKEN_SECONDS=_env_int("SORA_MEDIA_TOKEN_SECONDS", 3600, minimum=10),
        KEEP_WORK_DIRS=_env_bool("SORA_KEEP_WORK_DIRS", False),
        EVENT_POLL_SECONDS=_env_float("SORA_EVENT_POLL_SECONDS", 0.05, minimum=0.01),
        EVENT_RESYNC_SECONDS=_env_float("SORA_EVENT_RESYNC_SECONDS", 2.0, minimum=0.05),
        EVENT_HEARTBEAT_SECONDS=_env_float("SORA_EVENT_HEARTBEAT_SECONDS", 15.0, minimum=1.0),
        READ_REPLAY_SECONDS=_env_float("SORA_READ_REPLAY_SECONDS", 0.5, minimum=0.0),
        EVENTS_REDIS_URL=_env("SORA_EVENTS_REDIS_URL", ""),
        DB_POOL_SIZE=_env_int("SORA_DB_POOL_SIZE", 5, minimum=1),
        DB_MAX_OVERFLOW=_env_int("SORA_DB_MAX_OVERFLOW", 10),
        MAX_EVENT_STREAMS=_env_int("SORA_MAX_EVENT_STREAMS", 16, minimum=1),
        MAX_STREAMS_PER_USER=_env_int("SORA_MAX_STREAMS_PER_USER", 4, minimum=1),
        WS_AUTH_SECONDS=_env_float("SORA_WS_AUTH_SECONDS", 5.0, minimum=0.1),
        UPSTREAMS=_upstreams(),
        UPSTREAM_HEALTH_TTL=_env_float("SORA_UPSTREAM_HEALTH_TTL", 15.0, minimum=0.0),
        LLM_FALLBACK=_env_bool("SORA_LLM_FALLBACK", True),
        VIDEO_API_POLL_SECONDS=_env_float("SORA_VIDEO_API_POLL_SECONDS", 5.0, minimum=0.05),
        VIDEO_API_MAX_WAIT_SECONDS=_env_float("SORA_VIDEO_API_MAX_WAIT_SECONDS", 1800.0, minimum=1),
        MAX_DOWNLOAD_BYTES=_env_int("SORA_MAX_DOWNLOAD_MB", 500, minimum=1) * 2**20,
        FFMPEG_STALL_SECONDS=_env_float("SORA_FFMPEG_STALL_SECONDS", 60.0, minimum=1.0),
        HEALTH_MIN_FREE_MB=_env_int("SORA_HEALTH_MIN_FREE_MB", 500),
        RATELIMIT_ENABLED=_env_bool("SORA_RATELIMIT_ENABLED", True),
        RATELIMIT_STORAGE_URI=_env("SORA_RATELIMIT_STORAGE_URL", "memory://"),
        RATE_LIMIT_LOGIN=_env_limit("SORA_RATE_LIMIT_LOGIN", "10 per minute"),
        RATE_LIMIT_REGISTER=_env_limit("SORA_RATE_LIMIT_REGISTER", "10 per hour"),
        RATE_LIMIT_REFRESH=_env_limit("SORA_RATE_LIMIT_REFRESH", "60 per minute"),
        RATE_LIMIT_SUBMIT=_env_limit("SORA_RATE_LIMIT_SUBMIT", "30 per minute"),
        PROXY_COUNT=_env_int("SORA_PROXY_COUNT", 0, maximum=5),
        ACCEL_REDIRECT_PREFIX=_accel_prefix(),
        LOCAL_VIDEO_MODELS=tuple(
            name.strip()
            for name in _env("SORA_LOCAL_VIDEO_MODELS", "sora-2,sora-2-pro,local").split(",")
            if name.strip()
        ),
        WEBHOOK_ALLOW_HOSTS=_allow_hosts("SORA_WEBHOOK_ALLOW_HOSTS"),
        IMAGE_URL_ALLOW_HOSTS=_allow_hosts("SORA_IMAGE_URL_ALLOW_HOSTS"),
        IMAGE_URL_TIMEOUT_SECONDS=_env_float("SORA_IMAGE_URL_TIMEOUT_SECONDS", 15.0, minimum=0.5),
        # A remembered yes outlives a deleted video or a closed session by this much: capped.
        MEDIA_REPLAY_SECONDS=_env_float(
            "SORA_MEDIA_REPLAY_SECONDS", 5.0, minimum=0.0, maximum=60.0
        ),
        LOG_FORMAT=_log_format(),
        METRICS_TOKEN=_env("SORA_METRICS_TOKEN", ""),
        WEBHOOK_MAX_ATTEMPTS=_env_int("SORA_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=50),
        WEBHOOK_TIMEOUT_SECONDS=_env_float("SORA_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.5),
        WEBHOOK_SENDER_THREAD=_env_bool("SORA_WEBHOOK_SENDER_THREAD", True),
    )
    check_leases(settings.JOB_LEASE_SECONDS, settings.JOB_HEARTBEAT_SECONDS)
    check_celery(settings.as_flask_config())
    return settings


LOG_FORMATS = ("text", "json")


def _log_format() -> str:
    kind = _env("SORA_LOG_FORMAT", "text").lower()
    if kind not in LOG_FORMATS:
        raise ConfigError(f"SORA_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {kind!r}")
    return kind


def _allow_hosts(name: str) -> tuple[str, ...]:
    """An allow-list of non-public hosts, checked at start: a typo in a CIDR must not pass."""
    from .providers.ssrf import AllowList

    raw = _env(name, "")
    try:
        AllowList.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _accel_prefix() -> str:
    """An nginx location such as /_protected_videos/: the file name is appended to it."""
    prefix = _env("SORA_ACCEL_REDIRECT_PREFIX", "")
    if prefix and not (prefix.startswith("/") and prefix.endswith("/")):
        raise ConfigError(f"SORA_ACCEL_REDIRECT_PREFIX must start and end with '/', got {prefix!r}")
    return prefix


EXECUTORS = ("thread", "celery")


def _executor() -> str:
    name = _env("SORA_JOB_EXECUTOR", "thread").lower()
    if name not in EXECUTORS:
        raise ConfigError(f"SORA_JOB_EXECUTOR must be one of {', '.join(EXECUTORS)}, got {name!r}")
    return name


def check_celery(config: dict) -> None:
    """Celery needs a broker, and a visibility timeout no job outlives.

    A message unacknowledged for longer than the timeout is handed to another worker; the
    lease makes that copy a no-op, but it would be one more delivery for every long job.
    """
    if config["JOB_EXECUTOR"] != "celery":
        return
    if not config["CELERY_BROKER_URL"]:
        raise ConfigError("SORA_CELERY_BROKER_URL must be set when SORA_JOB_EXECUTOR=celery")
    longest = float(config["VIDEO_API_MAX_WAIT_SECONDS"])
    if float(config["CELERY_VISIBILITY_TIMEOUT"]) <= longest:
        raise ConfigError(
            f"SORA_CELERY_VISIBILITY_TIMEOUT ({config['CELERY_VISIBILITY_TIMEOUT']:g}) must be "
            f"longer than the longest job, SORA_VIDEO_API_MAX_WAIT_SECONDS ({longest:g})"
        )


SECRET_FILE = "secret_key"
MIN_SECRET_BYTES = 32


def _make_secret(instance: Path, path: Path) -> None:
    staging = instance / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never world-readable
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(MIN_SECRET_BYTES))
    try:
        os.link(staging, path)
    except FileExistsError:
        pass  # another worker won the race; use its key
    finally:
        staging.unlink()


def instance_secret(instance: Path) -> str:
    """A random key made on first start and kept in instance/ (never committed).

    Only for a development box without SORA_SECRET_KEY: a key in the source would let anyone
    who can reach the server forge a token for any user. Written under a temporary name and
    linked into place, so parallel workers starting at once all end up with the same key.
    """
    path = instance / SECRET_FILE
    try:
        instance.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _make_secret(instance, path)
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"SORA_INSTANCE_DIR ({instance}) cannot keep the development secret: "
            f"{exc.strerror}; make it writable or set SORA_SECRET_KEY"
        ) from exc
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds no usable key: delete it to have a new one made")
    return secret


def check_leases(lease: float, heartbeat: float) -> None:
    """A lease must survive a few missed heartbeats, or live jobs get re-queued and run twice."""
    if heartbeat * 3 > lease:
        raise ConfigError(
            f"SORA_JOB_LEASE_SECONDS ({lease:g}) must be at least 3x "
            f"SORA_JOB_HEARTBEAT_SECONDS ({heartbeat:g})"
        )


ENV_FILE = ROOT / ".env"
"""`make run` reads it when present; what the environment already says wins."""


def load_env_file(path: Path = ENV_FILE) -> bool:
    """Fill os.environ from a .env file without overriding anything already set.

    Only the server entry (sora_app.serve) calls it, before reading any setting, so
    `cp .env.example .env` works for `make run` while tests and gunicorn started by systemd
    or Docker (their own environment files) never pick up a developer's .env by accident.
    """
    if not path.is_file():
        return False
    from dotenv import load_dotenv

    load_dotenv(path, override=False)
    return True


@dataclass(frozen=True)
class ServerSettings:
    """How gunicorn serves the app (read by sora_app.gunicorn_conf and sora_app.serve)."""

    host: str
    port: int
    workers: int
    threads: int
    timeout: int
    metrics_dir: Path
    """Where the workers' metric values meet (prometheus-client multiprocess mode)."""
    log_format: str


def load_server_settings() -> ServerSettings:
    return ServerSettings(
        host=_env("SORA_HOST", "127.0.0.1"),
        port=_env_int("SORA_PORT", 5000, minimum=1, maximum=65535),
        # One process by default: Socket.IO's long-polling sessions live in one process's
        # memory (README "Socket.IO"); jobs are subprocesses (ffmpeg), threads are cheap.
        workers=_env_int("SORA_WEB_WORKERS", 1, minimum=1),
        threads=_env_int("SORA_WEB_THREADS", 32, minimum=1),
        timeout=_env_int("SORA_WEB_TIMEOUT", 120, minimum=1),
        metrics_dir=Path(
            _env(
                "SORA_METRICS_DIR",
                str(Path(_env("SORA_INSTANCE_DIR", str(ROOT / "instance"))) / "metrics"),
            )
        ).resolve(),
        log_format=_log_format(),
    )


def folder_problem(settings: Settings, server: ServerSettings) -> str | None:
    """The first data folder this user cannot create or write, named with its setting.

    Checked once at start (gunicorn's master, `make run`): a read-only checkout under
    systemd's ProtectSystem=strict otherwise surfaced as a traceback from deep in a worker.
    """
    folders = {
        "SORA_INSTANCE_DIR": settings.INSTANCE_DIR,
        "SORA_VIDEOS_DIR": settings.VIDEOS_DIR,
        "SORA_UPLOADS_DIR": settings.UPLOADS_DIR,
        "SORA_WORK_DIR": settings.WORK_DIR,
        "SORA_METRICS_DIR": server.metrics_dir,
    }
    for name, folder in folders.items():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-check-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            return (
                f"{name} ({folder}) is not writable: {exc.strerror}. Point it at a folder this "
                "user can write (under systemd, inside ReadWritePaths; deploy/README.md)"
            )
    return None
