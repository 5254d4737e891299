"""The creator's loop end to end through a real server: a streamed script, an edit of scene
4, a render, another edit, a re-render that makes only scene 4's pieces, then the library."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import av
import numpy as np
import pytest
import requests

from sora_app.pipeline.probe import probe
from tests.api.test_script_stream import STREAM, events_of
from tests.conftest import serve, wait_for_job

SMALL = (90, 160)
"""Frames are compared at this size: enough to see a picture or a caption change."""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("creator")
    for base in serve(tmp, SORA_JOB_WORKERS="1"):
        yield base, tmp / "instance" / "artefacts"


def snapshot(root: Path) -> dict[Path, tuple[int, str]]:
    """Every artefact file: (modification time, content hash)."""
    return {
        path: (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in root.glob("*/*/*")
        if path.is_file() and ".tmp" not in path.parts
    }


def frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([
            f.reformat(width=SMALL[0], height=SMALL[1], format="gray").to_ndarray()
            for f in container.decode(video=0)
        ]).astype(np.int16)  # fmt: skip


def _render(api: requests.Session, base: str, script_id: str, tmp: Path, name: str):
    answer = api.post(f"{base}/api/scripts/{script_id}/render",
                      json={"voice_id": "espeak_male", "music": False}, timeout=10)  # fmt: skip
    assert answer.status_code == 202, answer.text
    done = wait_for_job(lambda url: api.get(base + url, timeout=10).json(),
                        answer.json()["job_id"], timeout=300)  # fmt: skip
    assert done["status"] == "complete", done
    path = tmp / f"{name}.mp4"
    path.write_bytes(api.get(base + done["video_url"], timeout=60).content)
    scenes = api.get(f"{base}/api/videos/{done['job_id']}/scenes", timeout=10).json()["scenes"]
    return done, path, scenes


@pytest.mark.slow
def test_idea_to_edited_cut_through_the_api(site, tmp_path):
    base, artefacts = site
    api = requests.Session()
    ask = {"topic": "The Lighthouse Keeper's Last Night", "num_scenes": 5, "duration": 0.4,
           "story_type": "scary_horror", "script_source": "offline"}  # fmt: skip
    with api.post(f"{base}/api/scripts", json=ask, headers=STREAM, stream=True,
                  timeout=60) as streamed:  # fmt: skip
        got = events_of(streamed.iter_lines())
    assert [kind for kind, _ in got] == ["scene"] * 5 + ["done"]
    script = got[-1][1]

    def edit(text: str, base_version: int) -> None:
        scenes = [{k: v for k, v in s.items() if k != "index"} for s in script["scenes"]]
        scenes[3]["narration"] = text
        body = {"scenes": scenes, "base_version": base_version}
        answer = api.patch(f"{base}/api/scripts/{script['id']}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text

    edit("The lamp flickered twice, then a cold hand knocked on the glass.", 1)
    first, first_path, first_scenes = _render(api, base, script["id"], tmp_path, "v2")
    before = snapshot(artefacts)
    edit("Below him the iron stairs rang, step after slow step, as something climbed up "
         "towards the lamp room where no one else should be tonight.", 2)  # fmt: skip
    second, second_path, second_scenes = _render(api, base, script["id"], tmp_path, "v3")
    after = snapshot(artefacts)

    # Only scene 4's pieces are new: its body and the two dissolves beside it, and its
    # spoken sentences; the pictures are reused (the edit changed no picture); nothing
    # that existed was rewritten (same modification time, same bytes).
    new = {p for p in after if p not in before}
    assert all(after[p] == before[p] for p in before if p in after), "a reused piece changed"
    by_kind = {kind: sum(1 for p in new if p.parts[-3] == kind) for kind in ("segments", "speech")}
    assert by_kind["segments"] == 3 + sum(1 for p in new if p.suffix == ".jpg"), by_kind
    assert by_kind["speech"] >= 1 and not [p for p in new if p.parts[-3] == "painted"]
    assert "6 of 9 segments reused" in second["details"], second["details"]

    # The result: decodes fully at its stated length; scenes 1-3 are the same frames as
    # before, scene 5 the same frames later by exactly scene 4's growth; scene 4's caption
    # band changed; no join jumps or goes black.
    info = probe(second_path)
    assert abs(info.duration - second["duration"]) < 0.1
    a, b = frames(first_path), frames(second_path)
    fps = round(len(b) / info.duration)
    assert abs(len(b) - round(info.duration * fps)) <= 1
    start4 = round(second_scenes[3]["start"] * fps)
    assert second_scenes[3]["start"] == first_scenes[3]["start"]
    assert second_scenes[3]["text"] != first_scenes[3]["text"]
    same = np.abs(a[: start4 - fps] - b[: start4 - fps]).mean(axis=(1, 2))
    assert same.max() < 1.5, "frames before the edit changed"
    shift = round((second_scenes[4]["start"] - first_scenes[4]["start"]) * fps)
    assert shift > 0
    tail_a, tail_b = a[round(first_scenes[4]["start"] * fps) + fps :], b[
        round(second_scenes[4]["start"] * fps) + fps :]  # fmt: skip
    n = min(len(tail_a), len(tail_b))
    assert np.abs(tail_a[:n] - tail_b[:n]).mean(axis=(1, 2)).max() < 1.5, "scene 5 moved wrong"
    band = slice(int(SMALL[1] * 0.55), int(SMALL[1] * 0.8))  # where the captions sit
    mid4 = start4 + fps
    assert np.abs(a[mid4, band] - b[mid4, band]).mean() > 2, "scene 4's caption did not change"
    steps = [np.abs(x - y).mean() for x, y in itertools.pairwise(b)]
    assert max(steps) < 12 and b.mean(axis=(1, 2)).min() > 8

    library = api.get(f"{base}/api/videos?status=completed", timeout=10).json()
    assert [v["id"] for v in library["videos"]][:2] == [second["job_id"], first["job_id"]]
    assert library["videos"][0]["script"] == {"id": script["id"], "version": 3}
    assert api.delete(f"{base}/api/videos/{first['job_id']}", timeout=10).status_code == 200
    assert api.get(base + first["video_url"], timeout=10).status_code == 404
    pin = artefacts / "pins" / f"script-{script['id']}.json"
    assert pin.exists()
    assert api.delete(f"{base}/api/scripts/{script['id']}", timeout=10).status_code == 204
    assert not pin.exists(), "a deleted script's pieces go back to pruning"
    assert api.get(base + second["video_url"], timeout=10).status_code == 200  # videos stay
