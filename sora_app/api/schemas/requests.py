"""Request models of routes that parse their bodies by hand: derived from the models that
validate them (JobSpec, CreateParams), so their documented fields cannot drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, create_model

from ...content.scripts import RENDER_OPTIONS
from ...jobs.spec import JobSpec
from ...jobs.videos_api import CreateParams
from .v1 import ImageRef


def _job_fields(names: list[str]) -> dict[str, Any]:
    return {name: (JobSpec.model_fields[name].annotation, JobSpec.model_fields[name])
            for name in names}  # fmt: skip


RenderRequest = create_model(
    "RenderRequest",
    __config__=ConfigDict(extra="forbid", strict=True),
    __doc__="POST /api/scripts/<id>/render: how to render (the script decides words and scenes).",
    version=(int | None, Field(default=None, ge=1, description="unset: the newest version")),
    **_job_fields(sorted(RENDER_OPTIONS & set(JobSpec.model_fields))),
)

BulkRequest = create_model(
    "BulkRequest",
    __config__=ConfigDict(extra="ignore", strict=True),
    __doc__="POST /api/videos/bulk: topics and/or script ids, with options shared by all.",
    topics=(list[str], Field(default_factory=list, max_length=50, description="One video each")),
    script_ids=(list[str], Field(default_factory=list, max_length=50)),
    **_job_fields([name for name in JobSpec.model_fields if name != "topic"]),
)


class CreateVideoRequest(CreateParams):
    """POST /v1/videos as JSON (the SDK sends multipart: see the form)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    seconds: str | int = Field(default="4", description='A whole number as a string, e.g. "8"')
    input_reference: ImageRef | None = None
