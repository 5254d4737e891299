"""External video mode: render a job on an OpenAI-Videos-compatible service (contract 3).

The upstream does the generation; we create, poll, then download the result into our own
videos folder, so clients only ever see our files and never an upstream URL or key.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageOps

from sora_app.pipeline.probe import probe, video_info
from sora_app.pipeline.types import CancelCheck, Cancelled, ProgressFn, StageError, VideoInfo
from sora_app.providers.http import UpstreamClient, UpstreamError

log = logging.getLogger(__name__)

SIZES: tuple[str, ...] = ("720x1280", "1280x720", "1024x1792", "1792x1024")
"""Every size the Videos API documents; the first is its default."""
_ASPECT_SIZES: tuple[str, ...] = ("720x1280", "1280x720")
"""Standard-tier sizes (the 1024/1792 ones are pro-only), in tie-break order."""
POLL_HINT_BOUNDS = (0.05, 60.0)
"""An `openai-poll-after-ms` hint is clamped to this many seconds."""
_CANCEL_SLICE = 0.1
"""Waits sleep in slices this long so a cancel is noticed well within 0.2 s."""
_CANCEL_TIMEOUT = (2.0, 5.0)
CANCEL_DEADLINE_SECONDS = 12.0
"""How long a cancel retries the upstream DELETE before leaving it to the pending retries."""
_THUMB_MAX_BYTES = 20_000_000
_ACTIVE = frozenset({"queued", "in_progress"})
_QUEUED, _RENDER_START, _RENDER_SPAN, _DOWNLOAD, _THUMB = 0.02, 0.03, 0.87, 0.92, 0.97


DeleteFailed = Callable[[str, str, str], None]
"""(video_id, reason, error): an upstream DELETE that failed after its retries."""


@dataclass
class ExternalRequest:
    """What the upstream needs to generate one video."""

    prompt: str
    model: str
    seconds: int
    size: str = "720x1280"
    reference_image: Path | None = None
    """Becomes the first frame; cover-fitted to `size` before upload."""
    remix_of: str | None = None
    """An upstream video to remix (POST videos/{id}/remix with the prompt) instead."""


def size_for_aspect(aspect: str) -> str:
    """Map our aspect ratios to an upstream size; 1:1 has none, so it gets 720x1280.

    The nearest size by log-ratio wins; a tie (1:1 is equally far from 9:16 and 16:9)
    goes to the portrait default, since the app makes vertical shorts by default.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", aspect or "")
    if not match or float(match[1]) <= 0 or float(match[2]) <= 0:
        raise StageError("BAD_ASPECT_RATIO", f"aspect ratio {aspect!r} is not like '9:16'")
    wanted = math.log(float(match[1]) / float(match[2]))

    def distance(size: str) -> float:
        width, height = _dims(size)
        return round(abs(math.log(width / height) - wanted), 9)

    return min(_ASPECT_SIZES, key=distance)


def render_external(
    client: UpstreamClient,
    req: ExternalRequest,
    out_path: Path,
    progress: ProgressFn,
    should_cancel: CancelCheck,
    *,
    poll_seconds: float,
    max_wait_seconds: float,
    max_download_bytes: int,
    on_created: Callable[[str], None] | None = None,
    resume_id: str | None = None,
    on_delete_failed: DeleteFailed | None = None,
) -> VideoInfo:
    """Create (or resume) an upstream video, wait for it, and download it to out_path.

    A cancel or timeout deletes the upstream video; a DELETE that still fails after its
    retries goes to `on_delete_failed(video_id, reason, error)`, to be retried later.
    """
    _check_request(req, poll_seconds)
    run = _Run(client, Path(out_path), progress, should_cancel, poll_seconds, on_delete_failed)
    try:
        if resume_id:
            video_id, video = resume_id, None
            log.info("event=external_resume video_id=%s host=%s", video_id, run.host)
        else:
            run.check_cancel()
            run.report(0.0, f"Sending to {run.host}")
            video = _create(run.calls, req)
            video_id = video["id"]
            if on_created is not None:
                on_created(video_id)
        return run.finish(video_id, video, max_wait_seconds, max_download_bytes)
    except UpstreamError as exc:
        raise StageError(exc.code, exc.message) from None


def _check_request(req: ExternalRequest, poll_seconds: float) -> None:
    """Refuse what the upstream would reject anyway, before spending a create call."""
    image = req.reference_image
    checks = (
        (req.size in SIZES, f"size {req.size!r} is not one of {', '.join(SIZES)}"),
        (1 <= len(req.prompt.strip()) <= 32000, "the prompt must be 1 to 32000 characters"),
        (bool(req.model.strip()), "no model is configured for the external video API"),
        (req.seconds >= 1, f"seconds must be positive, got {req.seconds}"),
        (image is None or Path(image).is_file(), "the reference image does not exist"),
        (poll_seconds > 0, "the poll interval must be positive"),
    )
    for ok, problem in checks:
        if not ok:
            raise StageError("EXTERNAL_BAD_REQUEST", problem)


def _dims(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def _reference_jpeg(path: Path, size: str) -> bytes:
    """Cover-fit (scale, centre-crop) to exactly `size`: the upstream rejects any mismatch."""
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image) or image
            fitted = ImageOps.fit(upright.convert("RGB"), _dims(size), Image.Resampling.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StageError("BAD_REFERENCE_IMAGE", f"cannot read {path.name}: {exc}") from None
    buffer = io.BytesIO()
    fitted.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _create(client: UpstreamClient, req: ExternalRequest) -> dict:
    """JSON create, or multipart with `input_reference` when a reference image is given."""
    fields = {"prompt": req.prompt, "model": req.model, "seconds": str(req.seconds)}
    fields["size"] = req.size
    if req.remix_of is not None:
        remix = f"videos/{req.remix_of}/remix"
        video = client.post_json(remix, json={"prompt": req.prompt}, check=_has_id)
    elif req.reference_image is None:
        video = client.post_json("videos", json=fields, check=_has_id)
    else:
        image = _reference_jpeg(Path(req.reference_image), req.size)
        files = {"input_reference": ("reference.jpg", image, "image/jpeg")}
        video = client.post_json("videos", data=fields, files=files, check=_has_id)
    log.info(
        "event=external_created video_id=%s host=%s size=%s seconds=%s reference=%s",
        *(video["id"], client.target.host, req.size, req.seconds, bool(req.reference_image)),
    )
    return video


def _has_id(video: dict) -> str | None:
    """A create reply must name the video, or there is nothing to poll (retried if not)."""
    ok = isinstance(video.get("id"), str) and video["id"]
    return None if ok else "a video without an id"


def _has_status(video: dict) -> str | None:
    """A poll reply without a status says nothing about the video: a glitch, retried."""
    ok = isinstance(video.get("status"), str) and video["status"]
    return None if ok else "a video without a status"


def _poll_delay(hint: str, poll_seconds: float) -> float:
    """The server's openai-poll-after-ms hint, clamped; our interval when absent or junk."""
    try:
        seconds = float(hint) / 1000
    except ValueError:
        return poll_seconds
    if not math.isfinite(seconds):
        return poll_seconds
    return max(POLL_HINT_BOUNDS[0], min(POLL_HINT_BOUNDS[1], seconds))


def _failure(client: UpstreamClient, video: dict) -> StageError:
    """EXTERNAL_<upstream error.code> with the upstream's own message (scrubbed)."""
    error = video.get("error") if isinstance(video.get("error"), dict) else {}
    raw_code = re.sub(r"[^A-Za-z0-9]+", "_", str(error.get("code") or "")).strip("_")
    code = f"EXTERNAL_{raw_code.upper()[:60]}" if raw_code else "EXTERNAL_FAILED"
    said = str(error.get("message") or f"the video ended with status {video.get('status')!r}")
    message = client.target.scrub(f"External render failed at {client.target.host}: {said}")
    log.warning("event=external_failed video_id=%s code=%s", video.get("id"), code)
    return StageError(code, message[:500])


@dataclass
class _Run:
    """One render's client, output, callbacks and monotonic progress, shared by the steps."""

    client: UpstreamClient
    out_path: Path
    progress: ProgressFn
    should_cancel: CancelCheck
    poll_seconds: float
    on_delete_failed: DeleteFailed | None = None
    best: float = 0.0

    @property
    def calls(self) -> UpstreamClient:
        """The client for the render's own calls: a cancel interrupts them mid-read.

        (The DELETE after a cancel uses the plain client, or it would be cancelled too.)
        """
        return self.client.with_cancel(self.should_cancel)

    @property
    def host(self) -> str:
        return self.client.target.host

    def report(self, fraction: float, substatus: str) -> None:
        """Never let the bar go backwards, whatever order the upstream's numbers arrive in."""
        self.best = max(self.best, min(1.0, fraction))
        self.progress(self.best, substatus)

    def report_video(self, video: dict) -> None:
        """queued → "Queued at host"; in_progress → "Rendering on host: 42%"."""
        if video.get("status") == "queued":
            self.report(_QUEUED, f"Queued at {self.host}")
            return
        try:
            percent = max(0, min(100, int(float(video.get("progress") or 0))))
        except (TypeError, ValueError):
            percent = 0
        fraction = _RENDER_START + _RENDER_SPAN * percent / 100
        self.report(fraction, f"Rendering on {self.host}: {percent}%")

    def check_cancel(self) -> None:
        if self.should_cancel():
            raise Cancelled("cancelled while rendering externally")

    def sleep(self, seconds: float) -> None:
        """Sleep in short slices so a cancel is seen quickly."""
        end = time.monotonic() + seconds
        while True:
            self.check_cancel()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(_CANCEL_SLICE, left))

    def finish(
        self, video_id: str, video: dict | None, max_wait: float, max_bytes: int
    ) -> VideoInfo:
        """Wait, download and probe; a cancel or timeout also cancels the upstream video."""
        try:
            final = self.wait(video_id, video, max_wait)
            if final.get("status") != "completed":
                raise _failure(self.client, final)
            info = self.fetch(video_id, max_bytes)
            self.check_cancel()
        except Cancelled:
            self.cancel_upstream(video_id, "cancelled")
            for path in (self.out_path, self.out_path.with_suffix(".jpg")):
                path.unlink(missing_ok=True)
            raise
        except StageError as exc:
            if exc.code == "EXTERNAL_TIMEOUT":
                self.cancel_upstream(video_id, "timeout")
            raise
        self.report(1.0, "Video ready")
        log.info("event=external_done video_id=%s bytes=%d", video_id, info.size_bytes)
        return info

    def poll(self, video_id: str) -> tuple[dict, float]:
        """One GET (a bad reply is retried); the video and the delay before the next poll."""
        video, headers = self.calls.json_reply("GET", f"videos/{video_id}", check=_has_status)
        hint = headers.get("openai-poll-after-ms", "")
        return video, _poll_delay(hint, self.poll_seconds)

    def wait(self, video_id: str, video: dict | None, max_wait: float) -> dict:
        """Poll until the video leaves queued/in_progress, the deadline passes or a cancel."""
        deadline = time.monotonic() + max_wait
        delay = 0.0  # first GET right away, as the official client does; then hints apply
        while True:
            if video is not None:
                if video.get("status") not in _ACTIVE:
                    return video
                self.report_video(video)
                if time.monotonic() >= deadline:
                    seen = f"{video.get('status')}, {video.get('progress') or 0}%"
                    what = f"did not finish within {max_wait:g} s (last seen {seen})"
                    raise StageError("EXTERNAL_TIMEOUT", f"the video at {self.host} {what}")
                self.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            self.check_cancel()
            video, delay = self.poll(video_id)

    def fetch(self, video_id: str, max_bytes: int) -> VideoInfo:
        """Download content atomically and size-capped, probe it, then the thumbnail."""
        self.report(_DOWNLOAD, f"Downloading video from {self.host}")
        out, content = self.out_path, f"videos/{video_id}/content"
        try:
            self.calls.download(content, out, max_bytes, params={"variant": "video"})
        except (UpstreamError, OSError) as exc:
            out.unlink(missing_ok=True)
            message = getattr(exc, "message", None) or f"could not save the video: {exc}"
            raise StageError("EXTERNAL_DOWNLOAD_FAILED", message) from None
        try:
            media = probe(out)
            if not media.has_video:
                raise StageError("BAD_MEDIA", "it has no video stream")
        except StageError as exc:
            out.unlink(missing_ok=True)
            what = f"the video from {self.host} is not playable: {exc.message}"
            raise StageError("EXTERNAL_BAD_VIDEO", what) from None
        self.report(_THUMB, f"Fetching thumbnail from {self.host}")
        return video_info(out, media, self.thumbnail(video_id))

    def thumbnail(self, video_id: str) -> Path | None:
        """Best effort: the upstream's (webp) thumbnail re-encoded as JPEG beside the video."""
        dest = self.out_path.with_suffix(".jpg")
        raw, tmp = dest.with_name(f".{dest.name}.src"), dest.with_name(f".{dest.name}.part")
        params = {"variant": "thumbnail"}
        try:
            self.calls.download(f"videos/{video_id}/content", raw, _THUMB_MAX_BYTES, params=params)
            with Image.open(raw) as image:
                image.convert("RGB").save(tmp, "JPEG", quality=88)
            os.replace(tmp, dest)
            return dest
        except (UpstreamError, OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("event=external_thumbnail_failed video_id=%s error=%r", video_id, str(exc))
            return None
        finally:
            raw.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)

    def cancel_upstream(self, video_id: str, reason: str) -> None:
        """DELETE so an abandoned upstream render stops costing money; never dropped."""
        error = delete_video(self.client, video_id, reason)
        if error is not None and self.on_delete_failed is not None:
            self.on_delete_failed(video_id, reason, error)


def delete_video(
    client: UpstreamClient,
    video_id: str,
    reason: str,
    deadline_seconds: float = CANCEL_DEADLINE_SECONDS,
) -> str | None:
    """DELETE an upstream video, retried like every call; None when done, else why not.

    404 counts as done: the video is gone either way. Uses the plain client, not the
    cancellable one, or the cancel that asked for it would interrupt it too.
    """
    try:
        kw: dict[str, Any] = {"expected": (200, 202, 204, 404), "timeout": _CANCEL_TIMEOUT}
        path = f"videos/{video_id}"
        client.request("DELETE", path, deadline_seconds=deadline_seconds, **kw).close()
    except (UpstreamError, requests.RequestException) as exc:
        said = str(getattr(exc, "message", exc))
        log.warning(
            "event=external_delete_failed video_id=%s reason=%s error=%r", video_id, reason, said
        )
        return said[:500]
    log.info("event=external_deleted video_id=%s reason=%s", video_id, reason)
    return None
