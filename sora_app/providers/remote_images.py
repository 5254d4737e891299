"""Remote scene images: OpenAI-compatible image generation, prompted from the script.

Every prompt repeats the same character sheet, because image models keep no memory between
calls and would otherwise redraw each character differently in every scene. The downloaded
bytes are checked with Pillow and cover-fitted, so later stages see the same JPEGs as offline.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from sora_app.pipeline.images import IMAGE_STYLES, JPEG_QUALITY, load_manual_image
from sora_app.pipeline.types import Character, ImageSpec, Scene, Script, StageError
from sora_app.providers.http import UpstreamBadResponse, UpstreamClient

log = logging.getLogger(__name__)

STYLE_WORDS: dict[str, str] = {
    "cinematic": "cinematic film still, dramatic lighting, shallow depth of field, wide shot",
    "realistic": "photorealistic photograph, natural light, high detail, 35mm lens",
    "anime": "anime illustration, cel shading, vibrant colours, detailed background",
    "watercolor": "watercolor painting, soft washes, visible paper texture, gentle edges",
    "dark": "dark moody image, low-key lighting, deep shadows, desaturated palette",
    "vintage": "vintage photograph, film grain, faded warm colours, 1970s look",
    "comic": "comic book art, bold ink outlines, halftone shading, dynamic composition",
    "minimalist": "minimalist illustration, flat shapes, limited palette, negative space",
    "cyberpunk": "cyberpunk scene, neon lights, rain-slick streets, high-tech city",
    "fantasy": "epic fantasy painting, magical atmosphere, rich detail, golden light",
}
MOOD_LIGHT: dict[str, str] = {
    "dread": "ominous cold light",
    "calm": "soft peaceful light",
    "hope": "warm hopeful light",
    "tension": "harsh tense contrast",
    "triumph": "bright triumphant glow",
}
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
MAX_PIXELS = 40_000_000
"""Refuse anything bigger before decoding: a real scene image is a few megapixels."""
MAX_NARRATION_CHARS = 400
MAX_DESCRIPTION_CHARS = 300


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def character_sheet(characters: Sequence[Character]) -> str:
    """The fixed 'Name: description' list that every prompt repeats word for word."""
    entries = [
        f"{c.name}: {_clip(c.description, MAX_DESCRIPTION_CHARS)}" if c.description else c.name
        for c in characters
        if c.name.strip()
    ]
    return "; ".join(entries)


def scene_prompt(
    script: Script, scene: Scene, style: str, characters: Sequence[Character] = ()
) -> str:
    """One image prompt: style words, what the scene shows, its mood, then the character sheet."""
    if style not in STYLE_WORDS:
        raise StageError(
            "UNKNOWN_STYLE",
            f"Unknown image style '{style}'. Choose one of: {', '.join(IMAGE_STYLES)}.",
        )
    parts = [
        f"{STYLE_WORDS[style]}.",
        f'Scene {scene.index + 1} of {len(script.scenes)} from the story "{script.title}": '
        f"{scene.caption}.",
        f"What happens: {_clip(scene.narration, MAX_NARRATION_CHARS)}",
    ]
    if scene.visual:
        parts.append(f"Picture: {_clip(scene.visual, MAX_NARRATION_CHARS)}.")
    if scene.variant:
        parts.append(f"(Take {scene.variant + 1}: a fresh composition.)")
    if scene.keywords:
        parts.append(f"Show: {', '.join(scene.keywords[:8])}.")
    light = MOOD_LIGHT.get(scene.mood)
    parts.append(f"Mood: {scene.mood}{f', {light}' if light else ''}.")
    sheet = character_sheet(characters)
    if sheet:
        present = ", ".join(scene.characters)
        parts.append(
            f"In this scene: {present}."
            if present
            else "None of the characters below appear in this scene."
        )
        parts.append(f"Character sheet (draw each exactly like this in every image): {sheet}.")
    parts.append("No text, letters, captions or watermarks in the image.")
    return " ".join(parts)


def image_size(width: int, height: int) -> str:
    """The generation size nearest the output aspect (the sizes DALL·E 3 style APIs accept)."""
    aspect = width / height
    if aspect < 0.8:
        return "1024x1792"
    if aspect > 1.25:
        return "1792x1024"
    return "1024x1024"


def generate_scene_image(
    client: UpstreamClient,
    model: str,
    prompt: str,
    spec: ImageSpec,
    dest: Path,
    max_bytes: int,
    *,
    response_format: str | None = "b64_json",
) -> Path:
    """Generate one image, verify it, cover-fit it to spec and write dest as a JPEG atomically."""
    started = time.perf_counter()
    body: dict[str, object] = {
        "model": model,
        "prompt": prompt,
        "n": 1,
        "size": image_size(spec.width, spec.height),
    }
    if response_format:
        body["response_format"] = response_format
    reply = client.post_json("images/generations", json=body, check=_has_item)
    item = reply["data"][0]
    dest = Path(dest)
    src = scratch_path(dest)
    try:
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            src.write_bytes(_decode_b64(client, item["b64_json"], max_bytes))
            source = "b64_json"
        elif isinstance(item.get("url"), str) and item["url"]:
            client.download(item["url"], src, max_bytes)
            source = "url"
        else:
            raise client.target.error(UpstreamBadResponse, "returned no b64_json or url", 502)
        fit_to_jpeg(client, src, spec, dest)
    finally:
        src.unlink(missing_ok=True)
    log.info(
        "image_remote_ok upstream=%s model=%s size=%s source=%s dest=%s ms=%.0f",
        client.target.name, model, body["size"], source, dest.name,
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return dest


def _has_item(reply: dict) -> str | None:
    """An images reply needs data[0]; without it the call is retried like a malformed one."""
    data = reply.get("data")
    ok = isinstance(data, list) and data and isinstance(data[0], dict)
    return None if ok else "no image data"


def _decode_b64(client: UpstreamClient, text: str, max_bytes: int) -> bytes:
    """Decode under the same size cap as a download, checking before allocating the bytes."""
    if len(text) * 3 // 4 > max_bytes:
        what = f"sent more than the {max_bytes} bytes allowed"
        raise client.target.error(UpstreamBadResponse, what, 502)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise client.target.error(
            UpstreamBadResponse, "sent invalid base64 image data", 502
        ) from None


def scratch_path(dest: Path) -> Path:
    """A unique hidden file beside dest, so concurrent scenes never share a temp name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".src")
    os.close(fd)
    return Path(name)


def check_image(client: UpstreamClient, path: Path) -> None:
    """Refuse bytes that are not a sane image before anything decodes them fully."""
    try:
        with Image.open(path) as probe:
            fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise client.target.error(
            UpstreamBadResponse, "sent a file that is not an image", 502
        ) from None
    if fmt not in IMAGE_FORMATS:
        what = f"sent an unsupported image format ({fmt})"
        raise client.target.error(UpstreamBadResponse, what, 502)
    if width * height > MAX_PIXELS:
        what = f"sent an oversized image ({width}x{height})"
        raise client.target.error(UpstreamBadResponse, what, 502)


def fit_to_jpeg(client: UpstreamClient, src: Path, spec: ImageSpec, dest: Path) -> Path:
    """Check src, cover-fit it to spec.width x spec.height and write dest atomically."""
    check_image(client, src)
    try:
        img = load_manual_image(src, spec.width, spec.height)
    except StageError:
        what = "sent an image that could not be decoded"
        raise client.target.error(UpstreamBadResponse, what, 502) from None
    save_jpeg_atomic(img, dest)
    return dest


def save_jpeg_atomic(img: Image.Image, dest: Path) -> None:
    """Write a unique temp file then rename, so a crash never leaves a half-written JPEG."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            img.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
