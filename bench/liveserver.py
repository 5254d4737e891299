"""Shared by bench/reads.py and bench/events.py: a throw-away instance folder, the production
server (`python -m sora_app.serve`, i.e. gunicorn with sora_app/gunicorn_conf.py) on it, jobs
seeded straight into its SQLite file, and the small statistics the reports need.

Nothing here touches the checkout's own instance/ or videos/: every run gets a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOG_PROBLEMS = re.compile(
    r"Traceback|\bERROR\b|\bCRITICAL\b|WORKER TIMEOUT|QueuePool limit|TimeoutError|"
    r"database is locked|Too many open files|TOO_MANY|refused",
)
"""Server log lines worth reporting (errors, pool exhaustion, refusals); more "Booting worker"
lines than workers mean a worker died and was replaced."""
ACCESS_STATUS = re.compile(r'" (\d{3}) ')
"""The status in gunicorn's access line `%(h)s "%(r)s" %(s)s %(b)s %(M)sms`."""


def code_version() -> str:
    """The commit the server code comes from, and how many files under sora_app/ differ from
    it (others may be editing the tree while a benchmark runs: say what was measured)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "sora_app", "wsgi.py"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        marker = ROOT / ".bench_code"  # an exported tree (git archive) says what it is
        return marker.read_text().strip() if marker.exists() else "unknown"
    return f"{head} + {len(dirty)} changed files under sora_app/" if dirty else head


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def instance_env(tmp: Path, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The SORA_* settings of a server on its own instance folder (open auth, own port)."""
    env = {
        "SORA_ENV": "development",
        "SORA_AUTH_MODE": "open",
        "SORA_HOST": "127.0.0.1",
        "SORA_PORT": str(port),
        "SORA_INSTANCE_DIR": str(tmp / "instance"),
        "SORA_VIDEOS_DIR": str(tmp / "videos"),
        "SORA_DATABASE_URL": f"sqlite:///{tmp / 'instance' / 'sora_app.sqlite'}",
    }
    env.update(extra or {})
    return env


def add_server_arguments(parser: argparse.ArgumentParser, env_help: str) -> None:
    """--env KEY=VALUE (server settings) and --keep (the temp folder), as every bench has them."""
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help=env_help)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, db)")


def clean_up(tmp: Path, keep: bool) -> None:
    """Remove the bench's temp folder, or say where it was kept (--keep)."""
    if keep:
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_env_overrides(pairs: list[str]) -> dict[str, str]:
    """`--env KEY=VALUE` options into a dict."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env wants KEY=VALUE, got {pair!r}")
        found[key] = value
    return found


@dataclass
class Server:
    """A gunicorn master this script started (its own process group), with its log file."""

    name: str
    process: subprocess.Popen
    log_path: Path
    base_url: str

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the master we started (graceful), SIGKILL to its group if it lingers."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this script created
            self.process.wait(10)

    def log_summary(self) -> dict[str, Any]:
        """Status counts from the access log and the problem lines of the error log."""
        statuses: dict[str, int] = {}
        problems: list[str] = []
        boots = 0
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        for line in text.splitlines():
            match = ACCESS_STATUS.search(line)
            if match and line.count('"') >= 2 and "ms" in line:
                statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
                continue
            if "Booting worker" in line:
                boots += 1
            elif LOG_PROBLEMS.search(line):
                problems.append(line.strip()[:300])
        fives = sum(n for code, n in statuses.items() if code.startswith("5"))
        return {
            "http_status_counts": dict(sorted(statuses.items())),
            "http_5xx": fives,
            "worker_boots": boots,
            "problem_lines": len(problems),
            "first_problems": problems[:8],
        }


def start_server(name: str, cmd: list[str], env: Mapping[str, str], tmp: Path, port: int) -> Server:
    log_path = tmp / f"{name}.log"
    full_env = {**os.environ, **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(name, process, log_path, f"http://127.0.0.1:{port}")
    wait_until_up(server, "/health")
    return server


def start_project_server(env: Mapping[str, str], tmp: Path, port: int) -> Server:
    """The production server, started the way `make run` starts it."""
    return start_server("project", [sys.executable, "-m", "sora_app.serve"], env, tmp, port)


def wait_until_up(server: Server, path: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{server.name} server exited early:\n{tail}")
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=2) as answer:
                answer.read()
            return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 503 /health): it is up
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{server.name} server did not answer {path} within {timeout:.0f} s")


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def post_json(url: str, body: Any, timeout: float = 10.0) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def make_app(env: Mapping[str, str]) -> Any:
    """The app on the same settings (and so the same SQLite file) as the server, in this
    process, for seeding rows and writing state changes through the job store."""
    os.environ.update(env)
    from sora_app import create_app

    return create_app()


def bench_request(topic: str) -> dict[str, Any]:
    """A valid job request, as the API would have stored it."""
    from sora_app.jobs.spec import JobSpec

    spec = JobSpec.model_validate({"topic": topic, "duration": 0.2, "num_scenes": 2}).with_seed()
    return spec.model_dump(mode="json")


@dataclass
class Seeded:
    finished: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    lease_owner: str = ""


def seed_jobs(app: Any, finished: int, running: int, lease_owner: str) -> Seeded:
    """A realistic table: `finished` jobs over the last weeks (1 in 20 failed), then `running`
    ones under `lease_owner`'s long lease (no server worker touches them: the lease never
    expires during the run and only queued jobs are claimed). Inserted in one transaction."""
    from sora_app.extensions import db
    from sora_app.models import LOCAL_USER_ID, Job, JobStatus, new_job_id

    seeded = Seeded(lease_owner=lease_owner)
    now = datetime.now(UTC)
    request_json = json.dumps(bench_request("Seeded bench job"))
    rows: list[Job] = []
    for index in range(finished):
        job_id = new_job_id()
        created = now - timedelta(minutes=10 * (finished - index) + 5)
        done = created + timedelta(seconds=40)
        failed = index % 20 == 19
        row = Job(
            id=job_id, owner_id=LOCAL_USER_ID, request_json=request_json, engine="local",
            created_at=created, started_at=created, finished_at=done, updated_at=done,
            attempts=1,
        )  # fmt: skip
        if failed:
            row.status, row.progress, row.substatus = JobStatus.FAILED.value, 60.0, "Failed"
            row.error_code, row.error_message = "FFMPEG_FAILED", "ffmpeg exited with status 1"
        else:
            row.status, row.progress = JobStatus.COMPLETED.value, 100.0
            row.substatus, row.stage_done = "Video ready for download", "compile"
            row.video_path = f"video_bench_{index:05d}_{job_id[:8]}.mp4"
            row.thumbnail_path = row.video_path.replace(".mp4", ".jpg")
            row.video_duration = 12.0
        rows.append(row)
        seeded.finished.append(job_id)
    for index in range(running):
        job_id = new_job_id()
        created = now - timedelta(seconds=60 * (running - index))
        row = Job(
            id=job_id, owner_id=LOCAL_USER_ID, request_json=request_json, engine="local",
            status=JobStatus.RUNNING.value, progress=40.0, substatus="Creating scene 2 of 2",
            stage_done="script", attempts=1, lease_owner=lease_owner,
            lease_expires_at=time.time() + 86400, created_at=created, started_at=created,
            updated_at=created,
        )  # fmt: skip
        rows.append(row)
        seeded.running.append(job_id)
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
    return seeded


def finish_job(app: Any, job_id: str, lease_owner: str) -> None:
    """End a seeded running job (cancelled) so no stream waits on it."""
    from sora_app.jobs import store

    with app.app_context():
        store.mark_cancelled(job_id, lease_owner)
