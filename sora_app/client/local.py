"""The client's side of files: default names, and opening a video on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click

from .http import Api, ClientError


def default_target(view: dict[str, Any]) -> Path:
    """The server's own file name, in the current folder (a bare name, never a path)."""
    return Path(Path(str(view.get("video_path") or f"{view['job_id']}.mp4")).name)


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_video(api: Api, view: dict[str, Any], output: Path | None) -> str:
    """Download (unless already there) and open with the OS viewer; else the video's URL."""
    if not has_display():
        return media_url(api, view["video_url"])
    target = output or default_target(view)
    if not target.exists():
        api.download(view["video_url"], target)
    opener = shutil.which("xdg-open") if sys.platform.startswith("linux") else None
    if opener:
        subprocess.Popen(
            [opener, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    elif not webbrowser.open(target.resolve().as_uri()):
        return media_url(api, view["video_url"])
    return str(target)


def media_url(api: Api, path: str) -> str:
    """The video's URL, which a browser or player can open as it is.

    Without a credential (an open-mode server) that is the plain URL. With one, the server
    would answer the plain URL 401, and a player sends no Authorization header: the URL
    carries a media token (POST /api/auth/media-token, good for an hour and only for media
    URLs), never the key or access token itself.
    """
    url = api.url(path)
    if not api.has_credential:
        return url
    try:
        token = api.json("POST", "/api/auth/media-token")["token"]
    except (ClientError, KeyError) as exc:
        click.echo(f"No media token ({exc}): the URL needs your credential.", err=True)
        return url
    return f"{url}{'&' if '?' in url else '?'}token={token}"
