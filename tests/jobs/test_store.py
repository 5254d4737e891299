"""The job table's state transitions on a real SQLite file, across threads and processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from sora_app.jobs import store
from sora_app.models import JobStatus
from tests.conftest import ROOT


def make_jobs(app, n: int) -> list[str]:
    with app.app_context():
        return [store.create_job({"topic": f"t{i}"}).id for i in range(n)]


def test_claim_is_oldest_first_and_exclusive(app):
    ids = make_jobs(app, 3)
    with app.app_context():
        assert store.claim_next("a", 30) == ids[0]
        assert store.claim_next("b", 30) == ids[1]
        job = store.get_job(ids[0])
        assert job.status == JobStatus.RUNNING.value
        assert job.lease_owner == "a" and job.attempts == 1


def test_threads_never_claim_a_job_twice(app):
    ids = make_jobs(app, 40)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with app.app_context():
            while (job_id := store.claim_next(name, 30)) is not None:
                with lock:
                    claimed.append(job_id)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_two_processes_never_claim_a_job_twice(app, tmp_path):
    ids = make_jobs(app, 300)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.claimer", str(tmp_path), f"p{i}"],
            cwd=ROOT,
            env={**os.environ, "SORA_TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]},
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-p{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline, "claimer processes did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    everything = outputs[0] + outputs[1]
    assert len(everything) == len(set(everything)), "a job was claimed twice"
    assert sorted(everything) == sorted(ids), "a job was lost"
    assert min(len(o) for o in outputs) > 0, "the two processes did not actually compete"


def test_progress_never_goes_backwards_and_needs_the_lease(app):
    (job_id,) = make_jobs(app, 1)
    with app.app_context():
        store.claim_next("a", 30)
        assert store.report_progress(job_id, "a", 40, "Creating scene 1", "")
        assert not store.report_progress(job_id, "a", 30, "stale", "")
        assert not store.report_progress(job_id, "intruder", 60, "not mine", "")
        job = store.get_job(job_id)
        assert job.progress == 40 and job.substatus == "Creating scene 1"


def test_expired_lease_is_requeued_then_failed_after_max_attempts(app):
    (job_id,) = make_jobs(app, 1)
    with app.app_context():
        assert store.claim_next("dead", 0.01) == job_id
        time.sleep(0.02)
        assert store.recover_expired(max_attempts=2) == (1, [])
        job = store.get_job(job_id)
        assert job.status == "queued" and job.lease_owner is None
        assert store.claim_next("dead-again", 0.01) == job_id
        time.sleep(0.02)
        assert store.recover_expired(max_attempts=2) == (0, [job_id])
        job = store.get_job(job_id)
        assert job.status == "failed"
        assert job.error_code == "WORKER_LOST"
        assert "2 times" in job.error_message


def test_heartbeat_keeps_the_lease_and_stops_after_finish(app):
    (job_id,) = make_jobs(app, 1)
    with app.app_context():
        store.claim_next("a", 0.5)
        assert store.heartbeat(job_id, "a", 60)
        time.sleep(0.6)
        assert store.recover_expired(3) == (0, [])
        assert store.complete(job_id, "a", "v.mp4", None, 1.0)
        assert not store.heartbeat(job_id, "a", 60)


def test_a_cursor_pages_every_job_once_each_way_and_only_the_owners(app):
    """The /v1 list's cursor: (created_at, id) order, on SQLite and PostgreSQL alike."""
    with app.app_context():
        mine = [store.create_job({"topic": f"t{i}"}, owner_id="ana").id for i in range(7)]
        store.create_job({"topic": "other"}, owner_id="bob")

        def walk(newest_first: bool) -> list[str]:
            seen, after = [], None
            while True:
                page = store.page_after("ana", after, 3, newest_first)
                if not page:
                    return seen
                seen += [job.id for job in page]
                after = page[-1].id

        oldest_first = walk(False)
        assert sorted(oldest_first) == sorted(mine) and len(oldest_first) == 7
        assert walk(True) == list(reversed(oldest_first))
        assert store.page_after("ana", "not-a-job", 3, True) is None
        bobs = store.page_after("bob", None, 10, True)
        assert store.page_after("ana", bobs[0].id, 3, True) is None  # not ana's cursor
