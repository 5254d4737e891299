"""deploy/nginx.conf for real: Debian's nginx (its ports and folders swapped in) in front of
the real gunicorn server with SORA_PROXY_COUNT=1 and SORA_ACCEL_REDIRECT_PREFIX set."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.test_ws import Socket
from tests.conftest import FAST_JOB, ROOT, free_port, serve, wait_for_http, wait_for_job
from tests.services import unavailable

NGINX = "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx.conf"
HANG_GUARD = 120.0
"""Seconds before a missing answer fails the test instead of hanging it (not a timing check)."""

MAIN_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""


def site_conf(app_port: int, port: int, videos: Path, cache: Path) -> str:
    """deploy/nginx.conf with this test's ports and folder; each swapped line must exist."""
    text = SITE.read_text()
    swaps = {
        "server 127.0.0.1:5000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "alias /srv/sora_app/data/videos/;": f"alias {videos}/;",
        "/var/cache/nginx/sora_app ": f"{cache}/answers ",
        "127.0.0.1:5081;": f"127.0.0.1:{free_port()};",  # listened on and used
    }
    for old, new in swaps.items():
        assert text.count(old) == (2 if "5081" in old else 1), f"deploy/nginx.conf lost {old!r}"
        text = text.replace(old, new)
    return text


def start_nginx(tmp: Path, app_port: int, videos: Path) -> tuple[subprocess.Popen, str]:
    """nginx in the foreground, everything it writes under `tmp` (no root needed)."""
    port = free_port()
    (tmp / "cache").mkdir()
    (tmp / "site.conf").write_text(site_conf(app_port, port, videos, tmp / "cache"))
    user = "user root root;" if os.geteuid() == 0 else ""  # else workers run as nobody
    (tmp / "nginx.conf").write_text(MAIN_CONF.format(tmp=tmp, user=user))
    with (tmp / "stderr.log").open("ab") as log:
        proc = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf"),
             "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", timeout=30)
    except RuntimeError:
        proc.kill()
        raise RuntimeError((tmp / "error.log").read_text(errors="replace")[-2000:]) from None
    return proc, base


class Stack:
    """nginx in front of gunicorn: both addresses, the videos folder and the app's log."""

    def __init__(self, proxy: str, app: str, tmp: Path) -> None:
        self.proxy, self.app, self.tmp = proxy, app, tmp
        self.videos = tmp / "videos"

    def app_log(self, needle: str, count: int) -> list[str]:
        """gunicorn's access lines (client address first) naming `needle`, once `count` are
        there: each is written just after its response went out."""
        deadline = time.monotonic() + HANG_GUARD
        while True:
            text = (self.tmp / "access.log").read_text(errors="replace")
            lines = [line for line in text.splitlines() if needle in line]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("nginx")
    (tmp / "nginx").mkdir()
    (tmp / "videos").mkdir()
    settings = {
        "SORA_PROXY_COUNT": "1",
        "SORA_ACCEL_REDIRECT_PREFIX": "/_protected_videos/",
        "SORA_RATE_LIMIT_LOGIN": "2 per minute",
        "SORA_EVENT_POLL_SECONDS": "0.1",
        "GUNICORN_CMD_ARGS": f"--access-logfile {tmp / 'access.log'}",  # stdout is discarded
    }
    if not os.access(NGINX, os.X_OK):
        unavailable(f"{NGINX} is missing (Debian: apt-get install -y nginx)")
    servers = serve(tmp, **settings)
    app = next(servers)
    proc, proxy = start_nginx(tmp / "nginx", int(app.rsplit(":", 1)[1]), tmp / "videos")
    try:
        yield Stack(proxy, app, tmp)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        servers.close()


def sse_events(response: requests.Response) -> Iterator[dict]:
    """The `data:` of each event of a text/event-stream, as it arrives."""
    for line in response.iter_lines(decode_unicode=True):
        if line and line.startswith("data:"):
            yield json.loads(line[5:])


@pytest.fixture(scope="module")
def job(stack: Stack) -> dict:
    """Contract 1 through nginx: submit, follow the SSE stream, poll progress to the end."""
    sent = requests.post(f"{stack.proxy}/api/generate-video", json=FAST_JOB, timeout=30)
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["job_id"]
    url = f"{stack.proxy}/api/jobs/{job_id}/events"
    with requests.get(url, stream=True, timeout=HANG_GUARD) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = sse_events(stream)
        first = next(events)
        # Asked of gunicorn directly, once the first event is in hand: a buffering proxy
        # would have held it until the stream ended with the job.
        then = requests.get(f"{stack.app}/api/progress/{job_id}", timeout=30).json()
        rest = list(events)
    final = wait_for_job(lambda path: requests.get(stack.proxy + path, timeout=30).json(), job_id)
    return {"id": job_id, "first": first, "status_then": then, "rest": rest, "final": final}


def test_sse_events_come_through_unbuffered(job):
    assert job["status_then"]["status"] == "generating", "the first event came before the end"
    assert job["first"]["status"] != "complete"
    assert job["rest"][-1]["status"] == "complete"


def test_a_job_end_to_end_through_nginx(stack, job):
    assert job["final"]["status"] == "complete", job["final"]
    name = job["final"]["video_path"]
    video = requests.get(f"{stack.proxy}/api/video/{name}", timeout=30)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content == (stack.videos / name).read_bytes()
    assert video.headers["X-Sora-Served-By"] == "nginx"
    assert "max-age=3600" in video.headers["Cache-Control"]
    assert "X-Accel-Redirect" not in video.headers
    assert requests.get(f"{stack.proxy}/health", timeout=30).json()["status"] in ("ok", "degraded")
    assert requests.get(f"{stack.proxy}/metrics", timeout=30).status_code == 403, (
        "every user's counts"
    )
    assert requests.get(f"{stack.app}/metrics", timeout=30).status_code == 200


def test_a_range_is_served_by_nginx_through_x_accel_redirect(stack, job):
    name = job["final"]["video_path"]
    data = (stack.videos / name).read_bytes()
    url = f"{stack.proxy}/api/video/{name}"
    origin = {"Origin": "http://range.test"}  # its own entry in nginx's memory of answers
    earlier = len(stack.app_log(f"/api/video/{name}", 0))
    part = requests.get(url, headers={**origin, "Range": "bytes=100-1123"}, timeout=30)
    assert part.status_code == 206
    assert part.content == data[100:1124]
    assert part.headers["Content-Range"] == f"bytes 100-1123/{len(data)}"
    assert part.headers["X-Sora-Served-By"] == "nginx"  # only the internal location adds it
    etag = part.headers["ETag"]
    again = requests.get(url, headers={**origin, "Range": "bytes=-10", "If-Range": etag},
                         timeout=30)  # fmt: skip
    assert again.status_code == 206 and again.content == data[-10:]
    # The app's own answer was empty (the bytes came from nginx), and nginx remembered it.
    answers = stack.app_log(f"/api/video/{name}", earlier + 1)[earlier:]
    assert answers and '" 200 0 ' in answers[0], answers
    assert (part.headers["X-Sora-Media-Cache"], again.headers["X-Sora-Media-Cache"]) == (
        "MISS", "HIT",
    )  # fmt: skip
    stranger = requests.get(f"{stack.proxy}/_protected_videos/{name}", timeout=30)
    assert stranger.status_code == 404, "the internal location is not reachable from outside"


def test_a_seeking_players_ranges_skip_the_app_while_nginx_remembers_its_yes(stack, job):
    """deploy/nginx.conf keeps the app's X-Accel-Redirect answer to a request without
    credentials for the seconds the app allows; a credential always asks the app."""
    name = job["final"]["video_path"]
    data = (stack.videos / name).read_bytes()
    url = f"{stack.proxy}/api/video/{name}"
    origin = {"Origin": "http://player.test"}  # a cache key no other test made
    earlier = len(stack.app_log(f"/api/video/{name}", 0))
    first = requests.get(url, headers={**origin, "Range": "bytes=0-99"}, timeout=30)
    seek = requests.get(url, headers={**origin, "Range": "bytes=5000-5999"}, timeout=30)
    keyed = requests.get(url, headers={"Range": "bytes=0-9", "Authorization": "Bearer x"},
                         timeout=30)  # fmt: skip
    assert (first.status_code, seek.status_code) == (206, 206)
    assert first.content == data[:100] and seek.content == data[5000:6000]
    assert first.headers["X-Sora-Media-Cache"] == "MISS"
    assert seek.headers["X-Sora-Media-Cache"] == "HIT"
    assert seek.headers["Access-Control-Allow-Origin"] == first.headers[
        "Access-Control-Allow-Origin"
    ]  # fmt: skip
    assert keyed.headers.get("X-Sora-Media-Cache", "BYPASS") == "BYPASS"
    # gunicorn logs in order: the keyed ask's line is there, so the seek's would be too.
    asked = stack.app_log(f"/api/video/{name}", earlier + 2)[earlier:]
    assert len(asked) == 2, asked


def test_a_video_gone_while_remembered_is_a_json_404(stack, job):
    name = job["final"]["video_path"]
    path = stack.videos / name
    url = f"{stack.proxy}/api/video/{name}"
    origin = {"Origin": "http://gone.test"}
    assert requests.get(url, headers=origin, timeout=30).status_code == 200
    path.rename(path.with_suffix(".away"))
    try:
        gone = requests.get(url, headers=origin, timeout=30)
    finally:
        path.with_suffix(".away").rename(path)
    assert gone.status_code == 404
    assert gone.json()["error"] == "VIDEO_NOT_FOUND"
    assert gone.headers["X-Sora-Media-Cache"] == "HIT"
    assert "no-store" in gone.headers["Cache-Control"], "a browser would keep it for an hour"


def test_a_websocket_session_through_nginx(stack, job):
    socket = Socket(stack.proxy, "")
    try:
        assert socket.next()["type"] == "connected"
        socket.send("ping")
        assert socket.next("pong")["type"] == "pong"
        socket.send("subscribe_task", {"videoId": f"video_{job['id']}"})
        done = socket.next("taskCompleted", "error")
        assert done["type"] == "taskCompleted", done
    finally:
        socket.close()


def login_from(stack: Stack, address: str, username: str) -> int:
    """POST /api/auth/login through nginx from one loopback address (the whole 127/8 is ours)."""
    host, port = stack.proxy.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(address, 0))
    try:
        body = json.dumps({"username": username, "password": "wrong password"})
        conn.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_client_address_reaches_the_app_through_x_forwarded_for(stack):
    """Login attempts count per client address: nginx's own address is the same for all."""
    assert [login_from(stack, "127.0.0.2", f"user{i}") for i in range(3)] == [401, 401, 429]
    assert login_from(stack, "127.0.0.3", "user9") == 401, "another client has its own count"
    logged = stack.app_log("/api/auth/login", 4)  # this module's only logins
    assert any(line.startswith("127.0.0.2 ") for line in logged), logged
    assert any(line.startswith("127.0.0.3 ") for line in logged), logged
