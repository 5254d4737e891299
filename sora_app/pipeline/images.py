"""Scene-image stage: one JPEG per scene, from the user's uploads or the offline renderer.

Files are written atomically and existing ones are kept, so a re-queued job resumes where
it stopped instead of re-rendering finished scenes.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from sora_app.pipeline.artefacts import ArtefactStore, digest
from sora_app.pipeline.types import (
    CancelCheck,
    Cancelled,
    ImageSpec,
    ProgressFn,
    Scene,
    Script,
    StageError,
    write_json_atomic,
)
from sora_app.providers.scene_renderer import paint_scene

log = logging.getLogger(__name__)

IMAGE_STYLES: tuple[str, ...] = (
    "cinematic",
    "realistic",
    "anime",
    "watercolor",
    "dark",
    "vintage",
    "comic",
    "minimalist",
    "cyberpunk",
    "fantasy",
)
ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}
JPEG_QUALITY = 92
MAX_PIXELS = 40_000_000
"""Largest accepted picture: decoding costs ~4 bytes a pixel, so this bounds a worker's RAM."""
MAX_SIDE = 12_000
MAX_ASPECT = 20.0
"""A 1 x 39M-pixel PNG passes an area check yet blew a worker up to 1.2 GB, so sides and
their ratio are limited too; any real photo or panorama fits."""
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
"""Pillow's own guard, for any open() that skips `size_problem`: past 2x this it raises
DecompressionBombError instead of allocating."""


def scene_image_path(out_dir: Path, index: int) -> Path:
    """Single place that names scene files, so later stages and resume agree on it."""
    return out_dir / f"scene_{index:03d}.jpg"


def title_layer_path(image: Path) -> Path:
    """Where a rendered scene's title layer lives: next to its picture, which compile pans
    under the title (a title painted into the picture would slide off the frame)."""
    return image.with_name(f"{image.stem}.title.png")


def make_images(
    script: Script,
    spec: ImageSpec,
    out_dir: Path,
    progress: ProgressFn,
    should_cancel: CancelCheck = lambda: False,
    manual_images: Sequence[Path] | Mapping[int, Path] = (),
    produce: Callable[[Scene, Path], None] | None = None,
    cache: ArtefactStore | None = None,
    produced_by: str = "remote",
) -> list[Path]:
    """Produce every scene's image (upload if given, else `produce`d or rendered).

    `produce(scene, path)` is a remote source (AI image or stock photo) that writes the
    finished JPEG at `path`; without one, scenes are rendered offline, and with `cache` a
    scene painted before (same look, same scene apart from its narration) is not painted
    again. Each picture's origin ("upload", `produced_by`, "painter") goes to SOURCES_FILE,
    for the finished video's scene list.
    """
    if spec.style not in IMAGE_STYLES:
        raise StageError(
            "UNKNOWN_STYLE",
            f"Unknown image style '{spec.style}'. Choose one of: {', '.join(IMAGE_STYLES)}.",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    total = len(script.scenes)
    paths: list[Path] = []
    sources = read_sources(out_dir)
    uploads = (
        {i: Path(p) for i, p in manual_images.items()}
        if isinstance(manual_images, Mapping)
        else dict(enumerate(map(Path, manual_images)))
    )  # a list: the first scenes, in order
    for i, scene in enumerate(script.scenes):
        if should_cancel():
            log.info("images_cancelled scene=%d total=%d", i, total)
            raise Cancelled()
        path = scene_image_path(out_dir, i)
        if path.exists():
            log.info("image_reused scene=%d path=%s", i, path.name)
        else:
            started = time.perf_counter()
            upload = uploads.get(i)
            manual = upload is not None
            if upload is not None:
                source = "upload"
                _save_jpeg_atomic(load_manual_image(upload, spec.width, spec.height), path)
            elif produce is not None:
                source = "remote"
                progress(i / total, f"Fetching scene {i + 1} of {total}")
                produce(scene, path)
            else:
                source = _render(script, scene, spec, path, cache)
            sources[str(i)] = "upload" if manual else produced_by if produce else "painter"
            write_json_atomic(out_dir / SOURCES_FILE, sources)
            log.info(
                "image_written scene=%d source=%s style=%s size=%dx%d ms=%.0f",
                i, source, spec.style, spec.width, spec.height,
                (time.perf_counter() - started) * 1e3,
            )  # fmt: skip
        paths.append(path)
        progress((i + 1) / total, f"Creating scene {i + 1} of {total}")
    if total == 0:
        progress(1.0, "No scenes to illustrate")
    return paths


SOURCES_FILE = "image_sources.json"
"""Scene index -> where its picture came from, kept in the work dir beside the pictures."""


def read_sources(out_dir: Path) -> dict[str, str]:
    try:
        return json.loads((out_dir / SOURCES_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}


PAINTED = "painted"
"""The artefact store's folder for offline-painted scenes (picture + title layer)."""
PAINTER_FORMAT = 1
"""Part of every painted scene's key: bump it when the painter's output changes."""


def _render(
    script: Script, scene: Scene, spec: ImageSpec, path: Path, cache: ArtefactStore | None
) -> str:
    """Paint a scene offline into `path` (and its title layer), or take the same painting
    from the cache; the log's source name."""
    title_path = title_layer_path(path)
    key = ""
    if cache is not None:
        looks = {  # narration is not painted; unset newer fields keep older keys valid
            k: v for k, v in asdict(scene).items()
            if k != "narration" and (v or k not in ("visual", "variant"))
        }  # fmt: skip
        key = digest(
            {
                "format": PAINTER_FORMAT,
                "scene": looks,
                "total": len(script.scenes),
                "title": script.title,
                "genre": script.story_type,
                "spec": asdict(spec),
            }
        )
        picture, title = cache.get(PAINTED, key, ".jpg"), cache.get(PAINTED, key, ".title.png")
        if picture is not None and title is not None:
            shutil.copyfile(title, title_path)  # the title first, as below
            _copy_atomic(picture, path)
            return "cache"
    painted = paint_scene(scene, len(script.scenes), script.title, spec, genre=script.story_type)
    # The title first: the picture's existence is what marks the scene as done.
    save_atomic(painted.title, title_path, "PNG", compress_level=1)
    _save_jpeg_atomic(painted.picture, path)
    if cache is not None:
        for made, suffix in ((title_path, ".title.png"), (path, ".jpg")):
            copy = cache.temp_path(PAINTED, suffix)
            shutil.copyfile(made, copy)
            cache.put(PAINTED, key, suffix, copy)
    return "render"


def _copy_atomic(source: Path, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(path)


def size_problem(width: int, height: int) -> str | None:
    """Why a picture of this header size is refused, or None; call it before decoding."""
    if width < 1 or height < 1:
        return "it has no pixels"
    if max(width, height) > MAX_SIDE:
        return f"each side may be at most {MAX_SIDE} pixels"
    if max(width, height) / min(width, height) > MAX_ASPECT:
        return f"it may be at most {MAX_ASPECT:g} times wider than tall (or taller than wide)"
    if width * height > MAX_PIXELS:
        return f"it may have at most {MAX_PIXELS // 1_000_000} megapixels"
    return None


def thumbnail(path: Path, width: int) -> Image.Image:
    """An RGB copy of the picture at `path`, `width` pixels wide (a picker's preview)."""
    with Image.open(path) as img:
        height = max(1, round(img.height * width / img.width))
        return img.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def displayed_size(img: Image.Image) -> tuple[int, int]:
    """Width and height as viewers show it: EXIF orientations 5-8 turn the picture sideways."""
    width, height = img.size
    turned = img.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def load_manual_image(path: Path, width: int, height: int) -> Image.Image:
    """Open an upload upright, flatten it to RGB and cover-fit it to the video frame.

    The header size is checked before decoding: files reach here from old uploads, remote
    image APIs and stock sites, not only through the upload check.
    """
    try:
        with Image.open(path) as src:
            problem = size_problem(*src.size)
            if problem:
                what = f"'{path.name}' is {src.width}x{src.height} pixels; {problem}."
                raise StageError("BAD_IMAGE", what)
            src.load()
            img = ImageOps.exif_transpose(src)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("bad_image file=%s error=%s", path.name, type(exc).__name__)
        raise StageError("BAD_IMAGE", f"'{path.name}' is not a readable image.") from exc
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, (0, 0), rgba)
        img = flat
    else:
        img = img.convert("RGB")
    return ImageOps.fit(img, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _save_jpeg_atomic(img: Image.Image, path: Path) -> None:
    """A scene picture as JPEG, written atomically."""
    save_atomic(img, path, "JPEG", quality=JPEG_QUALITY, optimize=False, subsampling=0)


def save_atomic(img: Image.Image, path: Path, fmt: str, **options: object) -> None:
    """Write to a temp name then rename, so a crash never leaves a half-written file; the
    temp name is the writer's own, so two writers of one file never share it."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        img.save(tmp, format=fmt, **options)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
