"""Scene composition fits every aspect ratio: the painter never crashes on frame geometry.

Regression for `ValueError: high - low < 0` in `scene_figures._spread`: in 16:9 and 1:1 the
sky band (caption band to horizon) is narrower than the lead sky symbol, so most renders died.
"""

from __future__ import annotations

import numpy as np
import pytest

from sora_app.pipeline.images import ASPECTS, IMAGE_STYLES
from sora_app.pipeline.probe import probe
from sora_app.pipeline.script import write_script
from sora_app.pipeline.types import Character, ImageSpec, StoryRequest
from sora_app.providers.scene_renderer import render_scene
from tests.conftest import FAST_JOB, wait_for_job

SEEDS = range(30)
SCENE_COUNTS = range(1, 5)
SHRINK = 8
"""Render at an eighth of the video size: the composition is proportional, so geometry bugs
show up identically, and 1,200 renders stay fast on a shared machine."""
CAST = (Character("Lena", "a lighthouse keeper"), Character("Tom", "a fisherman"))


def _script(seed: int, scenes: int):
    """A real offline script, so keywords, characters and moods vary as in production."""
    request = StoryRequest(
        topic="disk test",
        duration_minutes=0.1 * scenes,
        num_scenes=scenes,
        characters=CAST[: seed % 3],
        seed=seed,
    )
    return write_script(request)


@pytest.mark.parametrize("aspect", sorted(ASPECTS))
def test_every_seed_and_scene_count_paints_a_full_frame(aspect: str) -> None:
    width, height = (side // SHRINK for side in ASPECTS[aspect])
    for seed in SEEDS:
        style = IMAGE_STYLES[seed % len(IMAGE_STYLES)]
        spec = ImageSpec(style=style, width=width, height=height, seed=seed)
        for count in SCENE_COUNTS:
            script = _script(seed, count)
            for scene in script.scenes:
                img = render_scene(scene, len(script.scenes), script.title, spec)
                where = f"{aspect} seed={seed} scenes={count} index={scene.index} style={style}"
                assert img.mode == "RGB" and img.size == (width, height), where
                assert np.asarray(img, dtype=np.float32).std() > 8, f"blank frame: {where}"


def test_a_16_9_job_completes_through_the_api(running_app) -> None:
    """The exact request from the bug report, end to end with real espeak and ffmpeg."""
    client = running_app.test_client()
    job = {**FAST_JOB, "topic": "disk test", "duration": 0.1, "num_scenes": 1}
    job |= {"aspect_ratio": "16:9", "seed": 1}
    response = client.post("/api/generate-video", json=job)
    assert response.status_code in (200, 201, 202), response.get_json()
    job_id = response.get_json()["job_id"]
    body = wait_for_job(lambda url: client.get(url).get_json(), job_id)
    assert body["status"] == "complete", body
    info = probe(running_app.config["VIDEOS_DIR"] / body["video_path"])
    assert (info.width, info.height) == (1920, 1080)
