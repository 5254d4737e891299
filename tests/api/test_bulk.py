"""Bulk: a batch of videos fed to the queue a few at a time, so single videos asked for
meanwhile are not starved; one bad item fails alone; a batch can be cancelled."""

from __future__ import annotations

import io
import time

import pytest

from sora_app import create_app
from sora_app.extensions import db
from sora_app.jobs import batches
from sora_app.models import Job
from tests.api.test_auth import bearer, register
from tests.conftest import app_config, close_app, png_bytes, wait_for_job

SHARED = {"voice_id": "espeak_male", "duration": 0.1, "num_scenes": 2, "aspect_ratio": "1:1",
          "music": False}  # fmt: skip


def wait_for_batch(client, batch_id: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/videos/bulk/{batch_id}").get_json()
        if body["status"] not in ("processing", "cancelling"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish in {timeout} s; last: {body}")


def test_a_batch_shares_the_queue_and_one_bad_item_fails_alone(running_app):
    client = running_app.test_client()
    picture = client.post("/api/media", data={"file": (io.BytesIO(png_bytes()), "p.png")},
                          content_type="multipart/form-data").get_json()  # fmt: skip
    script = client.post("/api/scripts", json={"title": "Framed", "scenes": [
        {"narration": "A picture of my own.", "media": picture["id"]}]}).get_json()  # fmt: skip
    made = client.post(
        "/api/videos/bulk",
        json={
            "topics": ["The Lost Key", "The Night Ferry"],
            "script_ids": [script["id"]],
            **SHARED,
        },
    )
    assert made.status_code == 202, made.get_json()
    batch = made.get_json()
    assert (batch["status"], batch["total_videos"], batch["pending_videos"]) == ("processing", 3, 3)
    assert [i["label"] for i in batch["items"]] == ["The Lost Key", "The Night Ferry", "Framed"]
    assert client.delete(f"/api/media/{picture['id']}").status_code == 204  # item 3 goes bad
    single = client.post("/api/generate-video", json={**SHARED, "topic": "Asked for alone"})
    single_id = single.get_json()["job_id"]

    done = wait_for_batch(client, batch["batch_id"])
    assert (done["status"], done["completed_videos"], done["failed_videos"]) == ("completed", 2, 1)
    first, second, bad = done["items"]
    assert done["video_ids"] == [first["job_id"], second["job_id"]]
    assert bad["status"] == "failed" and bad["job_id"] is None
    assert bad["error"]["code"] == "VALIDATION_ERROR" and "media" in bad["error"]["message"]
    assert wait_for_job(lambda url: client.get(url).get_json(), single_id)["status"] == "complete"
    with running_app.app_context():
        started = {j.id: j.started_at for j in db.session.scalars(db.select(Job))}
        created = {j.id: j.created_at for j in db.session.scalars(db.select(Job))}
    # Fed one at a time: the batch's second video entered the queue after the single one
    # (asked for later than the whole batch) and so started after it.
    assert created[second["job_id"]] > created[single_id]
    assert started[single_id] < started[second["job_id"]]
    library = client.get("/api/videos?status=completed").get_json()
    assert {v["id"] for v in library["videos"]} >= set(done["video_ids"])

    # A finished batch video deleted from the library is gone for good: no later feeding
    # (maintenance runs every pass) makes it again.
    assert client.delete(f"/api/videos/{first['job_id']}").status_code == 200
    with running_app.app_context():
        count = db.select(db.func.count()).select_from(Job)
        jobs_before = db.session.scalar(count)
        assert batches.feed_all() == [] and batches.feed(batch["batch_id"]) == 0
        assert db.session.scalar(count) == jobs_before
    after = client.get(f"/api/videos/bulk/{batch['batch_id']}").get_json()
    assert (after["status"], after["deleted_videos"], after["completed_videos"]) == (
        "completed", 1, 1)  # fmt: skip


def test_a_persons_batches_share_one_feeding_slot(app):
    """`app` runs no workers: what is fed stays queued, so the count is exact."""
    client = app.test_client()
    for topics in (["A", "B"], ["C", "D"]):
        assert client.post("/api/videos/bulk", json={"topics": topics, **SHARED}).status_code == 202
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 1
        assert batches.feed_all() == []


def test_cancelling_a_batch_stops_feeding_it(running_app):
    client = running_app.test_client()
    made = client.post("/api/videos/bulk", json={"topics": ["One", "Two", "Three"], **SHARED})
    batch_id = made.get_json()["batch_id"]
    cancelled = client.post(f"/api/videos/bulk/{batch_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] in (
        "cancelling", "cancelled")  # fmt: skip
    done = wait_for_batch(client, batch_id)
    assert done["status"] == "cancelled" and done["cancelled_videos"] == 3, done
    assert [i["job_id"] is None for i in done["items"]] == [False, True, True]
    with running_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "topics"),
        ({"topics": "one"}, "topics"),
        ({"topics": ["ok", "  "]}, "topics[1]"),
        ({"topics": ["ok"], "voice_id": "nobody"}, "voice_id"),
        ({"topics": ["ok"] * 4}, "topics"),
        ({"script_ids": ["missing"]}, "script_ids[0]"),
    ],
)
def test_bad_batches_are_refused_whole_naming_the_field(tmp_path, body, field):
    app = create_app({**app_config(tmp_path), "MAX_BATCH_VIDEOS": 3})
    answer = app.test_client().post("/api/videos/bulk", json=body)
    assert answer.status_code in (400, 404), answer.get_json()
    assert answer.get_json()["field"] == field, answer.get_json()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0
    close_app(app)


def test_another_users_batch_and_scripts_are_missing(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    client = app.test_client()
    ana = bearer(register(client, "ana")["access_token"])
    ben = bearer(register(client, "ben")["access_token"])
    made = client.post("/api/videos/bulk", json={"topics": ["Mine"], **SHARED}, headers=ana)
    batch_id = made.get_json()["batch_id"]
    for method, url in [("get", f"/api/videos/bulk/{batch_id}"),
                        ("post", f"/api/videos/bulk/{batch_id}/cancel")]:  # fmt: skip
        answer = getattr(client, method)(url, headers=ben)
        assert answer.status_code == 404 and answer.get_json()["error"] == "BATCH_NOT_FOUND"
    script = client.post("/api/scripts", json={"title": "T", "text": "One line."}, headers=ana)
    stolen = client.post("/api/videos/bulk", json={"script_ids": [script.get_json()["id"]]},
                         headers=ben)  # fmt: skip
    assert stolen.status_code == 404 and stolen.get_json()["error"] == "SCRIPT_NOT_FOUND"
    close_app(app)
