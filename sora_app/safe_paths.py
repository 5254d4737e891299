"""The one check for files named by clients: a plain regular file directly inside its folder.

A symlink dropped into an uploads or videos folder (or a thumbnail swapped for one) must never
make the server list, serve or read a file elsewhere, such as /etc/passwd.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Identifiers that may become a folder name: `local`, uuid hex and the like, never a path."""


def safe_file(folder: Path, name: str) -> Path | None:
    """`folder/name` if it is a regular file (not a link) whose real path is in folder."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00"):
        return None
    path = Path(folder) / name
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None  # a symlink, folder, fifo or device
        if path.resolve(strict=True).parent != Path(folder).resolve(strict=True):
            return None
    except (OSError, ValueError, RuntimeError):  # missing, name too long, link loops
        return None
    return path


def safe_id(value: str) -> str:
    """`value` if it is a plain identifier that is safe as a folder name, else ValueError."""
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a plain identifier and cannot name a folder")
    return value
