"""What the terminal shows: a live progress bar (rich) or plain lines, a job, a table.

Progress goes to stderr, so stdout carries only results (a path, or JSON with --json) and
pipes well. On a terminal the bar redraws in place; elsewhere (a pipe, a CI log) each
change is one line, which is what a log reader wants.
"""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

STAGE_WORDS = {
    "queued": "queued",
    "script": "script",
    "images": "images",
    "narration": "narration",
    "compile": "compiling",
    "external": "rendering",
    "done": "done",
}


def clock(seconds: float | None) -> str:
    """`1:05` / `1:02:03` for a time left; `--:--` when the server has no honest figure."""
    if seconds is None:
        return "--:--"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def stage_of(view: dict[str, Any]) -> str:
    status = view.get("status")
    if status in ("error", "cancelled"):
        return "failed" if status == "error" else "cancelled"
    return STAGE_WORDS.get(str(view.get("stage")), str(view.get("stage") or "…"))


class TimeLeft(ProgressColumn):
    """The server's eta_seconds, counted down between its updates."""

    def render(self, task: Task) -> Text:
        eta, at = task.fields.get("eta"), task.fields.get("eta_at", time.monotonic())
        left = None if eta is None else eta - (time.monotonic() - at)
        return Text(f"{clock(left)} left", style="progress.remaining")


class ProgressView:
    """One job's progress: `update(view)` with each new state, inside `with`."""

    def __init__(self, console: Console, label: str, *, bar: bool | None = None) -> None:
        self.console = console
        self.bar = console.is_terminal if bar is None else bar
        self.label = label
        self._progress: Progress | None = None
        self._task = None
        self._last_line = ""

    def __enter__(self) -> ProgressView:
        if self.bar:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[stage]:<10}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeLeft(),
                TextColumn("{task.fields[substatus]}"),
                console=self.console,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.label, total=100, stage="…", substatus="", eta=None
            )
        return self

    def update(self, view: dict[str, Any]) -> None:
        stage, percent = stage_of(view), int(view.get("progress") or 0)
        substatus = str(view.get("substatus") or view.get("error") or "")
        eta = view.get("eta_seconds")
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, completed=percent, stage=stage, substatus=substatus[:60],
                eta=eta, eta_at=time.monotonic(),
            )  # fmt: skip
            return
        line = f"{percent:3d}% {stage:<10} {substatus}"
        if line != self._last_line:  # eta-only changes are not worth a log line
            self._last_line = line
            left = f"  ({clock(eta)} left)" if eta else ""
            click.echo(line + left, err=True)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def show_job(view: dict[str, Any]) -> None:
    """One job's progress view, as `status` prints it."""
    rows = [
        ("job", view.get("job_id")),
        ("status", view.get("status")),
        ("stage", stage_of(view)),
        ("progress", f"{int(view.get('progress') or 0)}%"),
        ("substatus", view.get("substatus")),
        ("time left", clock(view.get("eta_seconds")) if view.get("status") == "generating"
         else None),
        ("video", view.get("video_url")),
        ("duration", f"{view['duration']:.1f} s" if view.get("duration") else None),
        ("error", _error(view)),
    ]  # fmt: skip
    for name, value in rows:
        if value:
            click.echo(f"{name:>10}  {value}")


def _error(view: dict[str, Any]) -> str | None:
    if not view.get("error"):
        return None
    code = view.get("error_code")
    return f"{view['error']} ({code})" if code else str(view["error"])


def library_table(body: dict[str, Any]) -> Table:
    """The library page as a table (newest first), with the page position in the caption."""
    table = Table(show_edge=False, header_style="bold")
    table.add_column("id", no_wrap=True)
    for column in ("status", "progress", "duration", "created", "title"):
        table.add_column(column, overflow="fold")
    for video in body.get("videos", []):
        duration = video.get("duration")
        table.add_row(
            video["id"], video["status"], f"{video.get('progress', 0)}%",
            f"{duration:.1f} s" if duration else "",
            (video.get("created_at") or "")[:19].replace("T", " "), video.get("title") or "",
        )  # fmt: skip
    pages = max(1, -(-int(body.get("total", 0)) // max(1, int(body.get("limit", 20)))))
    table.caption = f"page {body.get('page', 1)} of {pages}, {body.get('total', 0)} videos"
    return table
