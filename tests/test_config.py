"""Settings fail at start-up with one clear sentence, never later."""

from __future__ import annotations

import os
import subprocess

import pytest

from sora_app import config
from sora_app.config import ConfigError, load_server_settings, load_settings
from tests.conftest import ROOT, free_port


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SORA_JOB_LEASE_SECONDS": "2", "SORA_JOB_HEARTBEAT_SECONDS": "5"}, "at least 3x"),
        ({"SORA_JOB_WORKERS": "two"}, "whole number"),
        ({"SORA_ACCEL_REDIRECT_PREFIX": "/_protected_videos"}, "start and end with '/'"),
        ({"SORA_JOB_WORKERS": "0"}, "at least 1"),
        ({"SORA_AUTH_MODE": "maybe"}, "open, required"),
        ({"SORA_ENV": "production"}, "SORA_SECRET_KEY"),
        ({"SORA_ENV": "prod"}, "development, production"),
        # An env file pasted with its end-of-line comments (systemd keeps them in the value):
        ({"SORA_ENV": "production   # refuses to start"}, "Put comments on their own lines"),
        ({"SORA_VIDEOS_DIR": "/srv/v   # = the alias"}, "SORA_VIDEOS_DIR holds a comment"),
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


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"SORA_METRICS_DIR": "{file}/metrics"},
            "SORA_METRICS_DIR ({file}/metrics) is not writable",
        ),
        ({"SORA_WEB_WORKERS": "1   # one process"}, "SORA_WEB_WORKERS holds a comment"),
    ],
)
def test_gunicorn_as_systemd_starts_it_refuses_bad_folders_in_one_sentence(tmp_path, env, needle):
    """The unit's own command line (deploy/sora-app.service): a folder it cannot write is
    named with its setting before any worker starts, exit code 1, no traceback."""
    blocker = tmp_path / "a-file"  # a folder below a file fails even for root
    blocker.write_text("")
    settings = {key: value.format(file=blocker) for key, value in env.items()}
    base = {"SORA_INSTANCE_DIR": str(tmp_path / "instance"), "SORA_PORT": str(free_port())}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:sora_app.gunicorn_conf",
         "wsgi:app"],
        cwd=ROOT, env={**os.environ, **base, **settings}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"Configuration error: {needle.format(file=blocker)}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_folder_that_cannot_be_written_is_named_with_its_setting(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"  # a folder below a file fails even for root
    blocker.write_text("")
    monkeypatch.setenv("SORA_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("SORA_VIDEOS_DIR", str(blocker / "videos"))
    problem = config.folder_problem(load_settings(), load_server_settings())
    assert problem is not None and problem.startswith(f"SORA_VIDEOS_DIR ({blocker}/videos)")
    monkeypatch.setenv("SORA_INSTANCE_DIR", str(blocker / "i"))
    with pytest.raises(ConfigError, match="cannot keep the development secret"):
        load_settings()


def test_a_commented_secret_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("SORA_SECRET_KEY", "s3cr3t-value-of-forty-characters-or-more  # rotated May")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "SORA_SECRET_KEY" in str(refused.value) and "# rotated May" in str(refused.value)
    assert "s3cr3t" not in str(refused.value), "the journal would keep the secret"


def test_media_replay_seconds_are_capped(monkeypatch):
    monkeypatch.setenv("SORA_MEDIA_REPLAY_SECONDS", "3600")
    with pytest.raises(ConfigError, match="at most 60"):
        load_settings()
