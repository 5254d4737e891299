"""Following one job to its end: its SSE stream first, polling /api/progress when SSE fails.

Both yield the same thing, contract 1's progress view of the job (status, progress,
substatus, stage, eta_seconds, …), each time it changes, and stop after the final state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from .http import EXIT_FAILED, Api, ClientError

FINAL = ("complete", "error", "cancelled")
POLL_SECONDS = 1.0
RECONNECTS = 5
"""SSE reconnects (resuming with Last-Event-ID) before the client falls back to polling."""

View = dict[str, Any]


def follow(
    api: Api, job_id: str, *, use_sse: bool = True, sleep: Callable[[float], None] = time.sleep
) -> Iterator[View]:
    """Every new state of the job, the current one first, until a final one."""
    last: View | None = None
    if use_sse:
        for view in _sse(api, job_id, sleep):
            last = view
            yield view
        if last is not None and last.get("status") in FINAL:
            return
    yield from _poll(api, job_id, sleep, last)


def _sse(api: Api, job_id: str, sleep: Callable[[float], None]) -> Iterator[View]:
    """The job's event stream, resumed after the last event id; ends quietly when SSE fails."""
    event_id: str | None = None
    failures = 0
    while failures <= RECONNECTS:
        headers = {"Accept": "text/event-stream"}
        if event_id:
            headers["Last-Event-ID"] = event_id
        try:
            with api.send("GET", f"/api/jobs/{job_id}/events", headers=headers, stream=True) as r:
                if not r.headers.get("Content-Type", "").startswith("text/event-stream"):
                    return  # a proxy or an older server: poll instead
                for event_id_now, view in _events(r):
                    event_id = event_id_now or event_id
                    failures = 0
                    yield view
                    if view.get("status") in FINAL:
                        return
        except ClientError as exc:
            if exc.code != EXIT_FAILED:  # refused or unreachable: polling says why, once
                return
        except requests.RequestException:
            pass  # the stream broke off: resume after the last event
        failures += 1
        sleep(min(POLL_SECONDS * failures, 5.0))


def _events(response: requests.Response) -> Iterator[tuple[str | None, View]]:
    """(id, data) of each `data:` event of a text/event-stream body (pings are skipped)."""
    event_id: str | None = None
    data: list[str] = []
    for raw in response.iter_lines(decode_unicode=True):
        line = raw or ""
        if not line:
            view = _parsed(data)
            if view is not None:
                yield event_id, view
            data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "data":
            data.append(value)


def _parsed(data: list[str]) -> View | None:
    """An event's JSON data (None for an empty or unreadable one)."""
    if not data:
        return None
    try:
        view = json.loads("\n".join(data))
    except ValueError:
        return None
    return view if isinstance(view, dict) else None


def _poll(
    api: Api, job_id: str, sleep: Callable[[float], None], last: View | None
) -> Iterator[View]:
    """GET /api/progress/<id> every second; yields only changes."""
    while True:
        view = api.json("GET", f"/api/progress/{job_id}")
        if view != last:
            last = view
            yield view
        if view.get("status") in FINAL:
            return
        sleep(POLL_SECONDS)
