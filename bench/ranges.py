"""Video bytes: 1 MiB Range reads (and whole files) from the production server alone, and
through nginx with X-Accel-Redirect, against nginx serving the same file statically, all in
the same run, loaded with wrk (keep-alive). Prints JSON: req/s and MiB/s per target per round,
and each target's ratio to that round's nginx figure; medians over the rounds.

    .venv/bin/python bench/ranges.py --runs 3 --duration 5

Targets (one throw-away instance folder, one seeded finished job owning one random file):
  nginx_static   nginx, `location /` aliased to the videos folder (the reference)
  app            gunicorn (python -m sora_app.serve) on its own, sendfile for ranges
  nginx_accel    deploy/nginx.conf in front of a second gunicorn with
                 SORA_ACCEL_REDIRECT_PREFIX=/_protected_videos/ and SORA_PROXY_COUNT=1
  before         (--before REV) the server of an older commit (git archive), on its own
  gunicorn_bare  (--bare) gunicorn with the production settings and no Flask, answering the
                 range by the same code (bench/bare_range.py): the ceiling of one process
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from liveserver import (
    ROOT,
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
    rounded,
    seed_jobs,
    start_project_server,
    start_server,
)

NGINX = "/usr/sbin/nginx"
MIB = 1024 * 1024
RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
MAIN_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
    server {{
        listen 127.0.0.1:{static_port};
        location = /health {{ return 200 "ok"; }}
        location / {{ alias {videos}/; sendfile on; tcp_nopush on; }}
    }}
}}
"""


def nginx_site(app_port: int, port: int, videos: Path, cache: Path) -> str:
    """deploy/nginx.conf with this run's ports and folder (as tests/api/test_nginx.py does)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("server 127.0.0.1:5000;", f"server 127.0.0.1:{app_port};")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    text = text.replace("/var/cache/nginx/sora_app ", f"{cache}/answers ")
    text = text.replace("127.0.0.1:5081;", f"127.0.0.1:{free_port()};")
    return text.replace("alias /srv/sora_app/data/videos/;", f"alias {videos}/;")


def start_nginx(tmp: Path, app_port: int, videos: Path) -> tuple[Server, str, str]:
    folder = tmp / "nginx"
    folder.mkdir()
    port, static_port = free_port(), free_port()
    (folder / "cache").mkdir()
    (folder / "site.conf").write_text(nginx_site(app_port, port, videos, folder / "cache"))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = user + MAIN_CONF.format(tmp=folder, static_port=static_port, videos=videos)
    (folder / "nginx.conf").write_text(conf)
    cmd = [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c",
           str(folder / "nginx.conf"), "-g", "daemon off;"]  # fmt: skip
    server = start_server("nginx", cmd, {}, tmp, port)
    return server, server.base_url, f"http://127.0.0.1:{static_port}"


def start_before(rev: str, env: dict[str, str], tmp: Path, port: int) -> Server:
    """An older commit's server (exported with git archive) on the same instance folder."""
    tree = tmp / f"before-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    log_path = tmp / "before.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sora_app.serve"], cwd=tree, env={**os.environ, **env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server("before", process, log_path, f"http://127.0.0.1:{port}")
    from liveserver import wait_until_up

    wait_until_up(server, "/health")
    return server


def run_wrk(url: str, header: str | None, args: argparse.Namespace) -> dict[str, Any]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration:g}s",
           "--timeout", "10s"]  # fmt: skip
    if header:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = RPS_LINE.search(out)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    errors = SOCKET_ERRORS.search(out)
    non2xx = NON_2XX.search(out)
    return {
        "rps": float(rps.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def check_same_bytes(urls: dict[str, str], header: str, expected: bytes) -> None:
    """Every target answers the range with exactly the file's bytes (else the bench lies)."""
    import urllib.request

    for name, url in urls.items():
        request = urllib.request.Request(url, headers=dict([header.split(": ", 1)]))
        with urllib.request.urlopen(request, timeout=10) as answer:
            if answer.status != 206 or answer.read() != expected:
                raise SystemExit(f"{name} did not answer the range with the file's bytes")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--file-mb", type=int, default=8, help="size of the served file")
    parser.add_argument("--range-kb", type=int, default=1024)
    parser.add_argument("--before", metavar="REV", help="also measure this commit's server")
    parser.add_argument("--bare", action="store_true", help="also measure gunicorn without Flask")
    add_server_arguments(parser, "server setting for both gunicorn servers")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sora-bench-ranges-"))
    extra = parse_env_overrides(args.env)
    ports = {"app": free_port(), "accel": free_port(), "before": free_port(), "bare": free_port()}
    env = instance_env(tmp, ports["app"], extra)
    app = make_app(env)
    name = f"video_bench_00000_{seed_jobs(app, 1, 0, 'bench').finished[0][:8]}.mp4"
    data = os.urandom(args.file_mb * MIB)
    (tmp / "videos" / name).write_bytes(data)
    start = MIB  # a range in the file, not at its start
    stop = start + args.range_kb * 1024
    header = f"Range: bytes={start}-{stop - 1}"
    servers: list[Server] = []
    try:
        servers.append(start_project_server(env, tmp, ports["app"]))
        accel_env = {**env, "SORA_PORT": str(ports["accel"]), "SORA_PROXY_COUNT": "1",
                     "SORA_ACCEL_REDIRECT_PREFIX": "/_protected_videos/"}  # fmt: skip
        servers.append(start_project_server(accel_env, tmp, ports["accel"]))
        nginx, proxy, static = start_nginx(tmp, ports["accel"], tmp / "videos")
        servers.append(nginx)
        urls = {
            "nginx_static": f"{static}/{name}",
            "app": f"{servers[0].base_url}/api/video/{name}",
            "nginx_accel": f"{proxy}/api/video/{name}",
        }
        if args.before:
            before_env = {**env, "SORA_PORT": str(ports["before"])}
            servers.append(start_before(args.before, before_env, tmp, ports["before"]))
            urls["before"] = f"{servers[-1].base_url}/api/video/{name}"
        if args.bare:
            bare_env = {**env, "SORA_PORT": str(ports["bare"]), "PYTHONPATH": str(ROOT),
                        "BENCH_FILE": str(tmp / "videos" / name)}  # fmt: skip
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            cmd = [gunicorn, "-c", "python:sora_app.gunicorn_conf", "--chdir", str(ROOT / "bench"),
                   "bare_range:app"]  # fmt: skip
            servers.append(start_server("bare", cmd, bare_env, tmp, ports["bare"]))
            urls["gunicorn_bare"] = f"{servers[-1].base_url}/api/video/{name}"
        check_same_bytes(urls, header, data[start:stop])
        report = measure(urls, header, args, stop - start, len(data))
        report.update(code=code_version(), before=args.before, file_bytes=len(data),
                      range=header, wrk=f"-t{args.threads} -c{args.connections} "
                      f"-d{args.duration:g}s")  # fmt: skip
        print(json.dumps(report, indent=2))
    finally:
        for server in reversed(servers):
            server.stop()
        clean_up(tmp, args.keep)


def measure(urls: dict[str, str], header: str, args: argparse.Namespace, range_bytes: int,
            file_bytes: int) -> dict[str, Any]:  # fmt: skip
    """Each round runs every target once in turn (ranges, then whole files); ratios are to
    that round's nginx_static, and the report gives medians."""
    kinds = {"range": (header, range_bytes), "whole": (None, file_bytes)}
    rounds: list[dict[str, Any]] = []
    for _ in range(args.runs):
        results: dict[str, Any] = {"load_before": load_average()}
        for kind, (head, size) in kinds.items():
            for target, url in urls.items():
                result = run_wrk(url, head, args)
                result["mib_s"] = round(result["rps"] * size / MIB, 1)
                results[f"{kind}:{target}"] = result
        for kind in kinds:
            reference = results[f"{kind}:nginx_static"]["rps"]
            for target in urls:
                entry = results[f"{kind}:{target}"]
                entry["ratio"] = round(entry["rps"] / reference, 3) if reference else None
        rounds.append(results)
        print(json.dumps(results), file=sys.stderr)
    summary: dict[str, Any] = {}
    for kind in kinds:
        for target in urls:
            key = f"{kind}:{target}"
            summary[key] = {
                "rps": rounded(median(r[key]["rps"] for r in rounds)),
                "mib_s": rounded(median(r[key]["mib_s"] for r in rounds)),
                "ratio": rounded(median(r[key]["ratio"] for r in rounds), 3),
                "ratios": [r[key]["ratio"] for r in rounds],
                "errors": sum(r[key]["non_2xx"] + r[key]["socket_errors"] for r in rounds),
            }
    return {"medians": summary, "rounds": rounds}


if __name__ == "__main__":
    main()
