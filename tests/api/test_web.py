"""The built-in page's files, and the catalogue it reads before anyone logs in."""

from __future__ import annotations

from sora_app import create_app
from tests.api.test_auth import bearer, register
from tests.conftest import app_config


def test_the_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/static/app.js">' in html
    assert 'href="/static/app.css"' in html and "http" not in html.split("<body")[1]
    assert page.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    assert "/api/generate-video" in script.get_data(as_text=True)
    assert client.get("/static/app.css").mimetype == "text/css"
    assert client.get("/static/../api/web.py").status_code == 404
    assert client.get("/health").get_json()["status"] in ("ok", "degraded")


def test_options_list_the_defaults_a_form_preselects(client):
    options = client.get("/api/options").get_json()
    assert options["defaults"]["story_type"] == "mystery"
    assert options["defaults"]["voice_id"] in options["voice_id"]
    assert options["defaults"]["num_scenes"] == 5 and options["defaults"]["music"] is True


def test_required_mode_serves_the_catalogue_without_a_token(tmp_path):
    app = create_app({**app_config(tmp_path), "AUTH_MODE": "required"})
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/options").status_code == 200
    assert client.get("/api/voices").get_json()["voices"]
    assert client.get("/api/voices/espeak_male/preview").status_code == 401  # owned work
    assert client.get("/api/videos").status_code == 401
    bad = client.get("/api/options", headers=bearer("not.a.token"))
    assert bad.status_code == 401  # a token sent must still be valid
    token = register(client)["access_token"]
    assert client.get("/api/voices", headers=bearer(token)).status_code == 200
