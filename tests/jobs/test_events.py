"""Pushed job events (jobs/events.py): version bumps, the fan-out, and the change sources that
carry a write from one process to another (the embedded watcher and Redis pub/sub)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import events, store
from sora_app.jobs.event_sources import WATCH_LOOKBACK
from sora_app.jobs.events import RESYNC, Change, EventHub
from sora_app.models import Job
from tests.conftest import app_config, close_app
from tests.services import redis_url

HANG_GUARD = 30.0
"""Seconds before a missing change fails the test instead of hanging it (not a timing check)."""


def _version(job_id: str) -> int:
    return store.get_job(job_id).version


def test_version_moves_on_real_changes_only(app):
    with app.app_context():
        job_id = store.create_job({"topic": "t"}).id
        assert _version(job_id) == 1
        assert store.claim(job_id, "w", 30)
        assert _version(job_id) == 2
        assert store.heartbeat(job_id, "w", 30)
        store.mark_stage_done(job_id, "w", "script")
        assert _version(job_id) == 2, "lease renewals and bookkeeping are not events"
        assert store.report_progress(job_id, "w", 10.0, "Writing", "line")
        assert _version(job_id) == 3
        assert store.report_progress(job_id, "w", 10.0, "Writing", "line")
        assert _version(job_id) == 3, "a write that repeats the row changes nothing"
        assert store.report_progress(job_id, "w", 10.0, "Writing", "line\nmore")
        assert store.complete(job_id, "w", "v.mp4", None, 1.0)
        assert _version(job_id) == 5
        assert not store.heartbeat(job_id, "w", 30)
        assert _version(job_id) == 5


def test_the_store_publishes_after_its_commit(app):
    """A listener runs when the change is already visible to every other connection."""
    seen: list[tuple[Change, int]] = []
    with app.app_context():
        hub = events.hub()
        job_id = store.create_job({"topic": "t"}, owner_id="ana").id

        def listener(change: Change) -> None:
            with db.engine.connect() as other:  # not the writer's session
                row = other.execute(db.select(Job.version).where(Job.id == change.job_id))
                seen.append((change, row.scalar_one()))

        hub._listeners.add(listener)
        assert store.claim(job_id, "w", 30)
        store.fail(job_id, "w", "BOOM", "it broke")
    assert seen == [(Change(job_id, "ana", 2), 2), (Change(job_id, "ana", 3), 3)]


def test_hub_wakes_waiters_once_per_new_version():
    hub = EventHub()
    cursor = hub.cursor()
    got: list[list[Change]] = []
    started = threading.Event()

    def waiter() -> None:
        started.set()
        got.append(hub.wait(cursor, HANG_GUARD)[1])

    thread = threading.Thread(target=waiter)
    thread.start()
    started.wait()
    assert hub.publish(Change("j", "o", 2))
    thread.join(HANG_GUARD)
    assert got == [[Change("j", "o", 2)]]
    assert not hub.publish(Change("j", "o", 2)), "the same version twice is one event"
    assert not hub.publish(Change("j", "o", 1)), "an older version is no event"
    assert hub.wait(hub.cursor(), 0) == (hub.cursor(), [])


def test_a_waiter_that_fell_out_of_the_backlog_rereads_everything(monkeypatch):
    monkeypatch.setattr(events, "BACKLOG", 3)
    hub = EventHub()
    cursor = hub.cursor()
    for version in range(1, 6):
        hub.publish(Change(f"j{version}", "o", version))
    assert hub.changes(cursor)[1] == [RESYNC]
    assert hub.changes(hub.cursor() - 2)[1] == [Change("j4", "o", 4), Change("j5", "o", 5)]


class _State:
    def __init__(self, version: int) -> None:
        self.version = version


def test_snapshots_are_read_once_per_version():
    hub = EventHub()
    reads: list[int] = []

    def load(version: int):
        def read() -> _State:
            reads.append(version)
            return _State(version)

        return read

    hub.publish(Change("j", "o", 1))
    assert hub.snapshot("j", load(1)).version == 1
    assert hub.snapshot("j", load(99)).version == 1, "cached: no second read"
    hub.publish(Change("j", "o", 2))
    assert hub.snapshot("j", load(2)).version == 2, "a newer version drops the cached one"
    hub.publish(Change("j", "o", 4))
    assert hub.snapshot("j", load(3)).version == 3, "a stale read is returned ..."
    assert hub.snapshot("j", load(4)).version == 4, "... but never cached"
    assert reads == [1, 2, 3, 4]


def test_watcher_reads_only_the_recent_window(app):
    """The lookback, with the watcher's clock injected: an old change is not re-announced."""
    with app.app_context():
        job_id = store.create_job({"topic": "t"}).id
        watcher = app.extensions[events.EXTENSION_KEY + "_sources"].watcher
        later = datetime.now(UTC) + timedelta(seconds=WATCH_LOOKBACK + 5)
        assert watcher.tick(now=later) == 0
        assert watcher.tick() == 0, "the store announced version 1 already"
        watcher.hub = EventHub()
        watcher.known = {}
        assert watcher.tick() == 1 and watcher.hub.latest(job_id) == 1


def _wait_for(hub: EventHub, cursor: int, job_id: str, version: int) -> list[Change]:
    deadline = time.monotonic() + HANG_GUARD
    received: list[Change] = []
    while time.monotonic() < deadline:
        cursor, changes = hub.wait(cursor, deadline - time.monotonic())
        received += changes
        if Change(job_id, "ana", version) in changes:
            return received
    raise AssertionError(f"version {version} of {job_id} never arrived: {received}")


def _two_apps(tmp_path, **config):
    """Two app instances on one SQLite file: two gunicorn workers, as far as events go."""
    base = {**app_config(tmp_path), **config}
    return create_app(base), create_app(base)


def test_embedded_watcher_carries_a_write_to_another_app(tmp_path):
    writer, reader = _two_apps(tmp_path, EVENT_POLL_SECONDS=0.02)
    try:
        with writer.app_context():
            job_id = store.create_job({"topic": "t"}, owner_id="ana").id
        with reader.app_context():
            hub = events.hub()
            with hub.subscription():  # starts the reader's watcher
                cursor = hub.cursor()
                with writer.app_context():
                    assert store.claim(job_id, "w", 30)
                _wait_for(hub, cursor, job_id, 2)
    finally:
        close_app(writer)
        close_app(reader)


def test_redis_pubsub_carries_a_write_to_another_app(tmp_path):
    url = redis_url()
    writer, reader = _two_apps(tmp_path, EVENTS_REDIS_URL=url, EVENT_RESYNC_SECONDS=3600)
    try:
        with writer.app_context():
            job_id = store.create_job({"topic": "t"}, owner_id="ana").id
        events.hub_for(reader)
        bridge = reader.extensions[events.EXTENSION_KEY + "_sources"].redis
        delivered: list[str] = []
        receive = bridge.receive
        bridge.receive = lambda raw: (delivered.append(raw), receive(raw))
        with reader.app_context():
            hub = events.hub()
            cursor = hub.cursor()
            with hub.subscription():
                _wait_for_resyncs(hub, cursor)  # the watcher's first look and the subscription
                cursor = hub.cursor()
                with writer.app_context():
                    assert store.claim(job_id, "w", 30)
                _wait_for(hub, cursor, job_id, 2)
        assert any(job_id in str(raw) for raw in delivered), "it came through Redis"
    finally:
        close_app(writer)
        close_app(reader)


def _wait_for_resyncs(hub: EventHub, cursor: int) -> None:
    deadline, resyncs = time.monotonic() + HANG_GUARD, 0
    while resyncs < 2 and time.monotonic() < deadline:
        cursor, changes = hub.wait(cursor, deadline - time.monotonic())
        resyncs += changes.count(RESYNC)
    if resyncs < 2:
        pytest.fail("the reader's change sources did not start")
