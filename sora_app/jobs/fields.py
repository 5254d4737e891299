"""Field types shared by the request models (jobs.spec, jobs.script_body, content.bodies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema


@dataclass(frozen=True)
class OneOf:
    """Accepts one of `allowed` (names them all when it doesn't); the JSON schema says `enum`,
    so the OpenAPI document lists the values clients may send."""

    allowed: tuple[str, ...]
    normalise: bool = True

    def check(self, value: str) -> str:
        key = value.strip().lower().replace("-", "_").replace(" ", "_") if self.normalise else value
        if key not in self.allowed:
            raise ValueError(f"must be one of: {', '.join(self.allowed)}")
        return key

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {**handler(schema), "enum": list(self.allowed)}


def one_of(allowed: tuple[str, ...] | list[str], *, normalise: bool = True) -> OneOf:
    """A validator that accepts one of `allowed` and names them all when it doesn't."""
    return OneOf(tuple(allowed), normalise)


Keyword = Annotated[str, Field(min_length=1, max_length=40)]
UploadName = Annotated[str, Field(min_length=1, max_length=255)]
