"""Issue 12 part 5: does the job worker's memory grow without bound? RSS after each of N jobs.

Two modes, both on a throw-away instance folder:
- `server` (default): the production server (`python -m sora_app.serve`, gunicorn with
  sora_app/gunicorn_conf.py, SORA_WEB_WORKERS=1); jobs go through the HTTP API one after
  another and the worker process's VmRSS / RssAnon is read from /proc after each one ends.
- `inprocess`: `create_app` + the thread executor in this process (jobs submitted through the
  test client), so `--trace` can diff tracemalloc snapshots between job `--trace-from` and the
  last job (what Python objects the growth is), and `--trim` shows how much of RSS glibc's
  `malloc_trim(0)` gives back at the end (freed memory malloc kept: not a leak).

Each job is tiny (0.1 min, 1 scene, 640x640-ish by `--size`) with its own topic, so every
per-text cache sees a new key; `--voice mix` (default) speaks 1 job in `--piper-every` with the
default Piper voice, the rest with espeak_male. Prints a table and least-squares slopes
(MiB/job) over the first and the last half; JSON (and the trace) go to bench/out/.

    .venv/bin/python bench/memory.py --jobs 150
    .venv/bin/python bench/memory.py --jobs 150 --env MALLOC_ARENA_MAX=2
    .venv/bin/python bench/memory.py --mode inprocess --jobs 60 --trace --trim
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))

import liveserver  # noqa: E402

ESPEAK = "espeak_male"
FINAL = ("complete", "error", "cancelled")
MIB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of a process in KiB, from /proc/<pid>/status."""
    wanted = ("VmRSS", "RssAnon", "RssFile", "VmHWM")
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            found[key] = int(value.split()[0])
    return found


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the gunicorn master's workers)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, ...
        if int(fields[1]) == pid:
            kids.append(int(entry.name))
    return kids


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs; None for fewer than two points."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else None


def job_body(index: int, voice: str, piper_every: int, size: str | None) -> dict[str, Any]:
    """A tiny job with its own topic (new cache keys every time)."""
    from sora_app.pipeline.voices import DEFAULT_VOICE_ID

    if voice == "mix":
        voice = DEFAULT_VOICE_ID if index % piper_every == piper_every - 1 else ESPEAK
    body: dict[str, Any] = {
        "topic": f"The lighthouse keeper's ledger number {index} and the tide at {index % 97}",
        "duration": 0.1,
        "num_scenes": 1,
        "voice_id": voice,
        "seed": index,
    }
    if size:
        body["size"] = size
    return body


class Api:
    """Submit and poll through either the real server (urllib) or the app's test client."""

    def __init__(self, post: Callable[[str, Any], Any], get: Callable[[str], Any]) -> None:
        self.post, self.get = post, get

    def run(self, body: dict[str, Any], timeout: float) -> tuple[str, float]:
        """Submit one job and wait until it ends: (its final status, wall seconds)."""
        began = time.monotonic()
        answer = self.post("/api/generate-video", body)
        while isinstance(answer, dict) and answer.get("error") == "RATE_LIMITED":
            time.sleep(float(answer["details"].get("retry_after", 5)))  # fast jobs: 30/min
            answer = self.post("/api/generate-video", body)
        job_id = answer.get("job_id") if isinstance(answer, dict) else None
        if not job_id:
            raise SystemExit(f"submit refused: {answer}")
        while time.monotonic() - began < timeout:
            status = self.get(f"/api/progress/{job_id}")["status"]
            if status in FINAL:
                return status, time.monotonic() - began
            time.sleep(0.1)
        raise SystemExit(f"job {job_id} did not end in {timeout:.0f} s")


def run_jobs(
    api: Api, pid: int, args: argparse.Namespace, on_job: Callable[[int], None]
) -> list[dict[str, Any]]:
    """Run args.jobs jobs one after another; one row per job with the process's memory after it."""
    rows = []
    for index in range(1, args.jobs + 1):
        body = job_body(index, args.voice, args.piper_every, args.size)
        status, seconds = api.run(body, args.job_timeout)
        on_job(index)
        mem = proc_status(pid)
        row = {"job": index, "status": status, "seconds": round(seconds, 2),
               "voice": body["voice_id"], **_mib(mem)}  # fmt: skip
        rows.append(row)
        print(
            f"{index:4d} {status:9s} {seconds:5.1f}s {row['voice']:14s} "
            f"rss {row['VmRSS']:7.1f} anon {row['RssAnon']:7.1f} MiB",
            flush=True,
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """RSS at milestones, and slopes (MiB/job) of VmRSS and RssAnon over each half."""
    half = len(rows) // 2
    summary: dict[str, Any] = {"failed": sum(r["status"] != "complete" for r in rows)}
    last = rows[-1] if rows else None
    for key in ("VmRSS", "RssAnon"):
        xs = [float(r["job"]) for r in rows]
        ys = [float(r[key]) for r in rows]
        summary[key] = {
            "after_job": {r["job"]: r[key] for r in rows if r["job"] in MILESTONES or r is last},
            "slope_first_half": _round(slope(xs[:half], ys[:half])),
            "slope_last_half": _round(slope(xs[half:], ys[half:])),
            "slope_last_quarter": _round(slope(xs[-len(xs) // 4 :], ys[-len(ys) // 4 :])),
        }
    return summary


MILESTONES = {1, 5, 10, 20, 30, 50, 75, 100, 125, 150, 200, 250, 300}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def server_mode(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The production server with one worker; memory of that worker after each job."""
    port = liveserver.free_port()
    extra = {"SORA_WEB_WORKERS": "1", **liveserver.parse_env_overrides(args.env)}
    env = liveserver.instance_env(tmp, port, extra)
    server = liveserver.start_project_server(env, tmp, port)
    try:
        workers = children_of(server.process.pid)
        if len(workers) != 1:
            raise SystemExit(f"expected one worker under the master, found {workers}")
        pid = workers[0]
        start = proc_status(pid)
        api = Api(
            lambda path, body: liveserver.post_json(server.base_url + path, body)[1],
            lambda path: liveserver.get_json(server.base_url + path),
        )
        rows = run_jobs(api, pid, args, lambda _index: None)
        if children_of(server.process.pid) != [pid]:
            print("warning: the worker was replaced during the run", file=sys.stderr)
        return {"start": _mib(start), "rows": rows, "env": extra, "log": server.log_summary()}
    finally:
        server.stop()


def inprocess_mode(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The app and its thread executor in this process, with optional tracemalloc diffs."""
    extra = liveserver.parse_env_overrides(args.env)
    os.environ.update(liveserver.instance_env(tmp, liveserver.free_port(), extra))
    if args.trace:
        tracemalloc.start(args.trace_frames)
    from sora_app import create_app
    from sora_app.jobs.executors import start_executor

    app = create_app()
    start_executor(app)
    client = app.test_client()
    pid = os.getpid()
    start = proc_status(pid)
    snapshots: dict[str, tracemalloc.Snapshot] = {}

    def on_job(index: int) -> None:
        if args.trace and index in (args.trace_from, args.jobs):
            gc.collect()
            snapshots["from" if index == args.trace_from else "to"] = tracemalloc.take_snapshot()

    api = Api(lambda path, body: client.post(path, json=body).get_json(),
              lambda path: client.get(path).get_json())  # fmt: skip
    rows = run_jobs(api, pid, args, on_job)
    result: dict[str, Any] = {"start": _mib(start), "rows": rows, "env": extra}
    if args.trace and len(snapshots) == 2:
        result["trace"] = trace_diff(snapshots["from"], snapshots["to"], args)
    if args.trim:
        before = proc_status(pid)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        result["malloc_trim"] = {"before": _mib(before), "after": _mib(proc_status(pid))}
    app.extensions["sora_executor"].shutdown()
    return result


def trace_diff(old: tracemalloc.Snapshot, new: tracemalloc.Snapshot, args: argparse.Namespace):
    """Top allocation differences (by line, and by the traceback of the biggest ones)."""
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<*>")]
    old, new = old.filter_traces(keep), new.filter_traces(keep)
    by_line = new.compare_to(old, "lineno")
    total = sum(d.size_diff for d in by_line)
    lines = [
        f"tracemalloc: job {args.trace_from} -> job {args.jobs}: "
        f"{total / 1024:+.1f} KiB over {args.jobs - args.trace_from} jobs "
        f"({total / 1024 / max(1, args.jobs - args.trace_from):+.2f} KiB/job); "
        f"traced now {sum(s.size for s in new.statistics('filename')) / MIB:.1f} MiB",
        "",
        "top by line:",
    ]
    lines += [f"  {d}" for d in by_line[:25]]
    lines += ["", "top by traceback:"]
    for diff in new.compare_to(old, "traceback")[:8]:
        lines.append(f"  {diff.size_diff / 1024:+.1f} KiB, {diff.count_diff:+d} blocks")
        lines += [f"      {frame}" for frame in diff.traceback.format()[-12:]]
    return {"total_kib": round(total / 1024, 1), "text": "\n".join(lines)}


def _mib(status: dict[str, int]) -> dict[str, float]:
    return {k: round(v / 1024, 1) for k, v in status.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=150)
    parser.add_argument("--voice", default="mix", help="a voice id, or mix (espeak + Piper)")
    parser.add_argument("--piper-every", type=int, default=4, help="mix: 1 job in K with Piper")
    parser.add_argument("--size", default="720x1280", help="output size ('' for the 1080p one)")
    parser.add_argument("--mode", choices=("server", "inprocess"), default="server")
    parser.add_argument("--trace", action="store_true", help="inprocess: tracemalloc diffs")
    parser.add_argument("--trace-from", type=int, default=10)
    parser.add_argument("--trace-frames", type=int, default=12)
    parser.add_argument("--trim", action="store_true", help="inprocess: malloc_trim(0) at end")
    parser.add_argument("--job-timeout", type=float, default=120.0)
    parser.add_argument("--label", default="", help="added to the output file's name")
    liveserver.add_server_arguments(parser, "server setting or env var, e.g. MALLOC_ARENA_MAX=2")
    args = parser.parse_args()
    if args.trace and not 0 < args.trace_from < args.jobs:
        parser.error("--trace wants 0 < --trace-from < --jobs")

    tmp = Path(tempfile.mkdtemp(prefix="sora-memory-"))
    began = datetime.now(UTC)
    try:
        run = server_mode if args.mode == "server" else inprocess_mode
        result = run(args, tmp)
    finally:
        liveserver.clean_up(tmp, args.keep)
    rows = result.pop("rows")
    report = {
        "bench": "memory", "mode": args.mode, "jobs": args.jobs, "voice": args.voice,
        "size": args.size, "code": liveserver.code_version(), "started": began.isoformat(),
        "load_average": liveserver.load_average(), **result, "summary": summarise(rows),
    }  # fmt: skip
    trace = report.pop("trace", None)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"memory-{args.mode}{'-' + args.label if args.label else ''}-{began:%Y%m%dT%H%M%S}"
    (OUT / f"{name}.json").write_text(json.dumps({**report, "rows": rows}, indent=1))
    if trace:
        (OUT / f"{name}-trace.txt").write_text(trace["text"] + "\n")
        report["trace_total_kib"] = trace["total_kib"]
        print(trace["text"])
    print(json.dumps(report, indent=1))
    print(f"wrote {OUT / name}.json", file=sys.stderr)


if __name__ == "__main__":
    main()
