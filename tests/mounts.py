"""Real small filesystems for storage tests: a tmpfs to fill up, a read-only bind mount.

Mounting needs root (the tests run as root here and in CI); elsewhere the tests skip with
the reason, or fail where SORA_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.services import unavailable


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        unavailable(f"cannot mount ({' '.join(args)}): {result.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A fresh tmpfs of `size` (e.g. "1m") at `path`, unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


def fill(folder: Path) -> Path:
    """Write zeros until the filesystem says ENOSPC; remove the returned file to free it."""
    filler = folder / ".filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while out.write(b"\0" * 4096):  # unbuffered: nothing is left to fail on close
            pass
    return filler


@contextlib.contextmanager
def read_only_view(source: Path, view: Path) -> Iterator[Path]:
    """`source` seen read-only at `view` (a bind mount); `set_writable` flips it back."""
    view.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(view))
    try:
        _mount("-o", "remount,bind,ro", str(view))
        yield view
    finally:
        _umount(view)


def set_writable(view: Path) -> None:
    _mount("-o", "remount,bind,rw", str(view))
