"""Stock search: painted offline on a bare machine, the stock service when one is set up;
results are brought into the library by a server-signed id, never by a URL."""

from __future__ import annotations

import io

import numpy as np
import pytest
from itsdangerous import URLSafeSerializer
from PIL import Image

from sora_app import create_app
from sora_app.devtools.fake_upstreams import FakeUpstreams
from tests.conftest import app_config, close_app
from tests.jobs.test_upstream_jobs import KEY, upstream


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def test_offline_results_are_paintings_of_the_words_kept_and_brought_in(client, app):
    page = client.get("/api/media/stock?q=lighthouse storm&orientation=portrait").get_json()
    assert page["source"] == "offline" and page["page"] == 1 and len(page["results"]) == 6
    again = client.get("/api/media/stock?q=lighthouse storm&orientation=portrait").get_json()
    assert [r["id"] for r in again["results"]] == [r["id"] for r in page["results"]]
    second = client.get("/api/media/stock?q=lighthouse storm&page=2").get_json()
    assert not {r["id"] for r in second["results"]} & {r["id"] for r in page["results"]}

    previews = []
    for result in page["results"][:3]:
        answer = client.get(result["preview_url"])
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
        shown = picture(answer.data)
        assert shown.shape[:2] == (569, 320) and shown.std() > 20, "a painting, not a blank"
        previews.append(shown)
    assert np.abs(previews[0] - previews[1]).mean() > 10, "results differ from each other"
    cache = list((app.config["INSTANCE_DIR"] / "cache" / "stock").glob("*.jpg"))
    stamps = {p: p.stat().st_mtime_ns for p in cache}
    assert client.get(page["results"][0]["preview_url"]).data == client.get(
        page["results"][0]["preview_url"]).data  # fmt: skip
    assert {p: p.stat().st_mtime_ns for p in cache} == stamps, "painted once, then reused"

    made = client.post("/api/media/stock", json={"id": page["results"][1]["id"]})
    assert made.status_code == 201, made.get_json()
    item = made.get_json()
    assert (item["kind"], item["source"], item["width"], item["height"]) == (
        "image", "stock", 1080, 1920)  # fmt: skip
    full = picture(client.get(item["url"]).data)
    small = np.asarray(Image.fromarray(full.astype(np.uint8)).resize((320, 569)), np.float32)
    assert np.abs(small - previews[1]).mean() < 8, "the library holds the picture previewed"
    job = {"topic": "x", "duration": 0.2, "image_mode": "manual_only",
           "manual_image_paths": [item["id"]]}  # fmt: skip
    assert client.post("/api/generate-video", json=job).status_code == 202


@pytest.mark.parametrize(
    ("query", "field"),
    [("q=&orientation=portrait", "q"), ("q=sea&orientation=diagonal", "orientation"),
     ("q=sea&page=11", "page")],
)  # fmt: skip
def test_bad_searches_are_400s_naming_the_field(client, query, field):
    answer = client.get(f"/api/media/stock?{query}")
    assert answer.status_code == 400 and answer.get_json()["field"] == field, answer.get_json()


def test_forged_or_tampered_ids_are_not_found(client):
    forged = URLSafeSerializer("another key", salt="stock-result").dumps(
        {"u": "http://169.254.169.254/latest/meta-data/", "o": "portrait"}
    )
    real = client.get("/api/media/stock?q=sea").get_json()["results"][0]["id"]
    for token in (forged, real[:-2] + "xx", "nonsense"):
        for answer in (client.post("/api/media/stock", json={"id": token}),
                       client.get(f"/api/media/stock/{token}/preview")):  # fmt: skip
            assert answer.status_code == 404, answer.get_json()
            assert answer.get_json()["error"] == "STOCK_NOT_FOUND"
    assert client.post("/api/media/stock", json={}).status_code == 400


def test_a_stock_service_is_searched_and_its_photo_fetched_by_the_server(tmp_path):
    fake = FakeUpstreams(api_key=KEY)
    fake.start()
    stock = {"stock": upstream("stock", fake.base_url)}
    app = create_app({**app_config(tmp_path), "UPSTREAMS": stock})
    try:
        client = app.test_client()
        page = client.get("/api/media/stock?q=harbour&orientation=landscape").get_json()
        assert page["source"] != "offline" and page["results"], page
        assert fake.requests("search")[-1]["args"]["orientation"] == "landscape"
        first = page["results"][0]
        assert first["preview_url"].startswith(fake.root_url)
        made = client.post("/api/media/stock", json={"id": first["id"]})
        assert made.status_code == 201, made.get_json()
        assert (made.get_json()["width"], made.get_json()["height"]) == (1920, 1080)
        fake.set_fault("search", "503")
        down = client.get("/api/media/stock?q=harbour")
        assert down.status_code in (502, 503) and down.get_json()["error"], down.get_json()
    finally:
        close_app(app)
        fake.stop()
