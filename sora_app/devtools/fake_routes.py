"""The fake's Flask app: auth, fault injection hooks, and the non-video OpenAI/Pexels routes.

Endpoint names are the "kinds" faults are keyed by: models, chat, images, speech, search,
media_photo, media_generated and videos_* (see fake_videos). Chat also knows two content
faults: ``invalid_script`` (a 200 whose reply is prose, not JSON) and ``sloppy_script`` (JSON
in a code fence with extra scenes and character names miscased or invented). Each log entry
keeps the query ``args`` and the ``json`` body.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, request

from sora_app.devtools import fake_faults, fake_media
from sora_app.devtools.fake_videos import openai_error, register_video_routes

if TYPE_CHECKING:
    from sora_app.devtools.fake_upstreams import FakeUpstreams

log = logging.getLogger(__name__)

PUBLIC_KINDS = frozenset({"media_photo", "media_generated"})
"""Download links work without the key, like real CDN URLs."""
_ORIENTATIONS = {"landscape": (1920, 1280), "portrait": (1280, 1920), "square": (1600, 1600)}


def _authorized(fake: FakeUpstreams) -> bool:
    """Accept `Bearer <key>` (OpenAI) or the bare key (Pexels)."""
    if fake.api_key is None or request.endpoint in PUBLIC_KINDS:
        return True
    given = request.headers.get("Authorization", "")
    return given.removeprefix("Bearer ").strip() == fake.api_key


def _before(fake: FakeUpstreams) -> Response | None:
    """Log the request, then apply the faults that replace the normal answer."""
    kind = request.endpoint or "unknown"
    fault = fake.take_fault(kind, request.headers.get("X-Fake-Fault"))
    g.fault = fault
    g.entry = fake.record(request.method, request.path, kind, fault)
    g.entry["auth"] = "Authorization" in request.headers
    g.entry["request_id"] = request.headers.get("X-Request-ID")
    g.entry |= {"args": request.args.to_dict(), "json": request.get_json(silent=True)}
    if fault == "slow":
        time.sleep(fake.slow_seconds)
    elif fault == "disconnect":
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    elif fault == "trickle_headers":
        fake_faults.trickle_headers(fake, g.entry)
    elif fault and re.fullmatch(r"\d{3}(:noretry)?", fault):
        return fake_faults.status_fault(fault, fake)
    elif fault == "content_404":
        return openai_error(404, f"No content at {request.path}.", code="not_found")
    elif fault == "malformed_json":
        return Response('{"id": "broken", "status": "in_pro', mimetype="application/json")
    if not _authorized(fake):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return openai_error(401, f"Incorrect API key provided: {given}.", code="invalid_api_key")
    return None


def _after(fake: FakeUpstreams, response: Response) -> Response:
    """Record the status; body faults (`truncated`, `trickle`) rewrite the answer's body."""
    entry = g.get("entry")
    if entry is not None:
        entry["status"] = response.status_code
    fault = g.get("fault")
    if fault in fake_faults.BODY_FAULTS:
        return fake_faults.body_fault(fault, response, fake, entry if entry is not None else {})
    return response


def _scenes_for(prompt: str) -> dict[str, Any]:
    """A scenes object from the prompt: 'N scenes' sets the count, the first line the topic."""
    match = re.search(r"(\d+)\s+scenes?", prompt)
    count = max(1, min(int(match.group(1)) if match else 3, 50))
    names = re.findall(r"^- ([^:\n]{1,40}):", prompt, re.M)
    topic = (prompt.strip().splitlines() or ["a story"])[0][:60]
    scenes = [
        {
            "narration": f"Scene {i + 1} of {topic}. Something quietly changes here.",
            "caption": f"Part {i + 1}",
            "keywords": [w.lower() for w in re.findall(r"[A-Za-z]{4,}", topic)[:3]] or ["sky"],
            "characters": names[: 1 + i % len(names)] if names else [],
            "mood": ("calm", "tension", "dread", "hope", "triumph")[i % 5],
        }
        for i in range(count)
    ]
    return {"title": topic.title(), "scenes": scenes}


def _script_reply(prompt: str, fault: str | None) -> str:
    """The assistant's text: scenes JSON, or the broken replies real models sometimes give."""
    if fault == "invalid_script":
        return "Sure! Here is your story. Scene one: the fog rolls in over the harbour..."
    script = _scenes_for(prompt)
    if fault != "sloppy_script":
        return json.dumps(script)
    scenes = script["scenes"] + [dict(s) for s in script["scenes"][:2]]
    for scene in scenes:
        scene["characters"] = [n.upper() for n in scene["characters"]] + ["Mysterious Stranger"]
        scene["keywords"] = ", ".join(scene["keywords"])
    return "```json\n" + json.dumps(script | {"scenes": scenes}) + "\n```"


def _chat(fake: FakeUpstreams) -> Any:
    body = request.get_json(silent=True) or {}
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return openai_error(400, "messages must be a non-empty array.", param="messages")
    prompt = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    content = _script_reply(prompt, g.get("fault"))
    model, created, cid = (
        body.get("model", "gpt-4o-mini"),
        int(time.time()),
        f"chatcmpl-{uuid.uuid4().hex}",
    )
    if body.get("stream"):
        return Response(_chat_stream(cid, model, created, content), mimetype="text/event-stream")
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(content.split())}
    return jsonify(
        {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage | {"total_tokens": sum(usage.values())},
        }
    )


def _chat_stream(cid: str, model: str, created: int, content: str) -> Any:
    """Server-sent chunks with a few characters of content each, then [DONE]."""
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
    for start in range(0, len(content), 24):
        delta = {
            "index": 0,
            "delta": {"content": content[start : start + 24]},
            "finish_reason": None,
        }
        yield f"data: {json.dumps(base | {'choices': [delta]})}\n\n"
    done = {"index": 0, "delta": {}, "finish_reason": "stop"}
    yield f"data: {json.dumps(base | {'choices': [done]})}\n\ndata: [DONE]\n\n"


def _images(fake: FakeUpstreams) -> Any:
    body = request.get_json(silent=True) or {}
    prompt, size = body.get("prompt"), str(body.get("size") or "1024x1024")
    if not isinstance(prompt, str) or not prompt:
        return openai_error(400, "prompt is required.", param="prompt")
    if not re.fullmatch(r"\d{2,4}x\d{2,4}", size):
        size = "1024x1024"
    width, height = (int(v) for v in size.split("x"))
    items = []
    for i in range(max(1, min(int(body.get("n") or 1), 4))):
        png = fake_media.encode_image(
            fake_media.picture(width, height, f"{prompt}:{i}", prompt), "PNG"
        )
        if body.get("response_format") == "url":
            token = uuid.uuid4().hex
            fake.generated[token] = png
            items.append({"url": f"{request.host_url}media/generated/{token}.png"})
        else:
            items.append({"b64_json": base64.b64encode(png).decode("ascii")})
    return jsonify({"created": int(time.time()), "data": items})


def _speech() -> Any:
    body = request.get_json(silent=True) or {}
    text, fmt = body.get("input"), str(body.get("response_format") or "mp3")
    if not isinstance(text, str) or not 1 <= len(text) <= 4096:
        return openai_error(400, "input must be 1 to 4096 characters.", param="input")
    if not body.get("voice"):
        return openai_error(400, "voice is required.", param="voice")
    if fmt not in {"mp3", "wav", "pcm", "flac"}:
        return openai_error(400, f"Unsupported response_format {fmt!r}.", param="response_format")
    samples = fake_media.speech_samples(text, float(body.get("speed") or 1.0))
    if fmt == "pcm":
        return Response(samples.tobytes(), mimetype="audio/pcm")
    wav = fake_media.wav_bytes(samples)
    data = wav if fmt == "wav" else fake_media.transcode_audio(wav, fmt)
    return Response(data, mimetype={"mp3": "audio/mpeg", "wav": "audio/wav"}.get(fmt, "audio/flac"))


def _photo(root: str, photo_id: int, query: str, orientation: str) -> dict[str, Any]:
    """One Pexels-style photo whose src URLs point at this server's /media/photos."""
    width, height = _ORIENTATIONS.get(orientation, _ORIENTATIONS["landscape"])

    def src(w: int, h: int) -> str:
        return f"{root}media/photos/{photo_id}-{w}x{h}.jpeg"

    sizes = {
        "original": (width, height),
        "large2x": (width // 2, height // 2),
        "large": (width // 3, height // 3),
    }
    links = {name: src(*dims) for name, dims in sizes.items()}
    links |= {"medium": src(width // 5, height // 5), "small": src(width // 10, height // 10)}
    links |= {"portrait": src(800, 1200), "landscape": src(1200, 627), "tiny": src(280, 200)}
    return {
        "id": photo_id,
        "width": width,
        "height": height,
        "url": f"{root}photos/{photo_id}",
        "photographer": "Fake Photographer",
        "photographer_url": f"{root}photographers/1",
        "avg_color": "#778899",
        "src": links,
        "alt": f"{query} photo {photo_id}",
    }


def _search() -> Any:
    query = request.args.get("query", "").strip()
    if not query:
        return openai_error(400, "query is required.", param="query")
    orientation = request.args.get("orientation", "landscape")
    per_page = max(1, min(int(request.args.get("per_page", 15) or 15), 80))
    page = max(1, int(request.args.get("page", 1) or 1))
    total = 0 if "noresults" in query else 40
    seed = sum(map(ord, query)) * 1000
    first = (page - 1) * per_page
    ids = [seed + i for i in range(first, min(first + per_page, total))]
    body: dict[str, Any] = {"page": page, "per_page": per_page, "total_results": total}
    body["photos"] = [_photo(request.host_url, i, query, orientation) for i in ids]
    if first + per_page < total:
        body["next_page"] = f"{request.base_url}?query={query}&page={page + 1}&per_page={per_page}"
    return jsonify(body)


def build_app(fake: FakeUpstreams) -> Flask:
    """The whole fake: OpenAI-style chat/images/speech/videos, Pexels search, downloads."""
    app = Flask("sora_app.devtools.fake")
    app.before_request(lambda: _before(fake))
    app.after_request(lambda response: _after(fake, response))
    app.add_url_rule(
        "/v1/models",
        "models",
        lambda: jsonify({"object": "list", "data": [{"id": "sora-2", "object": "model"}]}),
    )
    app.add_url_rule("/v1/chat/completions", "chat", lambda: _chat(fake), methods=["POST"])
    app.add_url_rule("/v1/images/generations", "images", lambda: _images(fake), methods=["POST"])
    app.add_url_rule("/v1/audio/speech", "speech", _speech, methods=["POST"])
    app.add_url_rule("/v1/search", "search", _search)

    @app.get("/media/photos/<int:photo_id>-<int:width>x<int:height>.jpeg", endpoint="media_photo")
    def photo(photo_id: int, width: int, height: int) -> Any:
        if not (16 <= width <= 4000 and 16 <= height <= 4000):
            return openai_error(404, "No such photo size.")
        image = fake_media.picture(width, height, str(photo_id), f"photo {photo_id}")
        return Response(fake_media.encode_image(image, "JPEG"), mimetype="image/jpeg")

    @app.get("/media/generated/<token>.png", endpoint="media_generated")
    def generated(token: str) -> Any:
        png = fake.generated.get(token)
        return Response(png, mimetype="image/png") if png else openai_error(404, "Expired link.")

    register_video_routes(app, fake)
    return app
