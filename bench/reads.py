"""Fast reads: GET /api/progress (latest job, ?job_id=, /ID) and GET /api/video/tasks/<id>
under the production server (gunicorn + sora_app/gunicorn_conf.py), against an in-memory
reference (bench/reads_reference.py: the same answers from a dict, same gunicorn config),
loaded with wrk. Prints JSON: req/s, p50/p99 per endpoint, the ratio to the reference; medians.

    make bench-reads     (or: .venv/bin/python bench/reads.py --runs 3 --duration 10)

The database is a fresh SQLite file with `--jobs` finished jobs and `--running` running ones
(inserted through the app's models before the server starts; the running ones hold a bench
lease, so no server worker runs them). By-id endpoints ask for a running job (what clients
poll); `--target finished` asks for a finished one instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from liveserver import (
    BENCH,
    Server,
    add_server_arguments,
    clean_up,
    code_version,
    free_port,
    get_json,
    instance_env,
    load_average,
    make_app,
    median,
    parse_env_overrides,
    rounded,
    seed_jobs,
    start_project_server,
    start_server,
)

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
LATENCY_LINE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
TOTAL_LINE = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)


def endpoints(job_id: str) -> dict[str, str]:
    """Name -> path of the reads under test (the same paths on the reference)."""
    return {
        "progress_latest": "/api/progress",
        "progress_query": f"/api/progress?job_id={job_id}",
        "progress_path": f"/api/progress/{job_id}",
        "task": f"/api/video/tasks/video_{job_id}",
    }


def run_wrk(url: str, threads: int, connections: int, seconds: float) -> dict[str, Any]:
    """One wrk run: req/s, latency percentiles in ms, errors."""
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
        "--timeout", "10s", url,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    latency = {f"p{q}": float(v) * UNITS_MS[unit] for q, v, unit in LATENCY_LINE.findall(out)}
    rps = RPS_LINE.search(out)
    errors = SOCKET_ERRORS.search(out)
    non2xx = NON_2XX.search(out)
    total = TOTAL_LINE.search(out)
    if rps is None or "p99" not in latency:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p50_ms": latency["p50"],
        "p99_ms": latency["p99"],
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def capture_reference_data(project: Server, job_id: str, latest: str, path: Path) -> None:
    """The project's own answers, for the reference to serve from memory."""
    base = project.base_url
    jobs = {i: get_json(f"{base}/api/progress/{i}") for i in {job_id, latest}}
    tasks = {f"video_{job_id}": get_json(f"{base}/api/video/tasks/video_{job_id}")}
    path.write_text(json.dumps({"latest": latest, "jobs": jobs, "tasks": tasks}))


def start_reference(env: dict[str, str], tmp: Path, data: Path) -> Server:
    """reads_reference:app under gunicorn with the project's own config file."""
    port = free_port()
    ref_env = {**env, "SORA_PORT": str(port), "BENCH_REFERENCE_DATA": str(data)}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    cmd = [
        gunicorn, "-c", "python:sora_app.gunicorn_conf", "--pythonpath", str(BENCH),
        "reads_reference:app",
    ]  # fmt: skip
    server = start_server("reference", cmd, ref_env, tmp, port)
    return server


def check_same_answers(project: Server, reference: Server, paths: dict[str, str]) -> None:
    """Both servers must answer every path with 200 and the same job, or the race is unfair."""
    for name, path in paths.items():
        mine, theirs = get_json(project.base_url + path), get_json(reference.base_url + path)
        mine_id = mine.get("job_id") or mine.get("data", {}).get("jobId")
        their_id = theirs.get("job_id") or theirs.get("data", {}).get("jobId")
        if mine_id != their_id or mine_id is None:
            raise SystemExit(f"{name}: project answers {mine_id!r}, reference {their_id!r}")


def server_shape() -> dict[str, Any]:
    """What both servers ran with: the project's gunicorn config as this environment makes it."""
    from sora_app import gunicorn_conf

    return {
        "config": "sora_app/gunicorn_conf.py",
        "worker_class": gunicorn_conf.worker_class,
        "workers": gunicorn_conf.workers,
        "threads": gunicorn_conf.threads,
        "keepalive": gunicorn_conf.keepalive,
    }


def summarise(rounds: list[dict[str, dict[str, Any]]], names: list[str]) -> dict[str, Any]:
    """Medians over rounds, and per-round ratios against the reference run in the same round."""
    summary: dict[str, Any] = {}
    for name in ["reference", *names]:
        runs = [r[name] for r in rounds]
        entry: dict[str, Any] = {
            "rps": rounded(median(r["rps"] for r in runs)),
            "p50_ms": rounded(median(r["p50_ms"] for r in runs), 2),
            "p99_ms": rounded(median(r["p99_ms"] for r in runs), 2),
            "rps_runs": [round(r["rps"]) for r in runs],
            "p99_runs_ms": [round(r["p99_ms"], 2) for r in runs],
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
        }
        if name != "reference":
            ratios = [r[name]["rps"] / r["reference"]["rps"] for r in rounds]
            entry["rps_vs_reference"] = rounded(median(ratios), 3)
            entry["rps_vs_reference_runs"] = [round(x, 3) for x in ratios]
            entry["meets_target"] = bool(
                entry["rps_vs_reference"] >= 1.0 and entry["p99_ms"] < 20.0
            )
        summary[name] = entry
    return summary


class ProgressWriter:
    """Moves the running job's substatus `per_second` times a second, as the runner would
    (store.report_progress under the job's lease): every write invalidates replayed answers."""

    def __init__(self, app: Any, job_id: str, lease_owner: str) -> None:
        self.app, self.job_id, self.lease_owner = app, job_id, lease_owner
        self.done = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, per_second: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(1 / per_second,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        from sora_app.jobs import store

        with self.app.app_context():
            while not self._stop.wait(interval):
                self.done += 1
                text = f"Creating scene 2 of 2 (write {self.done})"
                store.report_progress(self.job_id, self.lease_owner, 40.0, text, "")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (each runs every target)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk per target first")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--jobs", type=int, default=1000, help="finished jobs in the table")
    parser.add_argument("--running", type=int, default=3, help="running jobs in the table")
    parser.add_argument("--target", choices=("running", "finished"), default="running")
    parser.add_argument("--only", nargs="*", help="endpoint names to run (default: all)")
    parser.add_argument(
        "--writes-per-second", type=float, default=0.0,
        help="progress writes to the polled running job during the load (a job at work)",
    )  # fmt: skip
    add_server_arguments(
        parser, "extra server settings, e.g. --env SORA_WEB_THREADS=32 (both servers)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    tmp = Path(tempfile.mkdtemp(prefix="sora-bench-reads-"))
    port = free_port()
    env = instance_env(tmp, port, parse_env_overrides(args.env))
    app = make_app(env)
    seeded = seed_jobs(app, args.jobs, max(args.running, 1), f"bench:{os.getpid()}:reads")
    job_id = seeded.running[0] if args.target == "running" else seeded.finished[-2]
    paths = endpoints(job_id)
    if args.only:
        paths = {k: v for k, v in paths.items() if k in args.only}
    project = reference = writer = None
    try:
        project = start_project_server(env, tmp, port)
        data = tmp / "reference.json"
        capture_reference_data(project, job_id, seeded.running[-1], data)
        reference = start_reference(env, tmp, data)
        check_same_answers(project, reference, paths)
        if args.writes_per_second > 0:
            writer = ProgressWriter(app, seeded.running[0], seeded.lease_owner)
            writer.start(args.writes_per_second)
        targets = {"reference": reference.base_url + paths[next(iter(paths))]}
        targets.update({name: project.base_url + path for name, path in paths.items()})
        for url in targets.values():  # warm both servers (imports, connections, caches)
            run_wrk(url, args.threads, args.connections, args.warmup)
        rounds: list[dict[str, dict[str, Any]]] = []
        loads: list[list[float]] = []
        for _ in range(args.runs):
            loads.append(load_average())
            rounds.append(
                {name: run_wrk(url, args.threads, args.connections, args.duration)
                 for name, url in targets.items()}
            )  # fmt: skip
        loads.append(load_average())
        if writer is not None:
            writer.stop()
        project.stop()
        reference.stop()
        report = {
            "code": code_version(),
            "what": "GET reads under the production gunicorn config vs an in-memory reference",
            "server": server_shape(),
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration:g}s --latency",
            "table": {"finished_jobs": args.jobs, "running_jobs": len(seeded.running)},
            "target_job": args.target,
            "writes_per_second": args.writes_per_second,
            "writes_done": writer.done if writer is not None else 0,
            "paths": paths,
            "reference_path": paths[next(iter(paths))],
            "runs": args.runs,
            "load_average_1_5_15": loads,
            "results_median": summarise(rounds, list(paths)),
            "targets": "rps >= 1.0x reference and p99 < 20 ms at 100 connections",
            "project_server_log": project.log_summary(),
            "reference_server_log": reference.log_summary(),
            "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        print(json.dumps(report, indent=2))
    finally:
        for server in (project, reference):
            if server is not None:
                server.stop()
        clean_up(tmp, args.keep)


if __name__ == "__main__":
    main()
