"""The built-in page at `/`, driven in headless Chromium against the production server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import FAST_JOB, png_bytes, serve

pytestmark = pytest.mark.browser

RENDER_MS = 240_000
"""Playwright's wait for one short render on a busy 2-core box (a wait, not an assertion)."""
SCREENSHOT = Path("/tmp/webpage-screenshot.png")

WATCH_PROGRESS = """() => {
  window.seen = [];
  const bar = document.querySelector("#job-progress");
  const stage = document.querySelector("#job-stage");
  new MutationObserver(() => window.seen.push([bar.value, stage.textContent]))
    .observe(bar, {attributes: true, attributeFilter: ["aria-valuetext"]});
}"""
PLAY_AND_SEEK = """async () => {
  const video = document.querySelector("#player");
  video.muted = true;
  await video.play();
  const playing = !video.paused;
  const target = video.duration / 2;
  const seeked = new Promise((done) => video.addEventListener("seeked", done, {once: true}));
  video.currentTime = target;
  await seeked;
  return {playing, target, at: video.currentTime, ready: video.readyState};
}"""

UNLABELLED = """() => [...document.querySelectorAll("input, select, button")]
  .filter((e) => e.getClientRects().length && !e.labels?.length && !e.getAttribute("aria-label")
    && !e.textContent.trim())
  .map((e) => e.id || e.outerHTML)"""
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
  .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)
  .concat(document.documentElement.scrollWidth > innerWidth ? ["the page scrolls sideways"] : [])"""


VOICE_CHOICES = """() => [...document.querySelectorAll("#voice_id option")].map((o) => ({
  id: o.value, disabled: o.disabled, group: o.parentElement.label || null }))"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, SORA_TTS_BASE_URL="")  # no speech API: the api_* voices are out


@pytest.fixture
def page(chromium, server: str):
    """A fresh page whose console errors and uncaught exceptions are collected."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and _unexpected(m.text, page.problems))
    page.set_default_timeout(30_000)
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()


def _unexpected(text: str, problems: list[str]) -> None:
    """Chromium logs every 4xx as an error; the one the test provokes on purpose is fine."""
    if "status of 400 (BAD REQUEST)" not in text:
        problems.append(text)


def test_generate_follow_play_seek_and_delete(page, server: str, tmp_path: Path):
    options = requests.get(f"{server}/api/options", timeout=10).json()
    assert page.locator("#auth").is_hidden() and page.locator("#account").is_hidden()
    shown = page.locator("#story_type option").evaluate_all("os => os.map(o => o.value)")
    assert shown == options["story_type"]
    _check_voice_choices(page, server)
    assert page.locator("#pacing").input_value() == options["defaults"]["pacing"]
    assert page.evaluate(UNLABELLED) == []

    _fill_quick_job(page, tmp_path)

    page.evaluate(WATCH_PROGRESS)
    with page.expect_response("**/api/generate-video") as answer:
        page.click("#submit")
    assert answer.value.status == 202
    job_id = answer.value.json()["job_id"]
    assert page.locator("#generate [aria-invalid]").count() == 0
    page.wait_for_function(
        "() => { const v = document.querySelector('#player');"
        " return v.currentSrc && v.readyState >= 1 && !isNaN(v.duration); }",
        timeout=RENDER_MS,
    )
    seen = page.evaluate("window.seen")
    values = [value for value, _ in seen]
    assert values == sorted(values) and values[-1] == 100 and len(set(values)) >= 3, seen
    stages = list(dict.fromkeys(stage for _, stage in seen))
    assert len(stages) >= 3 and stages[-1] == "Done", stages
    assert set(stages) <= {"Queued", "Script", "Images", "Narration", "Compile", "Done"}

    seek = page.evaluate(PLAY_AND_SEEK)
    assert seek["playing"] and seek["ready"] >= 2, seek
    assert abs(seek["at"] - seek["target"]) < 0.5, seek

    card = page.locator(f'#library li[data-id="{job_id}"]')
    card.locator(".badge", has_text="completed").wait_for()
    page.wait_for_function(
        "id => document.querySelector(`#library li[data-id='${id}'] img`)?.naturalWidth > 0",
        arg=job_id,
    )
    assert card.locator(".video-duration").inner_text().endswith("s")
    _screenshots(page, tmp_path)

    page.once("dialog", lambda dialog: dialog.accept())
    card.locator(".delete").click()
    card.wait_for(state="detached")
    assert requests.get(f"{server}/api/videos", timeout=10).json()["total"] == 0
    assert page.locator("#library-empty").is_visible()
    assert page.problems == []


def _check_voice_choices(page, server: str) -> None:
    """Every voice of /api/voices is listed; one it marks unavailable is disabled (it
    cannot be chosen) and grouped under its reason."""
    listed = requests.get(f"{server}/api/voices", timeout=10).json()
    shown = {choice["id"]: choice for choice in page.evaluate(VOICE_CHOICES)}
    assert sorted(shown) == sorted(voice["id"] for voice in listed["voices"])
    out = [voice for voice in listed["voices"] if not voice["available"]]
    assert out, "no unavailable voice to show (is SORA_TTS_BASE_URL set?)"
    for voice in listed["voices"]:
        choice = shown[voice["id"]]
        assert choice["disabled"] == (not voice["available"]), choice
        if voice["available"]:
            assert choice["group"] is None, choice
        else:
            assert voice["unavailable_reason"] in choice["group"], choice
    assert page.locator("#voice_id").input_value() == listed["default"]


def _fill_quick_job(page, tmp_path: Path) -> None:
    """FAST_JOB through the form, plus a character and an uploaded picture (mixed images)."""
    page.fill("#topic", FAST_JOB["topic"])
    page.select_option("#story_type", FAST_JOB["story_type"])
    page.select_option("#voice_id", FAST_JOB["voice_id"])
    page.select_option("#aspect_ratio", FAST_JOB["aspect_ratio"])
    page.fill("#duration", str(FAST_JOB["duration"]))
    page.set_checked("#music", FAST_JOB["music"])
    page.select_option("#image_mode", "mixed")
    page.select_option("#hook_intensity", "extreme")
    page.fill("#stock_keywords", "lighthouse, storm")
    page.click("#add-character")
    page.locator("#characters .character-description").fill("keeper of the light")
    page.fill("#num_scenes", "8")  # more than 9 s can hold, and a character without a name:
    page.click("#submit")  # each error shows next to its field, the first one has the focus
    page.wait_for_selector("#err-characters:has-text('characters[0].name')")
    page.wait_for_selector("#err-num_scenes:has-text('do not fit')")
    assert page.get_attribute("#num_scenes", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "num_scenes"
    page.fill("#num_scenes", str(FAST_JOB["num_scenes"]))
    page.fill("#characters .character-name", "Sarah")
    picture = tmp_path / "harbour.png"
    picture.write_bytes(png_bytes((320, 480), (20, 120, 160)))
    page.set_input_files("#picture-upload", str(picture))
    page.wait_for_selector("#pictures input:checked")


def _screenshots(page, tmp_path: Path) -> None:
    """Full page on a desktop and on a phone width (which must not scroll sideways)."""
    page.screenshot(path=str(tmp_path / "webpage.png"), full_page=True)
    shutil.copy(tmp_path / "webpage.png", SCREENSHOT)
    page.set_viewport_size({"width": 375, "height": 740})
    page.screenshot(path=str(tmp_path / "webpage-phone.png"), full_page=True)
    shutil.copy(tmp_path / "webpage-phone.png", SCREENSHOT.with_name("webpage-phone.png"))
    too_wide = page.evaluate(TOO_WIDE)
    assert too_wide == [], f"wider than a phone: {too_wide}"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def required_server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, SORA_AUTH_MODE="required", SORA_SECRET_KEY="web-page-test-" * 4)


def test_required_mode_logs_in_before_the_form(chromium, required_server: str, tmp_path: Path):
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{required_server}/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#auth-form").is_visible() and page.locator("#app").is_hidden()
    assert page.locator("#story_type option").count() > 1  # read without a token
    assert errors == []  # nothing asked that could only be refused before a login
    assert not [url for url in asked if "/api/auth/me" in url]
    page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
    shutil.copy(tmp_path / "login.png", SCREENSHOT.with_name("webpage-login.png"))

    page.click("#auth-switch")
    page.fill("#auth-username", "ana")
    page.fill("#auth-password", "long enough")
    page.click("#auth-submit")
    page.locator("#generate").wait_for()
    assert page.locator("#account-name").inner_text() == "Signed in as ana"
    assert page.evaluate("sessionStorage.getItem('sora.access')")
    page.locator("#library-empty").wait_for()

    picture = tmp_path / "mine.png"
    picture.write_bytes(png_bytes((200, 200), (200, 60, 60)))
    page.set_input_files("#picture-upload", str(picture))
    page.wait_for_function(  # the thumbnail comes over ?token=<media token>
        "() => document.querySelector('#pictures img')?.naturalWidth > 0"
    )
    assert "token=" in page.get_attribute("#pictures img", "src")

    page.fill("#topic", "Stopped at once")  # the event stream and cancel, with a media token
    page.select_option("#voice_id", FAST_JOB["voice_id"])
    page.fill("#duration", str(FAST_JOB["duration"]))
    page.fill("#num_scenes", str(FAST_JOB["num_scenes"]))
    page.click("#submit")
    page.locator("#cancel").click()
    page.wait_for_selector("#job-stage:text-is('Cancelled')")
    assert page.locator("#job-error").inner_text()
    page.locator("#library .badge", has_text="cancelled").wait_for()

    page.click("#logout")
    page.locator("#auth-form").wait_for()
    assert page.evaluate("sessionStorage.getItem('sora.access')") is None
    page.fill("#auth-username", "ana")
    page.fill("#auth-password", "wrong password")
    page.click("#auth-submit")
    page.wait_for_selector("#auth-error:has-text('incorrect')")
    page.fill("#auth-password", "long enough")
    page.click("#auth-submit")
    page.locator("#generate").wait_for()
    assert page.locator("#pictures input").count() == 1  # the same account's library
    page.close()
