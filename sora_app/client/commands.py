"""The client's commands: generate, status, list, cancel, open, download.

Exit codes: 0 done; 1 the job failed or was cancelled, or the server failed (5xx);
2 the request was refused (bad option, 400 naming the field, 404, 409, 429); 3 no server at
the URL; 4 not authorised (401/403); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from .display import ProgressView, library_caption, library_lines, library_table, show_job
from .follow import follow
from .http import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_REFUSED, Api, ClientError
from .local import default_target, open_video

DEFAULT_SERVER = "http://localhost:5000"
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _api(ctx: click.Context) -> Api:
    return ctx.find_object(Api)  # type: ignore[return-value]


def _print_json(body: Any) -> None:
    click.echo(json.dumps(body, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server", metavar="URL", envvar="SORA_SERVER_URL", default=DEFAULT_SERVER,
    show_default=True, help="The server's base URL (env SORA_SERVER_URL).",
)  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, server: str) -> None:
    """Make and fetch narrated videos on a sora_app server.

    Credentials come from the environment: SORA_API_KEY (an sk-sora-… key) or SORA_TOKEN
    (an access token), sent as `Authorization: Bearer`. --server may be given before or
    after the command (`list --server URL`).
    """
    credential = os.environ.get("SORA_API_KEY") or os.environ.get("SORA_TOKEN")
    ctx.obj = Api(server, credential or None)


def _server_after_command(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """`list --server URL`: people type global options after the command too; given there,
    it wins over the one before the command and over SORA_SERVER_URL."""
    if value is not None:
        _api(ctx).use_server(value)


SERVER_AFTER_COMMAND = click.Option(
    ["--server"], metavar="URL", expose_value=False, callback=_server_after_command,
    help="The server's base URL (the same option as before the command).",
)  # fmt: skip


def _characters(values: tuple[str, ...]) -> list[dict[str, str]]:
    """NAME:DESCRIPTION pairs (the description may be empty)."""
    found = []
    for value in values:
        name, _, description = value.partition(":")
        if not name.strip():
            raise click.BadParameter(
                f"{value!r} has no name; use NAME:DESCRIPTION", param_hint="--character"
            )
        found.append({"name": name.strip(), "description": description.strip()})
    return found


REQUEST_OPTIONS = {  # option name -> request field (contract 1)
    "story_type": "story_type", "image_style": "image_style", "image_mode": "image_mode",
    "voice": "voice_id", "duration": "duration", "hook_intensity": "hook_intensity",
    "pacing": "pacing", "scenes": "num_scenes", "aspect_ratio": "aspect_ratio",
    "music": "music", "music_mood": "music_mood", "subtitles": "subtitles", "seed": "seed",
}  # fmt: skip


def request_body(topic: str, options: dict[str, Any]) -> dict[str, Any]:
    """The POST body: only what was given, so the server's defaults apply to the rest."""
    body: dict[str, Any] = {"topic": topic}
    body |= {
        field: options[name]
        for name, field in REQUEST_OPTIONS.items()
        if options.get(name) is not None
    }
    if options.get("character"):
        body["characters"] = _characters(options["character"])
    if options.get("keyword"):
        body["stock_keywords"] = list(options["keyword"])
    if options.get("image"):
        body["manual_image_paths"] = list(options["image"])
    return body


@cli.command()
@click.option("--topic", required=True, help="What the story is about.")
@click.option("--story-type", help="Genre, e.g. scary_horror, mystery, comedy (GET /api/options).")
@click.option("--image-style", help="cinematic, anime, watercolor, …")
@click.option("--image-mode", help="ai_only, stock_only, manual_only or mixed.")
@click.option("--voice", help="A voice id (GET /api/voices), e.g. male_narrator_deep.")
@click.option("--duration", type=float, help="Length in minutes (0.1-10; 0.5 = 30 s).")
@click.option("--hook-intensity", help="low, medium, high or extreme.")
@click.option("--pacing", help="slow, moderate, dynamic or fast.")
@click.option("--scenes", type=int, help="Number of scenes (1-50).")
@click.option(
    "--character", multiple=True, metavar="NAME:DESC", help="A recurring character (repeatable)."
)
@click.option("--keyword", multiple=True, help="A stock search word (repeatable).")
@click.option(
    "--image",
    multiple=True,
    metavar="MEDIA",
    help="A library picture id or name for manual_image_paths (repeatable).",
)
@click.option("--aspect-ratio", help="9:16, 16:9 or 1:1.")
@click.option("--music/--no-music", default=None, help="A music bed under the narration.")
@click.option("--music-mood", help="calm, tense, uplifting, dark or playful.")
@click.option("--subtitles/--no-subtitles", default=None, help="Burned-in subtitles.")
@click.option("--seed", type=int, help="The same seed and request give the same video.")
@click.option(
    "--wait", is_flag=True, help="Follow the job with a progress bar, then download the video."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where --wait saves the video (default: the server's file name).",
)
@click.option("--cancel-on-interrupt", is_flag=True, help="Ctrl-C cancels the job without asking.")
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "plain"]),
    default="auto",
    show_default=True,
    help="bar on a terminal, one line per change otherwise.",
)
@click.option(
    "--poll", is_flag=True, help="Poll /api/progress instead of following the event stream."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the job id; with --wait the final state)."
)
@click.pass_context
def generate(
    ctx: click.Context, topic: str, wait: bool, output: Path | None, cancel_on_interrupt: bool,
    progress_mode: str, poll: bool, as_json: bool, **options: Any,
) -> int:  # fmt: skip
    """Start a video; with --wait, watch it and download it."""
    api = _api(ctx)
    started = api.json("POST", "/api/generate-video", json=request_body(topic, options))
    job_id = started["job_id"]
    if not wait:
        _print_json(started) if as_json else click.echo(job_id)
        return 0
    click.echo(f"job {job_id}", err=True)
    bar = {"auto": None, "bar": True, "plain": False}[progress_mode]
    final = _watch(api, job_id, bar=bar, poll=poll, cancel=cancel_on_interrupt)
    if final is None:
        return EXIT_INTERRUPTED
    if final.get("status") != "complete":
        raise ClientError(f"job {job_id} {_ended(final)}", EXIT_FAILED)
    target = output or default_target(final)
    size = api.download(final["video_url"], target)
    if as_json:
        _print_json({**final, "output": str(target), "bytes": size})
    else:
        click.echo(str(target))
    return 0


def _ended(view: dict[str, Any]) -> str:
    word = "was cancelled" if view.get("status") == "cancelled" else "failed"
    code = f" ({view['error_code']})" if view.get("error_code") else ""
    return f"{word}: {view.get('error') or 'no reason given'}{code}"


def _watch(api: Api, job_id: str, *, bar: bool | None, poll: bool, cancel: bool) -> dict | None:
    """The job's final state, shown live; None if Ctrl-C stopped the watching."""
    final: dict[str, Any] = {}
    try:
        with ProgressView(err, job_id, bar=bar) as view:
            for state in follow(api, job_id, use_sse=not poll):
                view.update(state)
                final = state
        return final
    except KeyboardInterrupt:
        click.echo(err=True)
    if cancel or (
        sys.stdin.isatty()
        and click.confirm(f"Cancel job {job_id} on the server?", default=False, err=True)
    ):
        api.json("POST", f"/api/jobs/{job_id}/cancel")
        click.echo(f"cancelled job {job_id}", err=True)
    else:
        click.echo(
            f"job {job_id} keeps running; see it with: {_program()} status {job_id}",
            err=True,
        )
    return None


@cli.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the progress view as JSON.")
@click.pass_context
def status(ctx: click.Context, job_id: str, as_json: bool) -> int:
    """One job's progress: status, stage, percent, time left, video or error."""
    view = _api(ctx).json("GET", f"/api/progress/{job_id}")
    _print_json(view) if as_json else show_job(view)
    return 0


@cli.command("list")
@click.option(
    "--status",
    "wanted",
    default="all",
    show_default=True,
    help="all, completed, processing, failed or cancelled.",
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the library page as JSON.")
@click.pass_context
def list_videos(ctx: click.Context, wanted: str, page: int, limit: int, as_json: bool) -> int:
    """Your library, newest first (GET /api/videos).

    A table on a terminal; into a pipe or file, one video a line with tab-separated fields
    (id, status, progress, duration, created_at, title) and the page line on stderr.
    """
    params = {"status": wanted, "page": page, "limit": limit}
    body = _api(ctx).json("GET", "/api/videos", params=params)
    if as_json:
        _print_json(body)
    elif sys.stdout.isatty():
        out.print(library_table(body, out.width))
    else:
        for line in library_lines(body):
            click.echo(line)
        click.echo(library_caption(body), err=True)
    return 0


@cli.command()
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> int:
    """Cancel a queued or running job (a running one stops within a second or two)."""
    view = _api(ctx).json("POST", f"/api/jobs/{job_id}/cancel")
    word = "cancelled" if view.get("status") == "cancelled" else "cancelling"
    click.echo(f"{word} {job_id}")
    return 0


def _finished(api: Api, job_id: str) -> dict[str, Any]:
    view = api.json("GET", f"/api/progress/{job_id}")
    if view.get("status") != "complete":
        state = f"{view.get('status')} ({int(view.get('progress') or 0)}%)"
        raise ClientError(f"job {job_id} has no video: it is {state}", EXIT_REFUSED)
    return view


@cli.command()
@click.argument("job_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to save it (default: the server's file name).",
)
@click.pass_context
def download(ctx: click.Context, job_id: str, output: Path | None) -> int:
    """Save a finished video (streamed to a temp name, renamed when whole)."""
    api = _api(ctx)
    view = _finished(api, job_id)
    target = output or default_target(view)
    api.download(view["video_url"], target)
    click.echo(str(target))
    return 0


@cli.command("open")
@click.argument("job_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to keep the download.",
)
@click.pass_context
def open_cmd(ctx: click.Context, job_id: str, output: Path | None) -> int:
    """Play a finished video with the system's viewer (its URL when there is no display)."""
    api = _api(ctx)
    view = _finished(api, job_id)
    click.echo(open_video(api, view, output))
    return 0


for _command in cli.commands.values():  # every command, so a new one cannot miss it
    _command.params.append(SERVER_AFTER_COMMAND)


def _program() -> str:
    """How the user ran us, for usage lines and hints: `sora` when installed with pip
    (pyproject's script), else `python -m sora_app.client`."""
    name = Path(sys.argv[0]).name
    return name if name and name != "__main__.py" else "python -m sora_app.client"


def main() -> None:
    """Run the CLI; every failure is one line on stderr and a documented exit code."""
    try:
        code = cli.main(prog_name=_program(), standalone_mode=False)
    except ClientError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code or 0)
