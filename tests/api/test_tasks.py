"""Contract 2's task API: camelCase, the envelope, two ids, and one job table with contract 1."""

from __future__ import annotations

from sora_app.jobs import store
from tests.api.test_auth import bearer, register
from tests.conftest import post_task_with_image, wait_for_job


def create(client, headers=None, **fields):
    body = {"prompt": "A lighthouse keeper finds a door in the fog", "duration": 12, **fields}
    response = client.post("/api/video/tasks", json=body, headers=headers or {})
    assert response.status_code == 201, response.get_json()
    payload = response.get_json()
    assert payload["success"] is True
    return payload["data"]


def test_task_is_a_job_on_both_surfaces(client):
    task = create(client)
    assert task["videoId"].startswith("video_") and task["externalVideoId"] is None
    assert task["status"] == "QUEUED" and task["progress"] == 0 and task["duration"] == 12
    same = client.get(f"/api/progress/{task['jobId']}").get_json()
    assert same["status"] == "generating"
    assert task["etaSeconds"] > 0 and same["eta_seconds"] == task["etaSeconds"]
    job_id = client.post("/api/generate-video", json={"topic": "from contract 1"}).get_json()[
        "job_id"
    ]
    seen = client.get(f"/api/video/tasks/video_{job_id}").get_json()["data"]
    assert seen["prompt"] == "from contract 1" and seen["model"] == "local"


def test_list_paging_filter_newest_first_and_stats(client, app):
    ids = [create(client, prompt=f"story {i}")["videoId"] for i in range(3)]
    client.post(f"/api/video/tasks/{ids[0]}/cancel")
    page = client.get("/api/video/tasks?page=1&limit=2").get_json()["data"]
    assert [t["videoId"] for t in page["tasks"]] == [ids[2], ids[1]]
    assert page["total"] == 3 and page["hasMore"] is True
    second = client.get("/api/video/tasks?page=2&limit=2").get_json()["data"]
    assert [t["videoId"] for t in second["tasks"]] == [ids[0]] and second["hasMore"] is False
    cancelled = client.get("/api/video/tasks?status=CANCELLED").get_json()["data"]
    assert [t["videoId"] for t in cancelled["tasks"]] == [ids[0]]
    stats = client.get("/api/video/stats").get_json()["data"]
    assert stats == {
        "total": 3, "queued": 2, "processing": 0, "completed": 0, "failed": 0, "cancelled": 1
    }  # fmt: skip
    bad = client.get("/api/video/tasks?status=DONE")
    assert bad.status_code == 400 and bad.get_json() == {
        "success": False, "error": "VALIDATION_ERROR", "field": "status",
        "message": "status must be one of: QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED",
    }  # fmt: skip


def test_validation_uses_the_envelope(client):
    response = client.post("/api/video/tasks", json={"prompt": "", "duration": 12})
    body = response.get_json()
    assert response.status_code == 400 and body["success"] is False and body["field"] == "prompt"
    too_long = client.post("/api/video/tasks", json={"prompt": "x", "duration": 6000})
    assert too_long.get_json()["field"] == "duration"


def test_unknown_and_other_users_tasks_are_404(client):
    alice = bearer(register(client, "alice")["access_token"])
    task = create(client, headers=alice)
    for url in (f"/api/video/tasks/{task['videoId']}", "/api/video/tasks/video_nope"):
        response = client.get(url)
        assert response.status_code == 404 and response.get_json()["error"] == "TASK_NOT_FOUND"
    assert client.post(f"/api/video/tasks/{task['videoId']}/cancel").status_code == 404
    assert client.get(f"/api/video/tasks/{task['videoId']}/content").status_code == 404
    assert client.delete(f"/api/video/tasks/{task['videoId']}").status_code == 404
    mine = client.get("/api/video/tasks", headers=alice).get_json()["data"]["tasks"]
    assert [t["videoId"] for t in mine] == [task["videoId"]]
    assert client.get("/api/video/tasks").get_json()["data"]["total"] == 0


def test_content_before_completion_is_409_and_delete_needs_a_final_task(client):
    task = create(client)
    early = client.get(f"/api/video/tasks/{task['videoId']}/content")
    assert early.status_code == 409 and early.get_json()["error"] == "TASK_NOT_COMPLETED"
    active = client.delete(f"/api/video/tasks/{task['videoId']}")
    assert active.status_code == 409 and active.get_json()["error"] == "TASK_ACTIVE"
    client.post(f"/api/video/tasks/{task['videoId']}/cancel")
    gone = client.delete(f"/api/video/tasks/{task['videoId']}")
    assert gone.status_code == 200 and gone.get_json()["data"]["deleted"] is True
    assert client.get(f"/api/video/tasks/{task['videoId']}").status_code == 404


def test_multipart_task_with_reference_image_renders_locally(running_app):
    client = running_app.test_client()
    fields = {"prompt": "Blue", "duration": "6", "voiceId": "espeak_male"}
    response = post_task_with_image(client, fields, (500, 300), (0, 0, 250))
    assert response.status_code == 201, response.get_json()
    task = response.get_json()["data"]
    done = wait_for_job(lambda url: client.get(url).get_json(), task["jobId"])
    assert done["status"] == "complete", done
    final = client.get(f"/api/video/tasks/{task['videoId']}").get_json()["data"]
    assert (
        final["status"] == "COMPLETED" and final["videoUrl"] == f"/api/video/{done['video_path']}"
    )
    content = client.get(f"/api/video/tasks/{task['videoId']}/content").get_json()["data"]
    assert content["url"] == final["videoUrl"] and content["externalVideoId"] is None
    ranged = client.get(content["url"], headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10
    with running_app.app_context():
        request = store.get_job(task["jobId"]).request
    assert request["image_mode"] == "mixed" and len(request["manual_image_paths"]) == 1
