"""The distributed deployment through real processes: one gunicorn API, two Celery workers
and beat, on PostgreSQL and Redis, sharing one directory as the hosts' shared mount."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from sora_app import create_app
from sora_app.jobs import store
from tests.conftest import (
    FAST_JOB,
    ROOT,
    app_config,
    close_app,
    free_port,
    server_env,
    start_server,
    stop_server,
    wait_for_http,
    wait_for_job,
)
from tests.services import postgres_schema, redis_url

SLOWER_JOB = {**FAST_JOB, "duration": 0.4, "num_scenes": 4}
WORKERS = ("w1", "w2")
REDIS_DBS = {
    "test_five_jobs_complete_spread_over_both_workers": 11,
    "test_killed_worker_job_resumes_on_the_other_worker": 12,
    "test_cancel_reaches_a_job_running_on_a_worker": 13,
    "test_a_stopped_worker_hands_its_job_to_the_other_at_once": 14,
    "test_a_restarted_worker_requeues_what_its_killed_run_left": 10,
}
"""A Redis database of its own per test: no test ever sees another's queue."""


def _until(check: Callable[[], object], what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Cluster:
    tmp: Path
    env: dict[str, str]
    base: str
    app: object
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def celery(self, name: str, *args: str) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        celery = str(Path(sys.executable).parent / "celery")
        self.procs[name] = subprocess.Popen(
            [celery, "-A", "sora_app.celery_app", *args, "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def start_worker(self, name: str) -> None:
        self.celery(name, "worker", "-n", f"{name}@test", "--concurrency", "1")
        _until(lambda: f"{name}@test ready." in self.log(name), f"worker {name} to start")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def claims(self, job_id: str) -> list[str]:
        """Which workers claimed the job, in the order of their log lines' times (each
        worker writes a log of its own, so places in them say nothing about order)."""
        pattern = re.compile(
            rf"^\[([0-9 :,-]+):.* job claimed job={job_id} owner=(\w+)@test:", re.M
        )
        found = []
        for name in (name for name in self.procs if name != "beat"):
            found += [(m.group(1), m.group(2)) for m in pattern.finditer(self.log(name))]
        return [name for _, name in sorted(found)]

    def job(self, job_id: str):
        with self.app.app_context():
            return store.get_job(job_id)

    def get(self, url: str) -> dict:
        return requests.get(self.base + url, timeout=5).json()

    def submit(self, request: dict) -> str:
        answer = requests.post(f"{self.base}/api/generate-video", json=request, timeout=10)
        assert answer.status_code in (200, 201, 202), answer.text
        return answer.json()["job_id"]


def _node(owner: str) -> str:
    """The worker name in a lease owner (`w1@test:<pid>:task`)."""
    return owner.split("@", 1)[0]


@pytest.fixture
def cluster(request, tmp_path: Path) -> Iterator[Cluster]:
    """Both workers and beat; `@pytest.mark.cluster(workers=…, beat=…, **env)` changes that."""
    marker = request.node.get_closest_marker("cluster")
    shape = dict(marker.kwargs) if marker else {}
    workers = shape.pop("workers", WORKERS)
    with_beat = shape.pop("beat", True)
    broker = redis_url(REDIS_DBS[request.node.originalname])
    with postgres_schema() as database:
        port = free_port()
        env = server_env(
            tmp_path, port,
            SORA_DATABASE_URL=database,
            SORA_JOB_EXECUTOR="celery",
            SORA_CELERY_BROKER_URL=broker,
            SORA_CELERY_QUEUE=f"sora_test_{uuid.uuid4().hex[:8]}",
            SORA_JOB_MAINTENANCE_SECONDS="0.5",
            SORA_KEEP_WORK_DIRS="1",  # to look at the stage outputs afterwards
            **shape,
        )  # fmt: skip
        app = create_app({**app_config(tmp_path), "SQLALCHEMY_DATABASE_URI": database})
        server = start_server(env)
        found = Cluster(tmp_path, env, f"http://127.0.0.1:{port}", app)
        try:
            wait_for_http(f"{found.base}/health")
            for name in workers:
                found.start_worker(name)
            if with_beat:
                found.celery("beat", "beat", "-s", str(tmp_path / "beat-schedule"))
            yield found
        finally:
            for proc in found.procs.values():
                stop_server(proc, sig=signal.SIGKILL)
            stop_server(server)
            close_app(app)


def _follow(base: str, job_id: str) -> list[tuple[str, int]]:
    """(event, progress) as an SSE subscriber on the API process receives them, to the end."""
    seen: list[tuple[str, int]] = []
    with requests.get(f"{base}/api/jobs/{job_id}/events", stream=True, timeout=120) as stream:
        kind = ""
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((kind, round(json.loads(line.removeprefix("data: "))["progress"])))
                if kind in ("complete", "error", "cancelled"):
                    break
    return seen


def test_five_jobs_complete_spread_over_both_workers(cluster):
    """...and a subscriber on the API process sees a job that a worker process runs, live."""
    health = cluster.get("/health")["checks"]["workers"]
    assert health["ok"] and health["executor"] == "celery", health
    jobs = [cluster.submit({**FAST_JOB, "topic": f"Lighthouse {i}"}) for i in range(5)]
    with ThreadPoolExecutor(1) as pool:
        followed = pool.submit(_follow, cluster.base, jobs[-1])
        results = [wait_for_job(cluster.get, job_id) for job_id in jobs]
        events = followed.result(timeout=60)
    assert events[-1] == ("complete", 100), events
    steps = [progress for kind, progress in events if kind == "progress"]
    assert len({p // 25 for p in steps}) >= 3, (
        f"the stages' progress did not reach the API: {events}"
    )
    assert [r["status"] for r in results] == ["complete"] * 5, results
    assert [r["attempts"] for r in results] == [1] * 5, "a job was claimed more than once"
    ran_on = {job_id: cluster.claims(job_id) for job_id in jobs}
    assert all(len(names) == 1 for names in ran_on.values()), ran_on
    assert {names[0] for names in ran_on.values()} == set(WORKERS), ran_on
    for r in results:
        assert (Path(cluster.app.config["VIDEOS_DIR"]) / r["video_path"]).stat().st_size > 10_000


def test_killed_worker_job_resumes_on_the_other_worker(cluster):
    job_id = cluster.submit(SLOWER_JOB)
    job, stamps = _mid_flight(cluster, job_id)
    victim = _node(job.lease_owner)
    os.killpg(cluster.procs[victim].pid, signal.SIGKILL)  # the whole host: worker, pool, ffmpeg
    cluster.procs[victim].wait()
    assert cluster.job(job_id).status == "running", "the job should have been mid-flight"

    done = wait_for_job(cluster.get, job_id)
    assert done["status"] == "complete", done
    assert done["attempts"] == 2
    survivor = next(name for name in WORKERS if name != victim)
    assert cluster.claims(job_id) == [victim, survivor]
    assert "resuming after stage" in done["details"]
    _not_redone(stamps)
    videos = Path(cluster.app.config["VIDEOS_DIR"])
    assert not list(videos.glob(".*")), "the killed attempt's partial output remained"
    assert (videos / done["video_path"]).stat().st_size > 10_000


def test_cancel_reaches_a_job_running_on_a_worker(cluster):
    job_id = cluster.submit(SLOWER_JOB)
    _until(lambda: cluster.job(job_id).status == "running", "a worker to claim the job")
    answer = requests.post(f"{cluster.base}/api/jobs/{job_id}/cancel", timeout=5)
    assert answer.status_code in (200, 202), answer.text
    done = wait_for_job(cluster.get, job_id)
    assert done["status"] == "cancelled", done
    assert len(cluster.claims(job_id)) == 1
    assert not (Path(cluster.app.config["WORK_DIR"]) / job_id).exists()


def _mid_flight(cluster: Cluster, job_id: str):
    """The job once its first stages are done, with the stamps of their outputs."""
    job = _until(
        lambda: (j := cluster.job(job_id)).stage_done in ("images", "narration") and j,
        "the job to reach its later stages",
    )
    work = Path(cluster.app.config["WORK_DIR"]) / job_id
    finished = [work / "script.json", *sorted(work.glob("scene_*.jpg"))]
    return job, {p: p.stat().st_mtime_ns for p in finished}


def _not_redone(stamps: dict[Path, int]) -> None:
    assert len(stamps) == 1 + SLOWER_JOB["num_scenes"]
    for path, mtime in stamps.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was redone"


def test_a_stopped_worker_hands_its_job_to_the_other_at_once(cluster):
    """SIGTERM to a worker (as `docker stop` sends it): the job moves, the attempt is refunded.

    Waiting for the lease instead would count a second attempt; finishing the render first
    would leave the job on the stopped worker.
    """
    job_id = cluster.submit(SLOWER_JOB)
    job, stamps = _mid_flight(cluster, job_id)
    victim = _node(job.lease_owner)
    cluster.procs[victim].send_signal(signal.SIGTERM)  # the worker's main process only
    assert cluster.procs[victim].wait(timeout=60) == 0

    done = wait_for_job(cluster.get, job_id)
    assert done["status"] == "complete", done
    assert done["attempts"] == 1, "the handed-back attempt was counted against the job"
    survivor = next(name for name in WORKERS if name != victim)
    assert cluster.claims(job_id) == [victim, survivor]
    assert "refunded=True" in cluster.log(victim)
    _not_redone(stamps)


@pytest.mark.cluster(workers=("w1",), beat=False, SORA_JOB_LEASE_SECONDS="600")
def test_a_restarted_worker_requeues_what_its_killed_run_left(cluster):
    """No beat and a 600 s lease: only the restarted worker itself can pick the job up again."""
    job_id = cluster.submit(SLOWER_JOB)
    _job, stamps = _mid_flight(cluster, job_id)
    os.killpg(cluster.procs["w1"].pid, signal.SIGKILL)
    cluster.procs["w1"].wait()
    assert cluster.job(job_id).status == "running"

    cluster.start_worker("w1")
    done = wait_for_job(cluster.get, job_id)
    assert done["status"] == "complete", done
    assert done["attempts"] == 2, "a silent death counts as an attempt"
    assert cluster.claims(job_id) == ["w1", "w1"]
    assert "event=orphans_requeued node=w1@test" in cluster.log("w1")
    _not_redone(stamps)
