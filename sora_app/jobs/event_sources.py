"""Where a process's EventHub learns of changes written by other processes and hosts.

`Watcher`: one thread per process (not per stream) reads the versions of the jobs changed in
the last WATCH_LOOKBACK seconds every interval and publishes the ones it has not seen. That is
the embedded default (gunicorn workers on one box share a SQLite file, no extra service): a
worker's write reaches the streams of every other worker within one interval (50 ms). The
lookback covers a write stamped before a busy SQLite made it wait (busy_timeout is 15 s) and
moderate clock skew between hosts.

`RedisBridge`: when SORA_EVENTS_REDIS_URL is set (or the Celery broker is redis://), every
process also PUBLISHes its changes and one thread per serving process SUBSCRIBEs, so Celery
workers on other hosts reach API hosts' streams at once. Pub/sub keeps nothing for a listener
that reconnects, so the watcher keeps running, slowly (SORA_EVENT_RESYNC_SECONDS), as the safety
net; a broken subscription also makes every stream re-read its jobs.

Both threads stop once the process has had no subscriber for IDLE_STOP seconds (CLI runs and
Celery workers never start them) and start again with the next stream.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ..extensions import db
from ..models import Job
from .events import RESYNC, Change, EventHub

log = logging.getLogger(__name__)

WATCH_LOOKBACK = 60.0
IDLE_STOP = 10.0
ERROR_PAUSE = 1.0
"""After a failed read or a lost Redis connection: wait this long before trying again."""
PUBLISH_PAUSE = 5.0
"""After a failed PUBLISH, skip Redis this long: a job write never waits on a dead Redis."""


def redis_url(config: dict[str, Any]) -> str:
    """The events Redis: its own setting, else a redis:// Celery broker, else none."""
    url = str(config.get("EVENTS_REDIS_URL") or "")
    broker = str(config.get("CELERY_BROKER_URL") or "")
    if not url and config.get("JOB_EXECUTOR") == "celery" and broker.startswith("redis"):
        url = broker
    return url


class Sources:
    """The change sources of one process's hub, started by its first stream."""

    def __init__(self, app: Flask, hub: EventHub) -> None:
        self.app, self.hub = app, hub
        url = redis_url(app.config)
        self.redis = RedisBridge(url, hub) if url else None
        poll = float(app.config["EVENT_POLL_SECONDS"])
        resync = float(app.config.get("EVENT_RESYNC_SECONDS", 2.0))
        self.watcher = Watcher(app, hub, resync if self.redis else poll)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self.watcher.ensure_running()
            if self.redis is not None:
                self.redis.ensure_running()

    def broadcast(self, changes: list[Change]) -> None:
        if self.redis is not None:
            self.redis.publish(changes)


class _Loop:
    """A daemon thread that runs while the hub has subscribers (restartable)."""

    name = "events"

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._idle: float | None = None

    def ensure_running(self) -> None:
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
                self._thread.start()

    def _main(self) -> None:
        """Run until idle; a stream that arrived while it was stopping keeps it going."""
        while True:
            try:
                self._run()
            except Exception:
                log.exception("%s stopped; restarting", self.name)
                time.sleep(ERROR_PAUSE)
            with self._guard:
                if self.hub.subscribers == 0:
                    self._thread = None
                    return

    def wanted(self) -> bool:
        """True while streams are open, and for IDLE_STOP seconds after the last one closed."""
        if self.hub.subscribers > 0:
            self._idle = None
            return True
        if self._idle is None:
            self._idle = time.monotonic()
        return time.monotonic() - self._idle < IDLE_STOP

    def _run(self) -> None:
        raise NotImplementedError


class Watcher(_Loop):
    """One indexed read per interval for the whole process (ix_jobs_updated)."""

    name = "sora-event-watcher"

    def __init__(self, app: Flask, hub: EventHub, interval: float) -> None:
        super().__init__(hub)
        self.app, self.interval = app, interval
        self.known: dict[str, int] = {}

    def tick(self, now: datetime | None = None) -> int:
        """Publish what changed since the last tick; returns how many changes it published."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=WATCH_LOOKBACK)
        query = select(Job.id, Job.owner_id, Job.version).where(Job.updated_at >= cutoff)
        with db.engine.connect() as conn:  # held for this read only
            rows = conn.execute(query).all()
        seen = {job_id: (owner_id, int(version)) for job_id, owner_id, version in rows}
        published = 0
        for job_id, (owner_id, version) in seen.items():
            if self.known.get(job_id) != version:
                published += self.hub.publish(Change(job_id, owner_id, version))
        self.known = {job_id: version for job_id, (_, version) in seen.items()}
        return published

    def _run(self) -> None:
        self.known = {}  # a fresh start announces everything recent: waiters re-check
        self.hub.publish(RESYNC)  # snapshots cached while nobody watched may be stale
        with self.app.app_context():
            while self.wanted():
                try:
                    self.tick()
                    time.sleep(self.interval)
                except Exception:  # a database outage must not end the watcher
                    log.warning("event watcher read failed; retrying", exc_info=True)
                    time.sleep(ERROR_PAUSE)


class RedisBridge(_Loop):
    """PUBLISH this process's changes; SUBSCRIBE to everyone else's."""

    name = "sora-event-redis"

    def __init__(self, url: str, hub: EventHub) -> None:
        super().__init__(hub)
        import redis

        self.url = url
        self.channel = f"sora_job_events:{url.rsplit('/', 1)[-1] or '0'}"
        """Pub/sub channels span Redis's numbered databases; the number keeps apps apart."""
        self.origin = f"{os.getpid()}:{uuid.uuid4().hex[:8]}"
        options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        self.client = redis.Redis.from_url(url, **options)
        self._skip_until = 0.0

    def publish(self, changes: list[Change]) -> None:
        if time.monotonic() < self._skip_until:
            return
        rows = [[c.job_id, c.owner_id, c.version] for c in changes]
        try:
            self.client.publish(self.channel, json.dumps({"o": self.origin, "c": rows}))
        except Exception:
            self._skip_until = time.monotonic() + PUBLISH_PAUSE
            log.warning("event publish to Redis failed; other hosts resync", exc_info=True)

    def receive(self, raw: bytes | str) -> None:
        message = json.loads(raw)
        if message.get("o") == self.origin:
            return  # published to this hub already, at commit
        for job_id, owner_id, version in message.get("c", []):
            self.hub.publish(Change(str(job_id), owner_id, int(version)))

    def _run(self) -> None:
        while self.wanted():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self.hub.publish(RESYNC)  # whatever was missed while not subscribed
                while self.wanted():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self.receive(message["data"])
                return
            except Exception:
                log.warning("event subscription to Redis lost; reconnecting", exc_info=True)
                self.hub.publish(RESYNC)
                time.sleep(ERROR_PAUSE)
            finally:
                pubsub.close()
