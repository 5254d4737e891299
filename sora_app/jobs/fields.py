"""Field types shared by the request models (jobs.spec, jobs.script_body, content.bodies)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

DECIMAL = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
"""What a form field or a hand-written JSON string may hold for a number: no exponents,
no inf/nan, so "1e309" cannot slip in as infinity."""


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


def number_from_text(value: Any) -> Any:
    """One rule on every surface: a number may be sent as a JSON number or as its decimal
    text ("8", "0.2"), as forms send it; anything else goes on to the strict check."""
    if isinstance(value, str) and DECIMAL.match(value):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


NumberText = BeforeValidator(number_from_text)
"""Put on a numeric field: `duration: Annotated[float, NumberText]`."""


def unknown_fields(model: type[BaseModel], body: dict[str, Any]) -> list[str]:
    """Keys of `body` the model ignores, so an answer can say which were not used."""
    known: set[str] = set()
    for name, info in model.model_fields.items():
        known.add(name)
        if info.alias:
            known.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None) or []
        known.update(c for c in choices if isinstance(c, str))
        if isinstance(info.validation_alias, str):
            known.add(info.validation_alias)
    return sorted(key for key in body if key not in known)
