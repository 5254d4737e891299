"""Content-addressed artefacts: files named by a hash of everything that made them.

A render asks for an artefact by key; when a file with that key exists it is reused (and its
time of use refreshed), otherwise the render makes it and puts it here. An edit that leaves a
scene's inputs alone leaves its key alone, so a re-render reuses that scene's work. Files are
written under a temporary name and renamed into place, so a reader never sees half a file and
two workers making the same artefact at once simply both succeed. Unused artefacts are pruned
by age and by total size (least recently used first).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PINS = "pins"
"""root/pins/<name>.json: artefacts that pruning leaves alone (see ArtefactStore.pin)."""


def digest(value: Any) -> str:
    """A stable key for JSON-able inputs (dict order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """The hash of a file's bytes: inputs are keyed by what they hold, not where they lie."""
    sha = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


class ArtefactStore:
    """Artefacts of one kind of work, in `root/<kind>/<key[:2]>/<key><suffix>`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.used: set[Path] = set()
        """Every artefact this instance handed out or stored (one per job): what to pin."""

    def path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def get(self, kind: str, key: str, suffix: str) -> Path | None:
        """The artefact if it exists, marked as just used so pruning keeps it."""
        path = self.path(kind, key, suffix)
        try:  # the use goes in the access time: the modification time stays "made at"
            os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
        except FileNotFoundError:
            return None
        self.used.add(path)
        return path

    def temp_path(self, kind: str, suffix: str) -> Path:
        """Where to write a new artefact before `put` (same filesystem: the rename is atomic)."""
        folder = self.root / kind / ".tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{uuid.uuid4().hex}{suffix}"

    def put(self, kind: str, key: str, suffix: str, made: Path) -> Path:
        """Move a finished file into place under its key."""
        path = self.path(kind, key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(made, path)
        self.used.add(path)
        return path

    def pin(self, name: str, paths: Iterable[Path]) -> None:
        """Keep these artefacts whatever their age or the size limit, until `unpin(name)`:
        the pieces of a script's latest render, so its next edit re-renders only the edit."""
        folder = self.root / PINS
        folder.mkdir(parents=True, exist_ok=True)
        kept = sorted(str(Path(p).relative_to(self.root)) for p in paths)
        part = folder / f".{uuid.uuid4().hex}.part"
        part.write_text(json.dumps(kept))
        os.replace(part, folder / f"{name}.json")

    def unpin(self, name: str) -> None:
        (self.root / PINS / f"{name}.json").unlink(missing_ok=True)

    def _pinned(self) -> set[Path]:
        kept: set[Path] = set()
        for pin in (self.root / PINS).glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                kept.update(self.root / name for name in json.loads(pin.read_text()))
        return kept

    def prune(
        self, max_age_seconds: float, max_bytes: int | None = None, now: float | None = None
    ) -> int:
        """Delete artefacts unused for `max_age_seconds`, then the least recently used ones
        until the rest fit in `max_bytes`; pinned ones stay and do not count toward it. The
        number of files removed."""
        now = time.time() if now is None else now
        pinned = self._pinned()  # kept, and not counted: pins must not push the rest out
        files = sorted(
            (item for item in self._files() if item[0] not in pinned), key=lambda item: item[1]
        )  # oldest use first
        removed = 0
        total = sum(size for _path, _used, size in files)
        for path, used, size in files:
            too_old = max_age_seconds > 0 and now - used > max_age_seconds
            too_big = max_bytes is not None and total > max_bytes
            if not (too_old or too_big):
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
                total -= size
        if removed:
            log.info("event=artefacts_pruned count=%d bytes_left=%d", removed, total)
        return removed

    def _files(self) -> Iterable[tuple[Path, float, int]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                yield path, max(stat.st_atime, stat.st_mtime), stat.st_size  # last made or used
