"""Settings fail at start-up with one clear sentence, never later."""

from __future__ import annotations

import os

import pytest

from sora_app import config
from sora_app.config import ConfigError, load_server_settings, load_settings


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SORA_JOB_LEASE_SECONDS": "2", "SORA_JOB_HEARTBEAT_SECONDS": "5"}, "at least 3x"),
        ({"SORA_JOB_WORKERS": "two"}, "whole number"),
        ({"SORA_ACCEL_REDIRECT_PREFIX": "/_protected_videos"}, "start and end with '/'"),
        ({"SORA_JOB_WORKERS": "0"}, "at least 1"),
        ({"SORA_AUTH_MODE": "maybe"}, "open, required"),
        ({"SORA_ENV": "production"}, "SORA_SECRET_KEY"),
        ({"SORA_JOB_EXECUTOR": "rq"}, "thread, celery"),
        ({"SORA_JOB_EXECUTOR": "celery"}, "SORA_CELERY_BROKER_URL"),
        (
            {
                "SORA_JOB_EXECUTOR": "celery",
                "SORA_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
                "SORA_CELERY_VISIBILITY_TIMEOUT": "600",
            },
            "longer than the longest job",
        ),
    ],
)
def test_bad_settings_are_refused(monkeypatch, env, needle):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_port_must_be_a_real_port(monkeypatch):
    monkeypatch.setenv("SORA_PORT", "70000")
    with pytest.raises(ConfigError, match="at most 65535"):
        load_server_settings()


def test_production_with_a_secret_starts(monkeypatch):
    monkeypatch.setenv("SORA_ENV", "production")
    monkeypatch.setenv("SORA_SECRET_KEY", "x" * 40)
    assert load_settings().SECRET_KEY == "x" * 40


def test_upstreams_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SORA_VIDEO_API_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SORA_VIDEO_API_KEY", "video-key")
    monkeypatch.setenv("SORA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SORA_LLM_API_KEY", "llm-key")
    monkeypatch.setenv("SORA_LLM_MODEL", "my-model")
    ups = load_settings().UPSTREAMS
    assert set(ups) == {"video", "llm"}
    assert ups["video"].api_key == "video-key" and ups["video"].model == "sora-2"
    assert ups["llm"].api_key == "llm-key" and ups["llm"].model == "my-model"


def test_no_base_url_means_offline(monkeypatch):
    monkeypatch.setenv("SORA_IMAGE_API_KEY", "orphan-key")
    assert "images" not in load_settings().UPSTREAMS


def test_make_run_reads_dot_env_without_overriding_the_environment(monkeypatch, tmp_path):
    from sora_app import serve

    env_file = tmp_path / ".env"
    env_file.write_text("SORA_PORT=5099\nSORA_WEB_THREADS=7\n# a comment\nSORA_CORS_ORIGINS=x\n")
    monkeypatch.setattr(config, "ENV_FILE", env_file)
    monkeypatch.setattr(serve, "load_env_file", lambda: config.load_env_file(env_file))
    monkeypatch.setenv("SORA_WEB_THREADS", "3")  # set by the operator: wins over .env
    for name in ("SORA_PORT", "SORA_CORS_ORIGINS"):
        monkeypatch.setenv(name, "")  # so the teardown removes what .env will have set
        monkeypatch.delenv(name)
    monkeypatch.setattr(serve, "_port_problem", lambda host, port: None)
    started: list[list[str]] = []
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: started.append(argv))
    assert serve.main() == 0
    assert started and started[0][-1] == "wsgi:app"
    assert config.load_server_settings().port == 5099  # what the exec'd gunicorn reads
    assert config.load_server_settings().threads == 3
    assert os.environ["SORA_CORS_ORIGINS"] == "x"


def test_no_dot_env_is_fine(tmp_path):
    assert config.load_env_file(tmp_path / "missing.env") is False
