"""Hosted services for the stages: which one a job uses, and the glue to call it.

Everything here is chosen from configuration (which upstreams have a base URL) and the
request (engine, script_source, image_mode, voice_id); every upstream failure becomes a
StageError with the upstream's own clear message, so the job fails with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..pipeline.narration import Speaker
from ..pipeline.sora import DeleteFailed, ExternalRequest, render_external, size_for_aspect
from ..pipeline.types import CancelCheck, Scene, Script, StageError, StoryRequest, VideoInfo
from ..pipeline.voices import Voice
from ..providers.http import UpstreamClient, UpstreamError
from ..providers.remote_images import generate_scene_image, scene_prompt
from ..providers.remote_script import write_script_remote
from ..providers.remote_tts import synthesize_remote
from ..providers.stock import fetch_stock_image, orientation_for, search_stock, stock_keywords
from .spec import JobSpec

ClientFor = Callable[[str], UpstreamClient | None]


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Upstream failures end the job with the upstream's message (never the key)."""
    try:
        yield
    except UpstreamError as exc:
        raise StageError(exc.code, exc.message) from exc


def script_client(spec: JobSpec, client_for: ClientFor) -> UpstreamClient | None:
    """auto: the script model when configured; remote: required; offline: never."""
    if spec.script_source == "offline":
        return None
    client = client_for("llm")
    if client is None and spec.script_source == "remote":
        raise StageError("LLM_NOT_CONFIGURED", "script_source remote needs SORA_LLM_BASE_URL.")
    return client


def _never() -> bool:
    return False


def _cancellable(
    client_for: ClientFor, should_cancel: CancelCheck
) -> Callable[[str], UpstreamClient | None]:
    """Clients whose calls a cancel interrupts mid-read (not only between calls)."""

    def get(name: str) -> UpstreamClient | None:
        client = client_for(name)
        return client.with_cancel(should_cancel) if client is not None else None

    return get


def write_remote(
    req: StoryRequest,
    client: UpstreamClient,
    config: Mapping[str, Any],
    should_cancel: CancelCheck = _never,
) -> Script:
    """The chat model's script; a cancel interrupts even a reply still trickling in."""
    with upstream_errors():
        model = config["UPSTREAMS"]["llm"].model
        fallback = bool(config["LLM_FALLBACK"])
        return write_script_remote(req, client.with_cancel(should_cancel), model, fallback=fallback)


def image_producer(
    spec: JobSpec,
    script: Script,
    client_for: ClientFor,
    config: Mapping[str, Any],
    should_cancel: CancelCheck = _never,
) -> tuple[Callable[[Scene, Path], None] | None, str]:
    """The remote source for non-uploaded scenes, and its name for the job's details."""
    image_spec, max_bytes = spec.image_spec(), int(config["MAX_DOWNLOAD_BYTES"])
    client_for = _cancellable(client_for, should_cancel)  # a cancel cuts off a slow image
    stock = client_for("stock") if spec.image_mode in ("stock_only", "mixed") else None
    if stock is not None:
        orientation = orientation_for(image_spec)

        def from_stock(scene: Scene, path: Path) -> None:
            with upstream_errors():
                words = stock_keywords(spec.stock_keywords, scene) or [spec.topic]
                urls = search_stock(stock, words, orientation)
                if not urls:
                    raise StageError("STOCK_NOT_FOUND", f"No stock photo found for {words!r}.")
                fetch_stock_image(stock, urls[scene.index % len(urls)], image_spec, path, max_bytes)

        return from_stock, "stock photos"
    ai = client_for("images") if spec.image_mode in ("ai_only", "mixed") else None
    if ai is None:
        return None, "the offline renderer"
    model = config["UPSTREAMS"]["images"].model
    cast = [c for c in spec.story_request().characters]

    def from_ai(scene: Scene, path: Path) -> None:
        with upstream_errors():
            prompt = scene_prompt(script, scene, spec.image_style, cast)
            generate_scene_image(ai, model, prompt, image_spec, path, max_bytes)

    return from_ai, "the image API"


def remote_speaker(
    client_for: ClientFor, config: Mapping[str, Any], should_cancel: CancelCheck = _never
) -> Callable[[Voice], Speaker] | None:
    """Speakers for hosted voices; a cancel interrupts a sentence still being received."""
    client = _cancellable(client_for, should_cancel)("tts")
    if client is None:
        return None
    model = config["UPSTREAMS"]["tts"].model

    def build(voice: Voice) -> Speaker:
        def speak(text: str):
            with upstream_errors():
                return synthesize_remote(client, model, voice.params["voice"], text)

        return speak

    return build


def render_sora(
    spec: JobSpec,
    client_for: ClientFor,
    config: Mapping[str, Any],
    out_path: Path,
    reference: Path | None,
    progress,
    should_cancel,
    *,
    resume_id: str | None,
    on_created: Callable[[str], None],
    on_delete_failed: DeleteFailed | None = None,
) -> VideoInfo:
    client = client_for("video")
    if client is None:
        raise StageError("VIDEO_API_NOT_CONFIGURED", "engine sora needs SORA_VIDEO_API_BASE_URL.")
    request = ExternalRequest(
        prompt=spec.external_prompt(),
        model=spec.model or config["UPSTREAMS"]["video"].model,
        seconds=spec.external_seconds(),
        size=spec.size or size_for_aspect(spec.aspect_ratio),
        reference_image=reference,
        remix_of=spec.remix_of,
    )
    with upstream_errors():
        return render_external(
            client, request, out_path, progress, should_cancel,
            poll_seconds=float(config["VIDEO_API_POLL_SECONDS"]),
            max_wait_seconds=float(config["VIDEO_API_MAX_WAIT_SECONDS"]),
            max_download_bytes=int(config["MAX_DOWNLOAD_BYTES"]),
            on_created=on_created, resume_id=resume_id, on_delete_failed=on_delete_failed,
        )  # fmt: skip
