"""POST /api/scripts with `Accept: text/event-stream`: the script as it is written.

One `scene` event per scene the moment the writer finishes it, then `done` with the stored
script (the authority: the model's reply is checked and tidied once complete), or `error`.
The writer runs in a thread of its own so this one can send events while it writes.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, current_app, stream_with_context

from ..content import scripts
from ..content.bodies import ScriptCreate
from ..errors import APIError
from ..pipeline.types import Scene
from .events import event_stream_response
from .stream_slots import Slot, stream_slots

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 15.0
"""A comment line this often while the model thinks, so proxies keep the stream open."""


def wants_stream(accept: str) -> bool:
    return "text/event-stream" in accept


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _write(app: Flask, parsed: ScriptCreate, owner: str, events: queue.Queue, slot: Slot) -> None:
    """Write and store the script, sending events; the slot is the writer's until it is done
    (a client that hangs up does not stop a paid model call, so it must keep counting)."""

    def on_scene(scene: Scene) -> None:
        events.put(_event("scene", asdict(scene)))

    with app.app_context():
        try:
            script, body = scripts.create(parsed, owner, on_scene=on_scene)
            events.put(_event("done", scripts.view(script, body)))
        except APIError as exc:
            events.put(_event("error", {"error": exc.code, "message": exc.message}))
        except Exception:
            log.exception("script stream failed owner=%s", owner)
            events.put(_event("error", {"error": "INTERNAL_ERROR",
                                        "message": "Writing the script failed."}))  # fmt: skip
        finally:
            events.put(None)
            slot.release()


def stream_script(parsed: ScriptCreate, owner: str) -> Response:
    slot = stream_slots().acquire(owner)
    if slot is None:
        raise APIError(429, "TOO_MANY_STREAMS", "Too many open event streams; close one first.",
                       headers={"Retry-After": "5"})  # fmt: skip
    events: queue.Queue[str | None] = queue.Queue()
    app = current_app._get_current_object()
    threading.Thread(target=_write, args=(app, parsed, owner, events, slot), daemon=True,
                     name="script-writer").start()  # fmt: skip

    def generate() -> Iterator[str]:
        while True:
            try:
                item = events.get(timeout=KEEP_ALIVE_SECONDS)
            except queue.Empty:
                yield ": writing\n\n"
                continue
            if item is None:
                return
            yield item

    return event_stream_response(stream_with_context(generate()))
