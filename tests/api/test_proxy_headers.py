"""X-Forwarded-* are believed only from SORA_PROXY_COUNT proxies in front, never by default."""

from __future__ import annotations

from flask import request, url_for

from sora_app import create_app
from tests.conftest import app_config, close_app

FORWARDED = {
    "X-Forwarded-For": "198.51.100.7, 203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "videos.example.org",
    "X-Forwarded-Prefix": "/studio",
}


def seen(tmp_path, proxies: int) -> dict:
    """What a view learns about the request, through every layer create_app puts in front."""
    app = create_app({**app_config(tmp_path), "PROXY_COUNT": proxies})

    def probe():
        return {
            "remote_addr": request.remote_addr,
            "url_root": request.url_root,
            "health": url_for("health.get_health", _external=True),
        }

    app.add_url_rule("/probe", "probe", probe)
    try:
        return app.test_client().get("/probe", headers=FORWARDED).get_json()
    finally:
        close_app(app)


def test_one_trusted_proxy_gives_the_client_scheme_host_and_prefix(tmp_path):
    assert seen(tmp_path, 1) == {
        "remote_addr": "203.0.113.9",  # the address our one proxy saw, not what the client wrote
        "url_root": "https://videos.example.org/studio/",
        "health": "https://videos.example.org/studio/health",
    }


def test_two_proxies_reach_one_address_further(tmp_path):
    assert seen(tmp_path, 2)["remote_addr"] == "198.51.100.7"


def test_without_a_proxy_setting_the_headers_are_ignored(tmp_path):
    assert seen(tmp_path, 0) == {
        "remote_addr": "127.0.0.1",
        "url_root": "http://localhost/",
        "health": "http://localhost/health",
    }
