"""Contract 1 over real HTTP against the production server (gunicorn + the project's config)."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.conftest import FAST_JOB, ROOT, wait_for_job


def test_whole_contract_over_http(live_server):
    health = requests.get(f"{live_server}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.json()
    preflight = requests.options(
        f"{live_server}/api/generate-video",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", "http://localhost:5173")

    started = requests.post(f"{live_server}/api/generate-video", json=FAST_JOB, timeout=5)
    assert started.status_code == 202
    body = started.json()
    assert body["status"] == "generating" and body["job_id"]

    latest = requests.get(f"{live_server}/api/progress", timeout=5).json()
    assert latest["job_id"] == body["job_id"]
    done = wait_for_job(
        lambda url: requests.get(live_server + url, timeout=5).json(), body["job_id"]
    )
    assert done["status"] == "complete", done

    url = f"{live_server}/api/video/{done['video_path']}"
    head = requests.head(url, timeout=5)
    size = int(head.headers["Content-Length"])
    assert head.status_code == 200 and head.headers["Content-Type"] == "video/mp4"
    part = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=5)
    assert part.status_code == 206 and len(part.content) == 1000
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{size}"
    full = requests.get(url, timeout=10)
    assert full.content[1000:2000] == part.content
    assert requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=5).status_code == 416


def test_bad_input_over_http_is_a_400_not_a_500(live_server):
    response = requests.post(
        f"{live_server}/api/generate-video", data=b"{broken", timeout=5,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"] == "INVALID_JSON"
    too_big = requests.post(
        f"{live_server}/api/generate-video", data=b"x" * 2_000_000, timeout=10,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "REQUEST_ENTITY_TOO_LARGE"
    assert "1000000 bytes (SORA_MAX_REQUEST_BYTES)" in too_big.json()["message"]
    assert too_big.json()["details"]["setting"] == "SORA_MAX_REQUEST_BYTES"


def test_serve_refuses_a_port_in_use_with_one_sentence(live_server):
    port = live_server.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "sora_app.serve"],
        cwd=ROOT,
        env={"SORA_PORT": port, "SORA_HOST": "127.0.0.1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"Port {port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_accounts_and_isolation_over_http(live_server):
    def post(path, body, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(f"{live_server}{path}", json=body, headers=headers, timeout=10)

    def get(path, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{live_server}{path}", headers=headers, timeout=10)

    def status(path, token):
        """Only the status: an event stream would otherwise be read to its end."""
        headers = {"Authorization": f"Bearer {token}"}
        with requests.get(f"{live_server}{path}", headers=headers, timeout=10, stream=True) as r:
            return r.status_code

    alice = post("/api/auth/register", {"username": "alice", "password": "long enough"}).json()
    post("/api/auth/register", {"username": "bob", "password": "long enough too"})
    bob = post("/api/auth/login", {"username": "bob", "password": "long enough too"}).json()
    assert get("/api/auth/me", alice["access_token"]).json()["username"] == "alice"
    refreshed = post("/api/auth/refresh", {}, alice["refresh_token"]).json()["access_token"]

    job_id = post("/api/generate-video", FAST_JOB, refreshed).json()["job_id"]
    for path in (
        f"/api/progress/{job_id}",
        f"/api/progress?job_id={job_id}",
        f"/api/video/tasks/video_{job_id}",
        f"/api/jobs/{job_id}/events",
    ):
        assert status(path, bob["access_token"]) == 404, path
        assert status(path, refreshed) == 200, path
    assert post(f"/api/jobs/{job_id}/cancel", {}, bob["access_token"]).status_code == 404

    assert post("/api/auth/logout", {}, refreshed).status_code == 200
    revoked = get("/api/auth/me", refreshed)
    assert revoked.status_code == 401 and revoked.json()["error"] == "TOKEN_REVOKED"
    wrong = post("/api/auth/login", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "INVALID_CREDENTIALS"
