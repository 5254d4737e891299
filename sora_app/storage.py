"""Where job artefacts (work dirs) and finished videos live.

Everything a job writes is keyed by its id alone under a root every host sees: the local
folders by default, a shared mount (NFS, EFS, …) in the distributed deployment, the same
code either way. So a job resumed on another worker finds the stage outputs of the attempt
that died. An object store can come later behind the same small Protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from .jobs.cleanup import remove_job_files
from .jobs.spec import user_uploads_dir
from .pipeline.artefacts import ArtefactStore


class Storage(Protocol):
    """What the runner, the stages and the maintenance need to know about file locations."""

    @property
    def videos_dir(self) -> Path:
        """Finished videos and their thumbnails (and the hidden partials being written)."""
        ...

    @property
    def work_root(self) -> Path: ...

    def work_dir(self, job_id: str) -> Path:
        """The job's stage outputs: the same path on every host, never host- or pid-specific."""
        ...

    def uploads_dir(self, owner_id: str) -> Path: ...

    def media_path(self, name: str) -> Path:
        """A finished video or thumbnail by the file name the job row records."""
        ...

    def remove_job_files(self, job_id: str) -> None:
        """Everything temporary of a job that ended for good (not its published video)."""
        ...

    @property
    def artefacts(self) -> ArtefactStore:
        """Render pieces kept by content hash across jobs (pipeline.artefacts)."""
        ...

    def remove_media(self, name: str) -> None: ...


class LocalStorage:
    """Plain directories: local by default, or a shared mount that all hosts see."""

    def __init__(
        self,
        videos_dir: Path,
        work_root: Path,
        uploads_root: Path,
        artefacts_root: Path | None = None,
    ) -> None:
        self._videos = Path(videos_dir)
        self._work = Path(work_root)
        self._uploads = Path(uploads_root)
        self._artefacts = ArtefactStore(artefacts_root or self._work.parent / "artefacts")

    @property
    def artefacts(self) -> ArtefactStore:
        return self._artefacts

    @property
    def videos_dir(self) -> Path:
        return self._videos

    @property
    def work_root(self) -> Path:
        return self._work

    def work_dir(self, job_id: str) -> Path:
        return self._work / job_id

    def uploads_dir(self, owner_id: str) -> Path:
        return user_uploads_dir(self._uploads, owner_id)

    def media_path(self, name: str) -> Path:
        return self._videos / Path(name).name  # a bare name: never a path out of videos/

    def remove_job_files(self, job_id: str) -> None:
        remove_job_files(self._videos, self._work, job_id)

    def remove_media(self, name: str) -> None:
        self.media_path(name).unlink(missing_ok=True)


def storage_for(config: Mapping[str, Any]) -> Storage:
    """The configured storage (today always directories: SORA_VIDEOS_DIR, SORA_WORK_DIR, …)."""
    artefacts = config.get("ARTEFACTS_DIR") or None
    return LocalStorage(
        Path(config["VIDEOS_DIR"]),
        Path(config["WORK_DIR"]),
        Path(config["UPLOADS_DIR"]),
        Path(artefacts) if artefacts else None,
    )


def voices_dir(config: Mapping[str, Any]) -> Path:
    """Dropped-in Piper voices: SORA_VOICES_DIR, else `voices` in the instance folder."""
    configured = config.get("VOICES_DIR") or None
    return Path(configured) if configured else Path(config["INSTANCE_DIR"]) / "voices"


def voice_previews_dir(config: Mapping[str, Any]) -> Path:
    """Spoken voice samples, kept with the instance like the measured speaking rates."""
    return Path(config["INSTANCE_DIR"]) / "cache" / "voice_previews"
