"""A finished video's scenes: what each says, when, and a still of it, kept beside the video.

A job's work dir is deleted when it ends, but a creator looking at a video wants to see its
scenes (to pick the one to fix) long after. So the compile stage leaves a small manifest and
one still per scene, and publishing moves them next to the video under names derived from
the video's, which is how ownership and deletion find them without a table of their own.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..pipeline.images import read_sources, save_atomic, scene_image_path, thumbnail
from ..pipeline.types import Narration, Script, write_json_atomic

MANIFEST = "scenes.json"
"""In the work dir while the job runs; published as `<video stem>.scenes.json`."""
STILLS = "stills"
STILL_WIDTH = 360
"""A still is a picker's thumbnail, not the frame: a ~25 KB JPEG instead of a 1080p one."""
STILL_NAME = re.compile(r"^(?P<stem>[A-Za-z0-9][A-Za-z0-9_-]*)_scene\d{2,3}\.jpg$")


def still_name(video_name: str, index: int) -> str:
    return f"{Path(video_name).stem}_scene{index + 1:02d}.jpg"


def manifest_name(video_name: str) -> str:
    """Not servable (api.media serves only .mp4 and .jpg): the API shapes it instead."""
    return f"{Path(video_name).stem}.{MANIFEST}"


def video_of_still(filename: str) -> str | None:
    """The video a scene still belongs to, so owning the video is owning its stills."""
    match = STILL_NAME.match(filename)
    return f"{match.group('stem')}.mp4" if match else None


def prepare(work_dir: Path, script: Script, narration: Narration) -> None:
    """Write the manifest and the stills into the work dir (published with the video)."""
    stills = work_dir / STILLS
    stills.mkdir(exist_ok=True)
    sources = read_sources(work_dir)
    scenes = []
    spans = narration.scene_spans
    for i, (scene, (start, end)) in enumerate(zip(script.scenes, spans, strict=True)):
        still = thumbnail(scene_image_path(work_dir, i), STILL_WIDTH)
        save_atomic(still, stills / f"{i:03d}.jpg", "JPEG", quality=82)
        scenes.append(
            {
                "index": i,
                "text": scene.narration,
                "caption": scene.caption,
                "keywords": scene.keywords,
                "mood": scene.mood,
                "visual": scene.visual,
                "start": round(start, 3),
                "end": round(end, 3),
                "source": sources.get(str(i), "painter"),
            }
        )
    body = {"title": script.title, "story_type": script.story_type, "scenes": scenes}
    write_json_atomic(work_dir / MANIFEST, body)


def publish(work_dir: Path, videos_dir: Path, video_name: str) -> None:
    """Move the stills, then the manifest, beside the video (which is published last)."""
    manifest = work_dir / MANIFEST
    if not manifest.exists():  # an external render, or a job from before scenes were kept
        return
    body = json.loads(manifest.read_text())
    for scene in body["scenes"]:
        name = still_name(video_name, scene["index"])
        still = work_dir / STILLS / f"{scene['index']:03d}.jpg"
        if still.exists() or not (videos_dir / name).exists():  # else: moved before a crash
            os.replace(still, videos_dir / name)
        scene["still"] = name
    write_json_atomic(videos_dir / manifest_name(video_name), body)


def read(videos_dir: Path, video_name: str) -> dict[str, Any] | None:
    """The published manifest, or None for a video without one (external, or older)."""
    try:
        return json.loads((videos_dir / manifest_name(video_name)).read_text())
    except (FileNotFoundError, ValueError):
        return None


def published_files(videos_dir: Path, video_name: str) -> list[Path]:
    """The manifest and every still of a video, for deleting it with its files."""
    stem = Path(video_name).stem
    stills = [p for p in videos_dir.glob(f"{stem}_scene*.jpg") if STILL_NAME.match(p.name)]
    return [videos_dir / manifest_name(video_name), *stills]
