"""Events pushed: how long a job's state change takes to reach N live subscribers over SSE
(GET /api/jobs/<id>/events) and WebSocket (/ws, subscribe_task), under the production server;
then a "many open streams" mode: idle SSE streams held open while a real short job runs and
other requests (/health, /api/progress) are fired. Prints JSON; medians of several runs.

    make bench-events    (or: .venv/bin/python bench/events.py --subscribers 100 --runs 3)

Latency: a job row is inserted as running under a bench lease; N subscribers follow it; this
process (not the server) then writes `--changes` progress updates through the runner's own
path (jobs.progress.ProgressReporter -> store.report_progress, lease owner checked), each with
a unique substatus marker, at jittered intervals. Per subscriber and marker: arrival time
minus the moment the write's commit returned. Markers never seen count as `missed`.

Stream limits are raised as an operator would for this many streams (see --help, `server_env`
in the output): SORA_MAX_EVENT_STREAMS and SORA_MAX_STREAMS_PER_USER to the most streams one
process may get (all of them can land on one worker), SORA_WEB_THREADS 32 above that.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveserver import (
    Server,
    add_server_arguments,
    clean_up,
    code_version,
    free_port,
    instance_env,
    load_average,
    make_app,
    median,
    parse_env_overrides,
    percentile,
    post_json,
    rounded,
    seed_jobs,
    start_project_server,
)

SUBMIT_TIMEOUT = 60.0
"""POST /api/generate-video may wait for a pooled DB connection (30 s) before it answers."""
REQUEST_TIMEOUT = 60.0
"""The load clients' read timeout: long enough to see a 500 after a 30 s pool wait."""
STREAM_TIMEOUT = 90.0
"""Socket read timeout of a subscriber; idle streams get a ping every 15 s by default."""
FINAL_SSE_EVENTS = {"complete", "error", "cancelled"}
FINAL_WS_TYPES = {"taskCompleted", "taskFailed"}
SHORT_JOB = {
    "topic": "Bench open streams", "duration": 0.1, "num_scenes": 2, "voice_id": "espeak_male",
    "aspect_ratio": "1:1", "music": False, "seed": 11,
}  # fmt: skip
"""The real job of the open-streams mode: ~6 s of video, as short as the API allows."""


@dataclass
class Subscriber:
    """One live client: what it received (first arrival per substatus) and how it ended."""

    transport: str
    index: int
    ready: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    arrivals: dict[str, float] = field(default_factory=dict)
    status: str = "connecting"
    events: int = 0
    closing: bool = False
    closer: Callable[[], None] | None = None

    def arrived(self, substatus: str | None, now: float) -> None:
        self.events += 1
        if substatus is not None:
            self.arrivals.setdefault(substatus, now)
        if self.status == "connecting":
            self.status = "open"
        self.ready.set()

    def fail(self, status: str) -> None:
        if not self.closing and self.status in ("connecting", "open"):
            self.status = status
        self.ready.set()

    def close(self) -> None:
        self.closing = True
        if self.closer is not None:
            with contextlib.suppress(OSError, AttributeError):
                self.closer()


def _shutdown(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


def run_sse(sub: Subscriber, host: str, port: int, path: str) -> None:
    """A plain HTTP/1.1 streaming read; each event is timestamped when its bytes arrive."""
    conn = http.client.HTTPConnection(host, port, timeout=STREAM_TIMEOUT)
    sub.closer = lambda: _shutdown(conn.sock)
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        answer = conn.getresponse()
        if answer.status != 200:
            body = answer.read()[:200].decode(errors="replace")
            sub.fail(f"http_{answer.status}: {body}")
            return
        buffer = b""
        while True:
            chunk = answer.read1(65536)
            now = time.time()
            if not chunk:
                break
            buffer += chunk.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                kind, data = "message", []
                for line in block.decode(errors="replace").split("\n"):
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                if not data:
                    continue  # retry: or a : ping comment
                body = json.loads("\n".join(data))
                sub.arrived(body.get("substatus"), now)
                if kind in FINAL_SSE_EVENTS:
                    sub.status = "ended"
                    return
        sub.fail("closed_by_server")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        sub.fail(f"error: {type(exc).__name__}: {exc}"[:200])
    finally:
        sub.done.set()
        conn.close()


def run_ws(sub: Subscriber, host: str, port: int, video_id: str) -> None:
    """The server's /ws protocol: subscribe_task, answer pings, read taskProgress messages."""
    import websocket

    try:
        ws = websocket.create_connection(f"ws://{host}:{port}/ws", timeout=STREAM_TIMEOUT)
    except (OSError, websocket.WebSocketException) as exc:
        sub.fail(f"connect: {type(exc).__name__}: {exc}"[:200])
        sub.done.set()
        return
    sub.closer = ws.shutdown
    try:
        ws.send(json.dumps({"type": "subscribe_task", "payload": {"videoId": video_id}}))
        while True:
            raw = ws.recv()
            now = time.time()
            if not raw:
                sub.fail("closed_by_server")
                return
            message = json.loads(raw)
            kind, payload = message.get("type"), message.get("payload") or {}
            if kind == "ping":
                ws.send(json.dumps({"type": "pong", "payload": {}}))
            elif kind == "taskProgress":
                sub.arrived(payload.get("message"), now)
            elif kind in FINAL_WS_TYPES:
                sub.arrived(None, now)
                sub.status = "ended"
                return
            elif kind == "error":
                sub.fail(f"ws_error: {payload.get('code')}")
                return
    except (OSError, websocket.WebSocketException, ValueError) as exc:
        sub.fail(f"error: {type(exc).__name__}: {exc}"[:200])
    finally:
        sub.done.set()
        with contextlib.suppress(Exception):
            ws.close(timeout=1)


def open_subscribers(
    transport: str, count: int, port: int, job_id: str | None, ready_timeout: float
) -> tuple[list[Subscriber], float]:
    """Start `count` subscriber threads; wait until each has its first event (or failed).

    job_id None: SSE streams on /api/events (every change of the caller's jobs)."""
    subs = [Subscriber(transport, i) for i in range(count)]
    t0 = time.monotonic()
    for sub in subs:
        if transport == "ws":
            target, args = run_ws, (sub, "127.0.0.1", port, f"video_{job_id}")
        else:
            path = f"/api/jobs/{job_id}/events" if job_id else "/api/events"
            target, args = run_sse, (sub, "127.0.0.1", port, path)
        threading.Thread(target=target, args=args, daemon=True).start()
    deadline = t0 + ready_timeout
    for sub in subs:
        sub.ready.wait(max(0.0, deadline - time.monotonic()))
    return subs, time.monotonic() - t0


def close_subscribers(subs: list[Subscriber], wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    for sub in subs:
        sub.done.wait(max(0.0, deadline - time.monotonic()))
    for sub in subs:
        if not sub.done.is_set():
            sub.close()
    for sub in subs:
        sub.done.wait(2.0)


def status_counts(subs: list[Subscriber]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sub in subs:
        key = sub.status.split(":")[0] if sub.status.startswith("error") else sub.status
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def latency_run(
    app: Any, port: int, transport: str, args: argparse.Namespace, run: int
) -> dict[str, Any]:
    """One job, N subscribers, `changes` marked writes; per-delivery latency in ms."""
    from sora_app.jobs import store
    from sora_app.jobs.progress import ProgressReporter

    load = load_average()
    owner = f"bench:{os.getpid()}:events"
    job_id = seed_jobs(app, 0, 1, owner).running[0]
    subs, open_s = open_subscribers(transport, args.subscribers, port, job_id, args.ready_timeout)
    ready = [s for s in subs if s.status == "open"]
    failures = sorted({s.status for s in subs if s.status != "open"})[:5]
    prefix = f"bench {transport} r{run} #"
    commits: dict[str, float] = {}
    write_ms: list[float] = []
    with app.app_context():
        start = float(store.get_job(job_id).progress)  # progress never moves backwards
        reporter = ProgressReporter(job_id, owner, start, "")
        for seq in range(args.changes):
            time.sleep(args.interval + random.uniform(0.0, args.jitter))
            marker = f"{prefix}{seq}"
            t0 = time.time()
            reporter.update(start + 0.5 * (seq + 1), marker, force=True)  # commit returns here
            commits[marker] = time.time()
            write_ms.append((commits[marker] - t0) * 1000)
        written = store.get_job(job_id).substatus
        if written != marker:
            raise SystemExit(f"the writes did not land: substatus {written!r}, wanted {marker!r}")
        time.sleep(args.settle)
        store.complete(job_id, owner, f"video_bench_{job_id[:8]}.mp4", None, 1.0)
    close_subscribers(subs)
    latencies = [
        (sub.arrivals[m] - at) * 1000 for sub in ready for m, at in commits.items()
        if m in sub.arrivals
    ]  # fmt: skip
    expected = len(ready) * len(commits)
    return {
        "run": run,
        "transport": transport,
        "subscribers_ready": len(ready),
        "subscribers_failed": len(subs) - len(ready),
        "failures": failures,
        "open_all_s": round(open_s, 2),
        "deliveries": len(latencies),
        "missed": expected - len(latencies),
        "p50_ms": rounded(percentile(latencies, 50)),
        "p99_ms": rounded(percentile(latencies, 99)),
        "max_ms": rounded(max(latencies, default=None) if latencies else None),
        "write_ms_p50": rounded(percentile(write_ms, 50), 2),
        "ended": status_counts(subs),
        "load_average_1_5_15": load,
    }


def request_loop(
    port: int, paths: list[str], stop: threading.Event, out: list[tuple[str, int, float]]
) -> None:
    """Fire GETs back to back on one keep-alive connection; (path, status or -1, ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    turn = 0
    while not stop.is_set():
        path = paths[turn % len(paths)]
        turn += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            out.append((path, answer.status, (time.perf_counter() - t0) * 1000))
        except (OSError, http.client.HTTPException):
            out.append((path, -1, (time.perf_counter() - t0) * 1000))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    conn.close()


def job_under_load(app: Any, base: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Submit the real short job, fire /health and /api/progress until it ends."""
    from sora_app.jobs import store

    t0 = time.perf_counter()
    submitted: dict[str, Any] = {}
    try:
        status, body = post_json(f"{base}/api/generate-video", SHORT_JOB, timeout=SUBMIT_TIMEOUT)
    except OSError as exc:  # a server out of threads or DB connections may never answer
        status, body = -1, None
        submitted["submit_error"] = f"{type(exc).__name__}: {exc}"
    submitted["submit_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    submitted["submit_status"] = status
    job_id = body.get("job_id") if status == 202 and isinstance(body, dict) else None
    if job_id is None and status != -1:
        submitted["submit_answer"] = body
    paths = ["/health", "/api/progress"] + ([f"/api/progress/{job_id}"] if job_id else [])
    stop, samples = threading.Event(), []
    threads = [
        threading.Thread(target=request_loop, args=(port, paths, stop, samples), daemon=True)
        for _ in range(args.load_clients)
    ]
    for thread in threads:
        thread.start()
    # No job: the requests still run for --load-seconds, to see how the server answers them.
    deadline = time.monotonic() + (args.job_timeout if job_id else args.load_seconds)
    job = None
    with app.app_context():
        while job_id and time.monotonic() < deadline:
            job = store.get_job(job_id)
            if job is not None and job.status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.2)
        if not job_id:
            time.sleep(max(0.0, deadline - time.monotonic()))
        final = job.status if job is not None else "not_submitted" if not job_id else "missing"
        wall = (
            (job.finished_at - job.created_at).total_seconds()
            if job is not None and job.finished_at is not None
            else None
        )
        error = job.error_code if job is not None else None
    stop.set()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + 5)
    per_path: dict[str, Any] = {}
    for name, prefix in (("health", "/health"), ("progress", "/api/progress")):
        mine = [s for s in samples if s[0].startswith(prefix)]
        per_path[name] = {
            "requests": len(mine),
            "p50_ms": rounded(percentile([s[2] for s in mine], 50)),
            "p99_ms": rounded(percentile([s[2] for s in mine], 99)),
            "max_ms": rounded(max((s[2] for s in mine), default=None)),
        }
    return {
        "job_id": job_id,
        "job_status": final,
        "job_error": error,
        **submitted,
        "job_wall_s": rounded(wall, 2),
        "requests": len(samples),
        "http_5xx": sum(1 for s in samples if 500 <= s[1] < 600),
        "requests_over_1s": sum(1 for s in samples if s[2] > 1000),
        "http_other_non_2xx": sum(1 for s in samples if 300 <= s[1] < 500),
        "connection_errors": sum(1 for s in samples if s[1] == -1),
        "latency": per_path,
    }


def streams_run(app: Any, base: str, port: int, args: argparse.Namespace, run: int) -> dict:
    """The same real job twice: without, then with `--idle-streams` idle SSE streams open."""
    from liveserver import finish_job

    quiet = {"load_average_1_5_15": load_average(), **job_under_load(app, base, port, args)}
    owner = f"bench:{os.getpid()}:parked"
    parked = seed_jobs(app, 0, 1, owner).running[0] if args.idle_target == "job" else None
    subs, open_s = open_subscribers("sse", args.idle_streams, port, parked, args.ready_timeout)
    opened = sum(1 for s in subs if s.status == "open")
    loaded = {"load_average_1_5_15": load_average(), **job_under_load(app, base, port, args)}
    loaded["streams_opened"] = opened
    loaded["streams_refused_or_failed"] = len(subs) - opened
    loaded["stream_failures"] = sorted({s.status for s in subs if s.status != "open"})[:5]
    loaded["streams_open_all_s"] = round(open_s, 2)
    loaded["streams_still_open_after_job"] = sum(1 for s in subs if s.status == "open")
    for sub in subs:
        sub.close()
    close_subscribers(subs, wait=5.0)
    if parked is not None:
        finish_job(app, parked, owner)
    if loaded.get("job_id") and loaded["job_status"] in ("queued", "running"):
        from sora_app.jobs import store

        with app.app_context():  # a stuck job must not run into the next run's numbers
            loaded["job_cancelled_after_run"] = store.request_cancel(loaded["job_id"])
    return {"run": run, "no_streams": quiet, "with_streams": loaded}


def noted(result: dict[str, Any]) -> dict[str, Any]:
    """Each run's result goes to stderr at once, so a stopped run still leaves its numbers."""
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def summarise_latency(runs: list[dict[str, Any]], transports: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for transport in transports:
        mine = [r for r in runs if r["transport"] == transport]
        summary[transport] = {
            "p50_ms": rounded(median(r["p50_ms"] for r in mine)),
            "p99_ms": rounded(median(r["p99_ms"] for r in mine)),
            "p50_runs_ms": [r["p50_ms"] for r in mine],
            "p99_runs_ms": [r["p99_ms"] for r in mine],
            "missed": sum(r["missed"] for r in mine),
            "subscribers_failed": sum(r["subscribers_failed"] for r in mine),
            "meets_target_p99_lt_100ms": bool(
                (p99 := median(r["p99_ms"] for r in mine)) is not None and p99 < 100
            ),
        }
    return summary


def summarise_streams(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(phase: str, *keys: str) -> float | None:
        values = []
        for run in runs:
            value: Any = run[phase]
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        return rounded(median(values), 2)

    summary: dict[str, Any] = {}
    for phase in ("no_streams", "with_streams"):
        summary[phase] = {
            "streams_opened": [r[phase].get("streams_opened") for r in runs],
            "jobs_completed": sum(1 for r in runs if r[phase].get("job_status") == "completed"),
            "job_wall_s": med(phase, "job_wall_s"),
            "health_p50_ms": med(phase, "latency", "health", "p50_ms"),
            "health_p99_ms": med(phase, "latency", "health", "p99_ms"),
            "progress_p50_ms": med(phase, "latency", "progress", "p50_ms"),
            "progress_p99_ms": med(phase, "latency", "progress", "p99_ms"),
            "submit_statuses": [r[phase].get("submit_status") for r in runs],
            "requests": sum(r[phase].get("requests", 0) for r in runs),
            "http_5xx": sum(r[phase].get("http_5xx", 0) for r in runs),
            "requests_over_1s": sum(r[phase].get("requests_over_1s", 0) for r in runs),
            "connection_errors": sum(r[phase].get("connection_errors", 0) for r in runs),
        }
    quiet, loaded = summary["no_streams"], summary["with_streams"]
    for key in ("job_wall_s", "health_p99_ms", "progress_p99_ms"):
        if quiet[key] and loaded[key] is not None:
            summary[f"{key}_with_vs_without"] = round(loaded[key] / quiet[key], 2)
    return summary


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """What an operator sets for this many streams (all may land on one worker process)."""
    most = max(args.subscribers, args.idle_streams if args.streams_runs else 0)
    streams = most + 16
    return {
        "SORA_MAX_EVENT_STREAMS": str(streams),
        "SORA_MAX_STREAMS_PER_USER": str(streams),
        "SORA_WEB_THREADS": str(streams + 32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--transports", nargs="+", choices=("sse", "ws"), default=["sse", "ws"])
    parser.add_argument("--runs", type=int, default=3, help="latency runs per transport")
    parser.add_argument("--changes", type=int, default=20, help="marked writes per run")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between writes")
    parser.add_argument("--jitter", type=float, default=0.5, help="+ uniform(0, jitter) s")
    parser.add_argument("--settle", type=float, default=2.0, help="wait after the last write")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    parser.add_argument("--idle-streams", type=int, default=200)
    parser.add_argument(
        "--idle-target", choices=("job", "all"), default="job",
        help="idle streams follow a parked running job (job) or /api/events (all)",
    )  # fmt: skip
    parser.add_argument("--streams-runs", type=int, default=3, help="0 skips the mode")
    parser.add_argument("--load-clients", type=int, default=4, help="request threads")
    parser.add_argument("--job-timeout", type=float, default=150.0)
    parser.add_argument(
        "--load-seconds", type=float, default=20.0,
        help="how long the requests run when the job could not be submitted",
    )  # fmt: skip
    add_server_arguments(parser, "server settings on top of the raised stream limits")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sora-bench-events-"))
    port = free_port()
    raised = {**server_env(args), **parse_env_overrides(args.env)}
    env = instance_env(tmp, port, raised)
    app = make_app(env)
    server: Server | None = None
    try:
        server = start_project_server(env, tmp, port)
        loads = [load_average()]
        latency_runs = [
            noted(latency_run(app, port, transport, args, run))
            for run in range(args.runs)
            for transport in args.transports
        ]
        warmup = job_under_load(app, server.base_url, port, args) if args.streams_runs else None
        stream_runs = [
            noted(streams_run(app, server.base_url, port, args, run))
            for run in range(args.streams_runs)
        ]
        loads.append(load_average())
        server.stop()
        report = {
            "code": code_version(),
            "what": "state change -> SSE/WebSocket subscriber latency; idle streams vs a real job",
            "server_env": raised,
            "server_defaults_otherwise": "SORA_WEB_WORKERS=1, SORA_EVENT_POLL_SECONDS=0.5, ...",
            "subscribers": args.subscribers,
            "changes_per_run": args.changes,
            "interval_s": f"{args.interval:g} + uniform(0, {args.jitter:g})",
            "load_average_1_5_15": loads,
            "latency_median": summarise_latency(latency_runs, args.transports),
            "latency_runs": latency_runs,
            "idle_streams": args.idle_streams if args.streams_runs else 0,
            "idle_target": args.idle_target,
            "short_job": SHORT_JOB,
            "warmup_job": warmup,
            "open_streams_median": summarise_streams(stream_runs) if stream_runs else None,
            "open_streams_runs": stream_runs,
            "server_log": server.log_summary(),
            "target": "p99 < 100 ms with 100 subscribers",
            "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        print(json.dumps(report, indent=2))
    finally:
        if server is not None:
            server.stop()
        clean_up(tmp, args.keep)


if __name__ == "__main__":
    main()
