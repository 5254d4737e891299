"""Whole jobs against fake hosted services over real HTTP: every provider and external mode."""

from __future__ import annotations

import dataclasses
import time

import pytest

from sora_app import create_app
from sora_app.config import Upstream
from sora_app.devtools.fake_upstreams import FakeUpstreams
from sora_app.extensions import db
from sora_app.jobs import maintenance
from sora_app.jobs.executors import start_executor
from sora_app.jobs.upstream_deletes import GIVE_UP_SECONDS, UpstreamDelete
from sora_app.models import Job
from tests.conftest import FAST_JOB, app_config, post_task_with_image, wait_for_job

KEY = "sk-test-secret-key-123"


@pytest.fixture(scope="module")
def fake():
    server = FakeUpstreams(api_key=KEY, video_seconds=1.0)
    server.start()
    yield server
    server.stop()


def upstream(name: str, base_url: str, **extra) -> Upstream:
    return Upstream(
        name=name, label=f"{name} API", base_url=base_url, api_key=KEY,
        model={"llm": "gpt-4o-mini", "images": "gpt-image-1", "tts": "tts-1",
               "video": "sora-2", "stock": ""}[name],
        connect_timeout=1.0, read_timeout=5.0, max_attempts=3, max_total_seconds=10.0,
        backoff=0.05, auth_scheme="" if name == "stock" else "Bearer",
        health_path="search?query=health&per_page=1" if name == "stock" else "models",
        **extra,
    )  # fmt: skip


@pytest.fixture
def make_app(tmp_path, fake):
    apps = []

    def build(names: tuple[str, ...], base_url: str | None = None, **config):
        url = base_url or fake.base_url
        ups = {name: upstream(name, url) for name in names}
        app = create_app(
            {**app_config(tmp_path / str(len(apps))), "UPSTREAMS": ups,
             "VIDEO_API_POLL_SECONDS": 0.1, "UPSTREAM_HEALTH_TTL": 0.5, **config}
        )  # fmt: skip
        start_executor(app)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["sora_executor"].shutdown()
        with app.app_context():
            db.engine.dispose()
    fake.clear_faults()


def run(app, body: dict) -> dict:
    client = app.test_client()
    response = client.post("/api/generate-video", json=body)
    assert response.status_code == 202, response.get_json()
    return wait_for_job(lambda url: client.get(url).get_json(), response.get_json()["job_id"])


def no_partials(app) -> bool:
    return not list(app.config["VIDEOS_DIR"].glob(".*"))


def test_external_engine_renders_the_whole_video(make_app, fake):
    app = make_app(("video",))
    before = fake.count("videos_create")
    done = run(app, {**FAST_JOB, "engine": "sora"})
    assert done["status"] == "complete", done
    assert fake.count("videos_create") == before + 1
    served = app.test_client().get(
        f"/api/video/{done['video_path']}", headers={"Range": "bytes=0-9"}
    )
    assert served.status_code == 206
    tasks = app.test_client().get(f"/api/video/tasks/video_{done['job_id']}").get_json()["data"]
    assert tasks["externalVideoId"] and tasks["externalVideoId"].startswith("video_")
    assert KEY not in str(done) and no_partials(app)


def test_task_with_a_model_goes_to_the_external_api(make_app, fake):
    app = make_app(("video",))
    client = app.test_client()
    created = client.post(
        "/api/video/tasks",
        json={"prompt": "A red kite over hills", "model": "sora-2", "duration": 8},
    ).get_json()["data"]
    done = wait_for_job(lambda url: client.get(url).get_json(), created["jobId"])
    assert done["status"] == "complete", done
    task = client.get(f"/api/video/tasks/{created['videoId']}").get_json()["data"]
    assert task["externalVideoId"] and task["status"] == "COMPLETED"
    sent = fake.requests("videos_create")[-1]["json"]
    assert sent["prompt"] == "A red kite over hills" and sent["seconds"] == "8"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("failed", "EXTERNAL_"), ("content_404", "EXTERNAL_DOWNLOAD_FAILED")],
)
def test_external_failures_fail_the_job_clearly(make_app, fake, fault, code):
    app = make_app(("video",))
    fake.set_fault("videos_get" if fault == "failed" else "videos_content", fault)
    done = run(app, {**FAST_JOB, "engine": "sora"})
    assert done["status"] == "error" and done["error_code"].startswith(code), done
    assert KEY not in done["error"] and no_partials(app)


def test_unreachable_video_api_fails_fast_with_the_host(make_app):
    refused = FakeUpstreams.refused_base_url()
    app = make_app(("video",), base_url=refused)
    done = run(app, {**FAST_JOB, "engine": "sora"})
    assert done["status"] == "error" and done["error_code"] == "UPSTREAM_UNAVAILABLE"
    assert refused.split("//")[1].split("/")[0] in done["error"]
    health = app.test_client().get("/health").get_json()
    assert health["status"] == "degraded"
    assert health["checks"]["upstreams"]["services"]["video"]["ok"] is False


def test_transient_503_is_retried_and_the_job_completes(make_app, fake):
    app = make_app(("video",))
    fake.set_fault("videos_create", "503", count=2)
    done = run(app, {**FAST_JOB, "engine": "sora"})
    assert done["status"] == "complete", done


def test_every_stage_can_use_a_hosted_provider(make_app, fake):
    app = make_app(("llm", "images", "tts"))
    counts = {k: fake.count(k) for k in ("chat", "images", "speech")}
    done = run(app, {**FAST_JOB, "voice_id": "api_onyx", "characters": [{"name": "Sarah"}]})
    assert done["status"] == "complete", done
    assert fake.count("chat") > counts["chat"]
    assert fake.count("images") >= counts["images"] + FAST_JOB["num_scenes"]
    assert fake.count("speech") > counts["speech"]
    assert "image API" in done["details"]


def test_stock_mode_uses_the_stock_search(make_app, fake):
    app = make_app(("stock",))
    before = fake.count("search")
    done = run(app, {**FAST_JOB, "image_mode": "stock_only", "stock_keywords": ["lighthouse"]})
    assert done["status"] == "complete", done
    searches = fake.requests("search")[before:]
    assert searches and searches[0]["args"]["orientation"] == "portrait"


def test_remote_requests_without_the_upstream_are_a_400(make_app):
    client = make_app(()).test_client()
    for body, field in (
        ({"engine": "sora"}, "engine"),
        ({"script_source": "remote"}, "script_source"),
        ({"voice_id": "api_nova"}, "voice_id"),
    ):
        response = client.post("/api/generate-video", json={"topic": "t", **body})
        assert response.status_code == 400 and response.get_json()["field"] == field


def test_health_reports_configured_upstreams(make_app):
    body = make_app(("llm", "video")).test_client().get("/health").get_json()
    services = body["checks"]["upstreams"]["services"]
    assert set(services) == {"llm", "video"} and all(s["ok"] for s in services.values())
    assert KEY not in str(body)


def test_settings_shape_is_frozen():
    up = upstream("llm", "http://127.0.0.1:1/v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        up.model = "other"  # type: ignore[misc]


def test_task_with_a_reference_image_sends_it_resized_as_multipart(make_app, fake):
    app = make_app(("video",))
    client = app.test_client()
    fields = {"prompt": "Green field", "model": "sora-2", "duration": "4"}
    response = post_task_with_image(client, fields, (900, 900), (10, 200, 10))
    created = response.get_json()["data"]
    done = wait_for_job(lambda url: client.get(url).get_json(), created["jobId"])
    assert done["status"] == "complete", done
    sent = fake.requests("videos_create")[-1]
    assert sent["input_reference"]["size"] == "720x1280"


def test_cancelling_an_external_job_deletes_the_upstream_video(make_app, slow_fake):
    app = make_app(("video",), base_url=slow_fake.base_url)
    _cancel_mid_render(app, slow_fake)
    assert slow_fake.count("videos_delete") == 1
    assert no_partials(app)


def test_one_glitch_per_hosted_stage_is_retried_and_the_job_completes(make_app, fake):
    app = make_app(("llm", "images", "tts"), LLM_FALLBACK=False)
    for kind, fault in (
        ("chat", "malformed_json"),
        ("images", "truncated"),
        ("speech", "truncated"),
    ):
        fake.set_fault(kind, fault, count=1)
    done = run(app, {**FAST_JOB, "voice_id": "api_onyx", "script_source": "remote"})
    assert done["status"] == "complete", done
    assert all(fake.requests(kind)[-1]["fault"] is None for kind in ("chat", "images", "speech"))


def test_external_job_survives_a_bad_poll_and_a_cut_download(make_app, fake):
    app = make_app(("video",))
    fake.set_fault("videos_get", "bad_poll", count=1)
    fake.set_fault("videos_content", "truncated", count=1)
    done = run(app, {**FAST_JOB, "engine": "sora"})
    assert done["status"] == "complete", done


def test_cancel_cuts_off_a_trickling_script_model(make_app, fake):
    """The deadline is far away, so only the cancel can end the reply before its last byte."""
    patient = dataclasses.replace(upstream("llm", fake.base_url), max_total_seconds=120.0)
    app = make_app(("llm",), UPSTREAMS={"llm": patient})
    fake.set_fault("chat", "trickle")
    client = app.test_client()
    body = {**FAST_JOB, "script_source": "remote"}
    job_id = client.post("/api/generate-video", json=body).get_json()["job_id"]
    assert fake.trickling.wait(30), "the script model never started answering"
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
    done = wait_for_job(lambda url: client.get(url).get_json(), job_id, timeout=60)
    assert done["status"] == "cancelled", done
    assert fake.wait_hangup("chat", 5), "the cancel must close the trickling connection"


def _cancel_mid_render(app, fake: FakeUpstreams) -> tuple[str, str]:
    """Start an external job, cancel it once the upstream renders; (job id, upstream id)."""
    client = app.test_client()
    job_id = client.post("/api/generate-video", json={**FAST_JOB, "engine": "sora"}).get_json()[
        "job_id"
    ]
    deadline = time.monotonic() + 30
    while client.get(f"/api/progress/{job_id}").get_json()["progress"] < 5:
        assert time.monotonic() < deadline, "the external render never started"
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
    done = wait_for_job(lambda url: client.get(url).get_json(), job_id, timeout=30)
    assert done["status"] == "cancelled"
    with app.app_context():
        return job_id, db.session.get(Job, job_id).external_video_id


@pytest.fixture
def slow_fake():
    server = FakeUpstreams(api_key=KEY, video_seconds=60.0)
    server.start()
    yield server
    server.stop()


def test_a_delete_refused_once_is_retried_at_once(make_app, slow_fake):
    app = make_app(("video",), base_url=slow_fake.base_url)
    slow_fake.set_fault("videos_delete", "503", 1)
    job_id, video_id = _cancel_mid_render(app, slow_fake)
    assert [e["status"] for e in slow_fake.requests("videos_delete")] == [503, 200]
    assert slow_fake.videos.get(video_id) is None
    assert "external_delete" not in app.test_client().get(f"/api/progress/{job_id}").get_json()


def test_a_delete_the_gateway_keeps_refusing_stays_pending_until_it_goes_through(
    make_app, slow_fake
):
    app = make_app(("video",), base_url=slow_fake.base_url)
    slow_fake.set_fault("videos_delete", "503")  # every DELETE, until cleared
    job_id, video_id = _cancel_mid_render(app, slow_fake)
    tries = len(slow_fake.requests("videos_delete"))
    assert tries == 3  # the client's max_attempts, not one
    client = app.test_client()
    pending = client.get(f"/api/progress/{job_id}").get_json()["external_delete"]
    assert pending["status"] == "pending" and pending["video_id"] == video_id
    assert pending["attempts"] == 1 and "503" in pending["last_error"]
    task = client.get(f"/api/video/tasks/{job_id}").get_json()["data"]
    assert task["externalDelete"]["status"] == "pending"
    assert task["externalDelete"]["nextAttemptAt"] == pending["next_attempt_at"]
    assert slow_fake.videos.get(video_id) is not None  # still rendering, at the user's cost

    due = pending["next_attempt_at"]
    assert maintenance.run(app, None, due - 1, with_prune=False).deletes_retried == 0
    assert len(slow_fake.requests("videos_delete")) == tries  # not due yet: not tried
    assert maintenance.run(app, None, due, with_prune=False).deletes_retried == 0
    later = client.get(f"/api/progress/{job_id}").get_json()["external_delete"]
    assert later["attempts"] == 2 and later["next_attempt_at"] > due

    slow_fake.clear_faults()
    assert (
        maintenance.run(app, None, later["next_attempt_at"], with_prune=False).deletes_retried == 1
    )
    done = client.get(f"/api/progress/{job_id}").get_json()["external_delete"]
    assert done == {**done, "status": "done", "attempts": 3, "next_attempt_at": None}
    assert slow_fake.videos.get(video_id) is None
    count = len(slow_fake.requests("videos_delete"))
    maintenance.run(app, None, later["next_attempt_at"] + 86400, with_prune=False)
    assert len(slow_fake.requests("videos_delete")) == count  # done is done


def test_a_delete_refused_for_days_is_given_up_and_says_so(make_app, slow_fake):
    app = make_app(("video",), base_url=slow_fake.base_url)
    slow_fake.set_fault("videos_delete", "503")
    job_id, _ = _cancel_mid_render(app, slow_fake)
    client = app.test_client()
    first = client.get(f"/api/progress/{job_id}").get_json()["external_delete"]
    with app.app_context():
        started = db.session.get(UpstreamDelete, first["video_id"]).created_at
    maintenance.run(app, None, started + GIVE_UP_SECONDS + 1, with_prune=False)
    gone = client.get(f"/api/progress/{job_id}").get_json()["external_delete"]
    assert gone["status"] == "failed" and gone["next_attempt_at"] is None
