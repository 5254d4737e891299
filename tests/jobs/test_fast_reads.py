"""Fast reads (issue 9): the polled reads answer from indexes and a per-process cache that is
checked against the database on every read, so another worker's write shows at once.

Two app instances on one database stand in for two gunicorn workers (each has its own cache
and connection pool). Plans are asserted on SQLite (EXPLAIN QUERY PLAN) and on a real
PostgreSQL (EXPLAIN, with sequential scans priced out: a tiny table would not need an index).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import queries, read_cache, service, store
from sora_app.jobs.spec import JobSpec
from sora_app.models import LOCAL_USER_ID, Job, utcnow
from tests.conftest import FAST_JOB, app_config, close_app
from tests.services import postgres_schema

REQUEST = JobSpec(**FAST_JOB).with_seed().model_dump(mode="json")
LEASE = "worker-a:1"
OWNER = LOCAL_USER_ID
"""Requests without a token act for the local user (AUTH_MODE=open)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def two_workers(request, tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances on the same database (SQLite file, or a PostgreSQL schema).

    Without the replays of polled reads on SQLite (tests/test_polled_reads.py), so these reach
    the row cache underneath them, which serves every read with PostgreSQL.
    """
    if request.param == "sqlite":
        config = {**app_config(tmp_path), "READ_REPLAY_SECONDS": 0.0}
        apps = (create_app(config), create_app(config))
        yield apps
        for app in apps:
            close_app(app)
        return
    with postgres_schema() as url:
        config = {**app_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url}
        apps = (create_app(config), create_app(config))
        yield apps
        for app in apps:
            close_app(app)


def _running_job(app: Flask, owner: str = OWNER) -> str:
    with app.app_context():
        job_id = store.create_job(REQUEST, owner_id=owner).id
        assert store.claim(job_id, LEASE, 60)
        return job_id


def _progress(app: Flask, path: str) -> dict:
    answer = app.test_client().get(path)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_write_on_one_worker_is_read_at_once_on_another(two_workers) -> None:
    writer, reader = two_workers
    job_id = _running_job(writer)
    with reader.app_context():
        first = service.get_for_owner(job_id, OWNER)
        assert first.progress == 0
        assert service.get_for_owner(job_id, OWNER) is first  # cached: nothing changed
    with writer.app_context():
        assert store.report_progress(job_id, LEASE, 42.5, "Painting scene 1", "line")
    with reader.app_context():
        now = service.get_for_owner(job_id, OWNER)
        assert (now.progress, now.substatus, now.details) == (42.5, "Painting scene 1", "line")
        assert service.latest_for_owner(OWNER).progress == 42.5
    with writer.app_context():
        store.mark_cancelled(job_id, LEASE)
    body = _progress(reader, f"/api/progress/{job_id}")
    assert (body["state"], body["status"]) == ("cancelled", "cancelled")


def test_a_write_that_moves_no_version_still_refreshes_the_cached_row(two_workers) -> None:
    """Stage bookkeeping keeps `version` (no event) but changes the row: `updated_at` tells."""
    writer, reader = two_workers
    job_id = _running_job(writer)
    with reader.app_context():
        assert service.get_for_owner(job_id, OWNER).stage_done is None
    with writer.app_context():
        store.mark_stage_done(job_id, LEASE, "script")
    with reader.app_context():
        assert service.get_for_owner(job_id, OWNER).stage_done == "script"


def test_a_deleted_or_foreign_job_is_not_served_from_the_cache(two_workers) -> None:
    writer, reader = two_workers
    job_id = _running_job(writer)
    with reader.app_context():
        assert service.current_view(job_id, OWNER) is not None
        assert service.current_view(job_id, "bob") is None  # cached for its owner, still not bob's
    with writer.app_context():
        store.mark_cancelled(job_id, LEASE)
        assert store.delete_job(job_id)
    with reader.app_context():
        assert service.current_view(job_id, OWNER) is None
        assert service.latest_for_owner(OWNER) is None


def test_the_cache_loads_a_row_once_per_change(two_workers) -> None:
    writer, reader = two_workers
    job_id = _running_job(writer)
    cache = read_cache.cache_for(reader)
    for _ in range(5):
        _progress(reader, f"/api/progress?job_id={job_id}")
        _progress(reader, f"/api/video/tasks/video_{job_id}")
    assert (cache.loads, cache.hits) == (1, 9)
    with writer.app_context():
        store.report_progress(job_id, LEASE, 10.0, "Writing the script", "")
    assert _progress(reader, "/api/progress")["progress"] == 10
    assert cache.loads == 2


def test_latest_is_the_newest_job_of_the_caller_with_a_stable_tie_break(tmp_path) -> None:
    app = create_app(app_config(tmp_path))
    try:
        with app.app_context():
            moment = utcnow()
            ages = {"a": 0, "b": 0, "c": 1}  # a and b at one moment: the larger id wins
            rows = [
                Job(
                    id=k * 32,
                    owner_id="local",
                    request_json="{}",
                    created_at=moment - timedelta(seconds=age),
                )
                for k, age in ages.items()
            ]
            newer = moment + timedelta(seconds=1)  # someone else's newer job is not mine
            rows.append(Job(id="d" * 32, owner_id="someone", request_json="{}", created_at=newer))
            db.session.add_all(rows)
            db.session.commit()
        assert _progress(app, "/api/progress")["job_id"] == "b" * 32
    finally:
        close_app(app)


def _polled_reads() -> dict[str, str]:
    """The project's own read statements (not copies), with example values, as SQL text."""
    statements = {
        "ix_jobs_owner_created": queries._LATEST_STAMP.params(owner_id="local"),
        "ix_jobs_video_path": queries._MEDIA_OWNER["video_path"].params(name="x.mp4"),
        "ix_jobs_thumbnail_path": queries._MEDIA_OWNER["thumbnail_path"].params(name="x.jpg"),
    }
    dialect = db.engine.dialect
    return {
        index: str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for index, stmt in statements.items()
    }


@pytest.mark.sqlite_only
def test_latest_and_media_lookups_use_their_indexes_on_sqlite(app) -> None:
    with app.app_context():
        for index, statement in _polled_reads().items():
            rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {statement}")).all()
            plan = " | ".join(str(row[-1]) for row in rows)
            assert index in plan and "SCAN" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # latest: the index gives order and tie-break


def test_latest_and_media_lookups_use_their_indexes_on_postgresql(tmp_path) -> None:
    with postgres_schema() as url:
        app = create_app({**app_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})
        try:
            with app.app_context():
                # A near-empty table is cheaper to scan: price scans and sorts out, then see
                # whether the planner *can* answer from the index alone.
                db.session.execute(text("SET enable_seqscan = off"))
                db.session.execute(text("SET enable_sort = off"))
                for index, statement in _polled_reads().items():
                    plan = "\n".join(db.session.execute(text(f"EXPLAIN {statement}")).scalars())
                    assert index in plan and "Sort" not in plan, plan
        finally:
            close_app(app)


def test_a_video_is_served_only_to_the_owner_of_its_job(app, client) -> None:
    with app.app_context():
        job_id = store.create_job(REQUEST, owner_id="local").id
        store.claim(job_id, LEASE, 60)
        assert store.complete(job_id, LEASE, "v_1.mp4", "v_1.jpg", 1.0)
        other = store.create_job(REQUEST, owner_id="bob").id
        store.claim(other, LEASE, 60)
        assert store.complete(other, LEASE, "v_2.mp4", None, 1.0)
    videos = Path(app.config["VIDEOS_DIR"])
    for name in ("v_1.mp4", "v_1.jpg", "v_2.mp4"):
        (videos / name).write_bytes(b"data")
    assert client.get("/api/video/v_1.mp4", headers={"Range": "bytes=0-1"}).status_code == 206
    assert client.get("/api/video/v_1.jpg").status_code == 200
    assert client.get("/api/video/v_2.mp4").status_code == 404  # bob's
    assert client.get("/api/video/v_3.mp4").status_code == 404  # nobody's
    with app.app_context():
        assert queries.owns_media("v_1.jpg", "local") and queries.owns_media("v_2.mp4", "bob")
        assert not queries.owns_media("v_2.mp4", "local")
