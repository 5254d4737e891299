"""jobs/service.py, the one door to jobs: admission under real concurrency, owner isolation,
cancel and delete outcomes. No workers run here, so queued jobs stay queued."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from sora_app import create_app
from sora_app.jobs import service, store
from sora_app.jobs.executors import EXTENSION_KEY
from sora_app.jobs.spec import JobSpec
from sora_app.models import JobStatus
from tests.conftest import FAST_JOB, app_config, close_app
from tests.services import postgres_schema

SPEC = JobSpec(**FAST_JOB)
RACERS = 16
ROUNDS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request, tmp_path: Path) -> Iterator[Flask]:
    """The app on a real SQLite file, and on a real PostgreSQL (skipped if none runs)."""
    if request.param == "sqlite":
        app = create_app(app_config(tmp_path))
        yield app
        close_app(app)
        return
    with postgres_schema() as url:
        app = create_app({**app_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})
        yield app
        close_app(app)


def _race_submits(app: Flask, racers: int) -> list[str | None]:
    """`racers` threads, each with its own app context and connection, submit at one moment."""
    start = threading.Barrier(racers)
    outcomes: list[str | None] = [None] * racers

    def submit(index: int) -> None:
        with app.app_context():
            start.wait()
            try:
                outcomes[index] = service.submit(SPEC, f"user{index}").id
            except service.QueueFull:
                outcomes[index] = "QUEUE_FULL"

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_concurrent_submits_never_overshoot_the_queue_limit(any_db_app):
    """Count and insert are one atomic step: of 16 simultaneous submits exactly `limit` get in.

    With a count-then-insert (or the condition dropped) several racers see room at once and
    the queue ends up longer than the limit; several rounds make a lucky interleaving unlikely.
    """
    limit = int(any_db_app.config["JOB_QUEUE_LIMIT"])
    for _ in range(ROUNDS):
        outcomes = _race_submits(any_db_app, RACERS)
        admitted = [o for o in outcomes if o not in (None, "QUEUE_FULL")]
        assert outcomes.count(None) == 0, "a racer neither got in nor was refused"
        assert len(admitted) == limit, outcomes
        assert outcomes.count("QUEUE_FULL") == RACERS - limit
        with any_db_app.app_context():
            assert service.queue_counts()["queued"] == limit
            for job_id in admitted:  # make room for the next round
                assert store.request_cancel(job_id) == "cancelled"


def test_a_full_queue_refuses_with_retry_after_and_writes_nothing(app):
    with app.app_context():
        for _ in range(app.config["JOB_QUEUE_LIMIT"]):
            service.submit(SPEC, "alice")
        with pytest.raises(service.QueueFull) as refused:
            service.submit(SPEC, "alice")
        assert refused.value.status == 429 and refused.value.headers["Retry-After"]
        assert service.queue_counts()["queued"] == app.config["JOB_QUEUE_LIMIT"]
        assert service.list_for_owner("alice", None, 0, 100)[1] == app.config["JOB_QUEUE_LIMIT"]


def test_submit_commits_a_queued_job_with_a_seed_and_hands_its_id_to_the_executor(app):
    handed: list[str] = []

    class Recorder:
        def submit(self, job_id: str) -> None:
            handed.append(job_id)

    app.extensions[EXTENSION_KEY] = Recorder()
    try:
        with app.app_context():
            job_id = service.submit(SPEC, "alice", task={"prompt": "p"}).id
            cli_job = service.submit(SPEC, "alice", dispatch=False)
            assert cli_job.job_status is JobStatus.QUEUED
            stored = service.get_for_owner(job_id, "alice")
            assert stored.job_status is JobStatus.QUEUED and stored.owner_id == "alice"
            assert isinstance(stored.request["seed"], int)
            assert stored.request["task"] == {"prompt": "p"}
    finally:
        del app.extensions[EXTENSION_KEY]
    assert handed == [job_id], "dispatch=False (the CLI) must not hand the job over"


def test_another_users_job_is_invisible_not_forbidden(app):
    with app.app_context():
        job = service.submit(SPEC, "alice")
        for act in (service.get_for_owner, service.cancel, service.delete):
            with pytest.raises(service.JobNotFound) as missing:
                act(job.id, "bob")
            assert missing.value.status == 404
        assert service.current_view(job.id, "bob") is None
        assert service.feed("bob", 0) == [] and service.active_for_owner("bob") == []
        assert service.followed("bob", {job.id}) == {}
        assert service.latest_for_owner("bob") is None
        assert service.list_for_owner("bob", None, 0, 10) == ([], 0)
        mine = service.get_for_owner(job.id, "alice")
        assert mine.job_status is JobStatus.QUEUED, "bob's cancel must not have touched it"
        assert [j.id for j in service.feed("alice", 0)] == [job.id]
        assert service.followed("alice", {job.id, "gone"}).keys() == {job.id}


def test_media_of_another_user_is_not_resolved(app):
    with app.app_context():
        job_id = _finished_job(app, "alice")
        name = service.get_for_owner(job_id, "alice").video_path
        assert service.media_file(name, "alice") == Path(app.config["VIDEOS_DIR"]) / name
        assert service.media_file(name, "bob") is None


def test_cancel_outcomes(app):
    with app.app_context():
        queued = service.submit(SPEC, "alice")
        outcome, job = service.cancel(queued.id, "alice")
        assert outcome == "cancelled" and job.job_status is JobStatus.CANCELLED

        running = service.submit(SPEC, "alice")
        assert store.claim(running.id, "test-worker", 30)
        outcome, job = service.cancel(running.id, "alice")
        assert outcome == "cancelling" and job.cancel_requested
        assert job.job_status is JobStatus.RUNNING, "its runner ends it"

        for finished in (queued.id, _finished_job(app, "alice")):
            with pytest.raises(service.JobFinished) as refused:
                service.cancel(finished, "alice")
            assert refused.value.status == 409


def test_delete_removes_files_and_row_of_a_finished_job_only(app):
    videos = Path(app.config["VIDEOS_DIR"])
    with app.app_context():
        done = service.get_for_owner(_finished_job(app, "alice"), "alice")
        active = service.submit(SPEC, "alice")
        assert store.claim(active.id, "test-worker", 30)
        for job_id in (active.id, service.submit(SPEC, "alice").id):  # running, queued
            with pytest.raises(service.JobActive) as refused:
                service.delete(job_id, "alice")
            assert refused.value.status == 409
            assert service.current_view(job_id, "alice") is not None

        service.delete(done.id, "alice")
        assert not (videos / done.video_path).exists()
        assert not (videos / done.thumbnail_path).exists()
        with pytest.raises(service.JobNotFound):
            service.get_for_owner(done.id, "alice")


def test_queue_position_only_for_queued_jobs(app):
    with app.app_context():
        first, second = service.submit(SPEC, "alice"), service.submit(SPEC, "bob")
        assert service.queue_position(first) == 1 and service.queue_position(second) == 2
        assert store.claim(first.id, "test-worker", 30)
        assert service.queue_position(service.get_for_owner(first.id, "alice")) is None


def _finished_job(app: Flask, owner: str) -> str:
    """A completed job with a real video and thumbnail file, as the runner leaves it."""
    job = service.submit(SPEC, owner)
    assert store.claim(job.id, "test-worker", 30)
    videos = Path(app.config["VIDEOS_DIR"])
    videos.mkdir(parents=True, exist_ok=True)
    video, thumb = f"video_{job.id[:8]}.mp4", f"video_{job.id[:8]}.jpg"
    (videos / video).write_bytes(b"mp4")
    (videos / thumb).write_bytes(b"jpg")
    assert store.complete(job.id, "test-worker", video, thumb, 1.0)
    return job.id


def test_rows_read_before_the_connection_is_released_stay_readable(any_db_app):
    """A stream reads the active jobs, lets its connection go, then sends them."""
    with any_db_app.app_context():
        job = service.submit(SPEC, "alice")
        active = service.active_for_owner("alice")
        service.release_connection()
        assert [(j.id, j.status, j.progress) for j in active] == [(job.id, "queued", 0)]
