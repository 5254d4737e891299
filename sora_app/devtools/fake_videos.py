"""The fake OpenAI-compatible Videos API: create, retrieve, list, delete, remix and content.

A video's status is derived from the time since it was created, so progress really advances
(queued → in_progress → completed) over the server's ``video_seconds`` without a worker.
Setting ``fake.poll_after_ms`` adds an ``openai-poll-after-ms`` hint to every retrieve, and
create requests log their ``content_type`` and ``input_reference`` ({format, size}).
"""

from __future__ import annotations

import functools
import io
import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, request, send_file
from PIL import Image, UnidentifiedImageError

from sora_app.devtools import fake_media

if TYPE_CHECKING:
    from sora_app.devtools.fake_upstreams import FakeUpstreams

SIZES = frozenset({"720x1280", "1280x720", "1024x1792", "1792x1024"})
SECONDS = frozenset({"4", "8", "12"})
QUEUED_FRACTION = 0.15
"""Share of the generation time a video spends queued before it starts."""


def openai_error(
    status: int, message: str, type_: str = "invalid_request_error", **extra: Any
) -> Response:
    """The OpenAI error envelope {"error": {message, type, param, code}}."""
    body = {"message": message, "type": type_, "param": extra.get("param")}
    response = jsonify({"error": body | {"code": extra.get("code")}})
    response.status_code = status
    return response


@dataclass
class FakeVideo:
    """One generation; status and progress are computed from its age."""

    id: str
    model: str
    prompt: str
    size: str
    seconds: str
    created: float
    created_at: int
    doomed: bool = False
    remixed_from: str | None = None

    def state(self, total: float) -> tuple[str, int]:
        """(status, progress) at this moment."""
        elapsed = time.monotonic() - self.created
        if elapsed < total * QUEUED_FRACTION:
            return "queued", 0
        if self.doomed:
            return "failed", min(99, int(100 * elapsed / max(total, 1e-6)))
        if elapsed < total:
            return "in_progress", max(1, min(99, int(100 * elapsed / total)))
        return "completed", 100

    def to_json(self, total: float) -> dict[str, Any]:
        status, progress = self.state(total)
        done = status == "completed"
        completed_at = int(self.created_at + total) if done else None
        error = None
        if status == "failed":
            error = {"code": "video_generation_failed", "message": "The fake upstream failed it."}
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": progress,
            "created_at": self.created_at,
            "completed_at": completed_at,
            "expires_at": completed_at + 3600 if completed_at else None,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "remixed_from_video_id": self.remixed_from,
            "error": error,
            "fake_note": "decoders must ignore unknown fields",
        }


class VideoStore:
    """Thread-safe, insertion-ordered videos; ids sort by creation like real cursors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._videos: dict[str, FakeVideo] = {}
        self._serial = itertools.count(1)

    def add(self, **fields: Any) -> FakeVideo:
        with self._lock:
            video_id = f"video_{next(self._serial):06d}{uuid.uuid4().hex[:8]}"
            video = FakeVideo(
                id=video_id, created=time.monotonic(), created_at=int(time.time()), **fields
            )
            self._videos[video_id] = video
            return video

    def get(self, video_id: str) -> FakeVideo | None:
        with self._lock:
            return self._videos.get(video_id)

    def delete(self, video_id: str) -> bool:
        with self._lock:
            return self._videos.pop(video_id, None) is not None

    def page(self, after: str | None, limit: int, order: str) -> tuple[list[FakeVideo], bool]:
        """Cursor paging: the items after `after` in the requested order, and has_more."""
        with self._lock:
            items = list(self._videos.values())
        if order == "desc":
            items.reverse()
        if after:
            ids = [v.id for v in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return items[:limit], len(items) > limit


def _reference_error(upload: Any, size: str) -> str | None:
    """A reference image must be jpeg/png/webp and match the requested size exactly."""
    try:
        with Image.open(io.BytesIO(upload.read())) as image:
            fmt, dims = image.format, f"{image.width}x{image.height}"
    except (UnidentifiedImageError, OSError):
        return "input_reference is not a readable image"
    entry = g.get("entry")
    if entry is not None:
        entry["input_reference"] = {"format": fmt, "size": dims}
    if fmt not in {"JPEG", "PNG", "WEBP"}:
        return f"input_reference must be jpeg, png or webp, got {fmt}"
    if dims != size:
        return f"input_reference is {dims} but the requested size is {size}"
    return None


def _create_fields() -> tuple[dict[str, Any] | None, Response | None]:
    """Parse JSON or multipart create fields into FakeVideo kwargs, or an error response."""
    multipart = request.mimetype == "multipart/form-data"
    body = request.form.to_dict() if multipart else request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, openai_error(400, "The request body must be a JSON object.")
    prompt, size = body.get("prompt"), str(body.get("size") or "720x1280")
    seconds = str(body.get("seconds") or "4")
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= 32000:
        return None, openai_error(400, "prompt must be 1 to 32000 characters.", param="prompt")
    if size not in SIZES:
        return None, openai_error(400, f"Invalid value for size: {size!r}.", param="size")
    if seconds not in SECONDS:
        return None, openai_error(400, f"Invalid value for seconds: {seconds!r}.", param="seconds")
    upload = request.files.get("input_reference") if multipart else None
    problem = _reference_error(upload, size) if upload else None
    if problem:
        return None, openai_error(400, problem, param="input_reference")
    fields = {"model": str(body.get("model") or "sora-2"), "prompt": prompt}
    return fields | {"size": size, "seconds": seconds}, None


def _found(fake: FakeUpstreams, video_id: str) -> FakeVideo | None:
    """Look a video up; a `failed` fault on this request dooms it from now on."""
    video = fake.videos.get(video_id)
    if video is not None and g.get("fault") == "failed":
        video.doomed = True
    return video


def _missing(video_id: str) -> Response:
    return openai_error(404, f"Video {video_id!r} not found.", code="not_found")


def _create(fake: FakeUpstreams) -> Any:
    if g.get("entry") is not None:
        g.entry["content_type"] = request.mimetype
    fields, problem = _create_fields()
    if problem is not None or fields is None:
        return problem
    video = fake.videos.add(doomed=g.get("fault") == "failed", **fields)
    return jsonify(video.to_json(fake.video_seconds))


def _retrieve(fake: FakeUpstreams, video_id: str) -> Any:
    video = _found(fake, video_id)
    if video is None:
        return _missing(video_id)
    body = video.to_json(fake.video_seconds)
    if g.get("fault") == "bad_poll":  # what a flaky gateway sometimes answers
        body = {"id": video.id, "object": "video", "progress": body["progress"]}
    response = jsonify(body)
    poll_after_ms = getattr(fake, "poll_after_ms", None)
    if poll_after_ms:
        response.headers["openai-poll-after-ms"] = str(poll_after_ms)
    return response


def _remix(fake: FakeUpstreams, video_id: str) -> Any:
    source = _found(fake, video_id)
    prompt = (request.get_json(silent=True) or {}).get("prompt")
    if source is None:
        return _missing(video_id)
    if not isinstance(prompt, str) or not prompt:
        return openai_error(400, "prompt is required.", param="prompt")
    fields = {"model": source.model, "size": source.size, "seconds": source.seconds}
    video = fake.videos.add(prompt=prompt, remixed_from=source.id, **fields)
    return jsonify(video.to_json(fake.video_seconds))


def _list(fake: FakeUpstreams) -> Any:
    order = request.args.get("order", "desc")
    limit = request.args.get("limit", "20")
    if order not in {"asc", "desc"} or not limit.isdigit() or not 1 <= int(limit) <= 100:
        return openai_error(400, "order must be asc|desc and limit 1..100.", param="limit")
    items, has_more = fake.videos.page(request.args.get("after"), int(limit), order)
    data = [v.to_json(fake.video_seconds) for v in items]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    body = {"object": "list", "data": data, "first_id": first, "last_id": last}
    return jsonify(body | {"has_more": has_more})


def _delete(fake: FakeUpstreams, video_id: str) -> Any:
    if not fake.videos.delete(video_id):
        return _missing(video_id)
    return jsonify({"id": video_id, "deleted": True, "object": "video.deleted"})


def _content(fake: FakeUpstreams, video_id: str) -> Any:
    video = _found(fake, video_id)
    variant = request.args.get("variant", "video")
    if video is None:
        return _missing(video_id)
    if variant not in {"video", "thumbnail", "spritesheet"}:
        return openai_error(400, f"Invalid variant {variant!r}.", param="variant")
    if video.state(fake.video_seconds)[0] != "completed":
        return openai_error(400, "Video is not ready yet.", code="video_not_ready")
    if variant == "thumbnail":
        return Response(fake_media.thumbnail(video.size, video.id), mimetype="image/webp")
    if variant == "spritesheet":
        return Response(fake_media.spritesheet(video.size, video.id), mimetype="image/jpeg")
    clip = fake_media.mp4_clip(fake.cache_dir, video.size, int(video.seconds))
    return send_file(clip, mimetype="video/mp4", conditional=True)


_ROUTES = (
    ("/v1/videos", "videos_create", "POST", _create),
    ("/v1/videos", "videos_list", "GET", _list),
    ("/v1/videos/<video_id>", "videos_get", "GET", _retrieve),
    ("/v1/videos/<video_id>", "videos_delete", "DELETE", _delete),
    ("/v1/videos/<video_id>/remix", "videos_remix", "POST", _remix),
    ("/v1/videos/<video_id>/content", "videos_content", "GET", _content),
)


def register_video_routes(app: Flask, fake: FakeUpstreams) -> None:
    """Attach the /v1/videos routes; endpoint names double as fault kinds."""
    for rule, endpoint, method, view in _ROUTES:
        app.add_url_rule(rule, endpoint, functools.partial(view, fake), methods=[method])
