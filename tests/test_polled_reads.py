"""Polled reads replayed below Flask while nothing was written on this box (polled_reads.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sora_app import create_app
from sora_app.change_counter import counter_for, sqlite_file
from sora_app.extensions import db
from sora_app.jobs import store
from sora_app.models import Job
from sora_app.polled_reads import PolledReads
from tests.conftest import ROOT, app_config, close_app

ORIGIN = "http://localhost:5173"
LONG = {"READ_REPLAY_SECONDS": 3600.0}
"""Replays that never expire by the clock: only a commit can end them."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_app(tmp_path: Path):
    apps = []

    def make(**config):
        app = create_app({**app_config(tmp_path), "CORS_ORIGINS": [ORIGIN], **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


def _replays(app) -> PolledReads | None:
    """The app's polled-read layer (under the media replay, when that is on), or None."""
    layer = app.wsgi_app
    while layer is not None and not isinstance(layer, PolledReads):
        layer = getattr(layer, "inner", None)
    return layer


def _replaying(app) -> PolledReads:
    layer = _replays(app)
    assert layer is not None, "a SQLite app answers polled reads again"
    return layer


def _new_job(app, topic: str) -> str:
    with app.app_context():
        return store.create_job({"topic": topic, "duration": 1}).id


def _answer(response) -> tuple:
    """Status, headers and body; but X-Request-ID, which each answer has its own of."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")
    return response.status, headers, response.data


@pytest.mark.sqlite_only
def test_a_replayed_answer_is_the_answer_flask_gave(make_app):
    app = make_app(**LONG)
    _new_job(app, "first")
    client = app.test_client()
    first = client.get("/api/progress", headers={"Origin": ORIGIN})
    again = client.get("/api/progress", headers={"Origin": ORIGIN})
    assert _replaying(app).replayed == 1
    assert _answer(again) == _answer(first)
    assert again.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert again.headers["Cache-Control"] == "no-store"
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]


@pytest.mark.sqlite_only
def test_a_commit_in_another_process_ends_the_replay(make_app, tmp_path):
    """The writer is a separate Python process with its own app: only the shared count tells."""
    app = make_app(**LONG)
    first = _new_job(app, "first")
    client = app.test_client()
    assert client.get("/api/progress").get_json()["job_id"] == first
    assert client.get("/api/progress").get_json()["job_id"] == first
    assert _replaying(app).replayed == 1
    writer = (
        "import sys; from pathlib import Path; from sora_app import create_app;"
        "from sora_app.jobs import store; from tests.conftest import app_config;"
        "app = create_app(app_config(Path(sys.argv[1])));"
        "ctx = app.app_context(); ctx.push();"
        "print(store.create_job({'topic': 'second', 'duration': 1}).id)"
    )
    done = subprocess.run(
        [sys.executable, "-c", writer, str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    second = done.stdout.strip().splitlines()[-1]
    assert second != first
    assert client.get("/api/progress").get_json()["job_id"] == second


@pytest.mark.sqlite_only
def test_every_kind_of_write_moves_the_count_and_reads_do_not(make_app):
    app = make_app()
    counter = counter_for(app)
    job_id = _new_job(app, "counted")
    with app.app_context():
        before = counter.value()
        store.get_job(job_id)
        db.session.commit()  # a commit that wrote nothing
        assert counter.value() == before
        store.request_cancel(job_id)  # a Core UPDATE
        assert counter.value() == before + 1
        db.session.get(Job, job_id).details = "changed through the unit of work"
        db.session.rollback()  # never committed
        assert counter.value() == before + 1
        db.session.get(Job, job_id).details = "changed through the unit of work"
        db.session.commit()
        assert counter.value() == before + 2


@pytest.mark.sqlite_only
def test_a_running_jobs_answer_is_asked_again_once_it_is_old(make_app):
    """eta_seconds moves with the clock, not with writes."""
    app = make_app(READ_REPLAY_SECONDS=0.5)
    replays = _replaying(app)
    replays.clock = clock = FakeClock()
    _new_job(app, "clock")
    client = app.test_client()
    client.get("/api/progress")
    clock.now += 0.4
    client.get("/api/progress")
    assert replays.replayed == 1
    clock.now += 0.2
    client.get("/api/progress")
    assert replays.replayed == 1, "an answer older than READ_REPLAY_SECONDS is asked again"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/api/progress", {"Authorization": "Bearer not-a-token"}),
        ("/api/progress", {"cookie": "session"}),
        ("/api/progress?token=abc", {}),
        ("/api/video/tasks", {}),
        ("/health", {}),
    ],
    ids=["bearer", "cookie", "token-parameter", "task-list", "health"],
)
def test_requests_with_credentials_or_other_paths_always_go_to_flask(make_app, url, headers):
    app = make_app(**LONG)
    _new_job(app, "credentials")
    client = app.test_client()
    if "cookie" in headers:  # the test client sends cookies from its jar, not from headers
        client.set_cookie(headers.pop("cookie"), "1")
    for _ in range(3):
        client.get(url, headers=headers)
    assert _replaying(app).replayed == 0


@pytest.mark.sqlite_only
def test_different_origins_get_their_own_answers(make_app):
    app = make_app(**LONG, CORS_ORIGINS=[ORIGIN, "http://other.example"])
    _new_job(app, "origins")
    client = app.test_client()
    client.get("/api/progress", headers={"Origin": ORIGIN})
    other = client.get("/api/progress", headers={"Origin": "http://other.example"})
    assert other.headers["Access-Control-Allow-Origin"] == "http://other.example"
    assert _replaying(app).replayed == 0


def test_only_a_sqlite_file_has_a_counter(make_app):
    assert sqlite_file("postgresql+psycopg://sora@db/sora") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:////srv/sora/db.sqlite") == Path("/srv/sora/db.sqlite")
    uri = "sqlite:///file:/srv/sora/db.sqlite?mode=ro&uri=true"
    assert sqlite_file(uri) == Path("/srv/sora/db.sqlite")
    assert sqlite_file("sqlite:///file:shared?mode=memory&cache=shared&uri=true") is None
    app = make_app(READ_REPLAY_SECONDS=0.0)
    assert _replays(app) is None, "0 turns replays off"


def test_replays_need_the_sqlite_files_counter(make_app):
    """On PostgreSQL nothing is replayed (no counter sees other hosts' commits)."""
    url = make_app().config["SQLALCHEMY_DATABASE_URI"]
    replaying = _replays(make_app()) is not None
    assert replaying == (sqlite_file(url) is not None), url
