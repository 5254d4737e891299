"""Field types shared by the request models (jobs.spec, jobs.script_body, content.bodies)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def one_of(allowed: tuple[str, ...] | list[str], *, normalise: bool = True):
    """A validator that accepts one of `allowed` and names them all when it doesn't."""

    def check(value: str) -> str:
        key = value.strip().lower().replace("-", "_").replace(" ", "_") if normalise else value
        if key not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return key

    return AfterValidator(check)


Keyword = Annotated[str, Field(min_length=1, max_length=40)]
UploadName = Annotated[str, Field(min_length=1, max_length=255)]
