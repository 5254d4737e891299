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


def plural(count: int, word: str) -> str:
    """`1 video`, `2 videos`, `0 videos`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def library_caption(body: dict[str, Any]) -> str:
    """Where this page sits: `page 1 of 3, 41 videos`."""
    total = int(body.get("total", 0))
    pages = max(1, -(-total // max(1, int(body.get("limit", 20)))))
    return f"page {body.get('page', 1)} of {pages}, {plural(total, 'video')}"


WIDE_TERMINAL = 100
"""Columns from which `list` has room for the created time beside the title."""


def library_table(body: dict[str, Any], width: int = WIDE_TERMINAL) -> Table:
    """The library page as a table (newest first), with the page position in the caption.

    Fitted to a terminal `width` columns wide: an id or a status is never broken or cut
    short, only the title wraps. No rules between columns; an unfinished video's progress
    sits beside its status (a completed one is 100%); below WIDE_TERMINAL columns there is
    no room for the created time as well as a readable title, so it is left out.
    """
    table = Table(box=None, pad_edge=False, header_style="bold", caption_justify="left")
    for column in ("id", "status", "length"):
        table.add_column(column, no_wrap=True)
    wide = width >= WIDE_TERMINAL
    if wide:
        table.add_column("created", no_wrap=True)
    table.add_column("title", ratio=1, overflow="fold")
    for video in body.get("videos", []):
        duration = video.get("duration")
        status = video["status"]
        if status != "completed":
            status += f" {int(video.get('progress') or 0)}%"
        created = (video.get("created_at") or "")[:16].replace("T", " ")
        row = [video["id"], status, f"{duration:.1f} s" if duration else ""]
        table.add_row(*row, *([created] if wide else []), video.get("title") or "")
    table.caption = library_caption(body)
    return table


LIBRARY_FIELDS = ("id", "status", "progress", "duration", "created_at", "title")
"""The columns of `list` into a pipe, in order (README "Command line")."""


def library_lines(body: dict[str, Any]) -> list[str]:
    """The library page for a script: one video a line, fields tab-separated, no header.

    What `cut -f1`, `awk -F'\\t'` and `while read` want: nothing wrapped or padded, numbers
    bare (progress in percent, duration in seconds, empty while unknown), created_at as the
    server sent it, and tabs or line breaks in a title turned into spaces.
    """
    lines = []
    for video in body.get("videos", []):
        duration = video.get("duration")
        values = {
            **video,
            "progress": int(video.get("progress") or 0),
            "duration": f"{duration:.1f}" if duration else "",
        }
        lines.append("\t".join(_field(values.get(name)) for name in LIBRARY_FIELDS))
    return lines


def _field(value: Any) -> str:
    """One tab-separated field: never None, never a tab or a line break inside."""
    return "" if value is None else " ".join(str(value).split())
