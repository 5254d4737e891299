"""`@documented`: what a route takes and answers, recorded for the OpenAPI document.

The decorator only records metadata on the view (it changes no behaviour: views keep
parsing with their own models and raising APIError), and api/openapi.py turns every rule
of app.url_map into an operation from it. Put it right under the `@bp.<method>(...)` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__openapi__"

Auth = Literal["public", "user", "media", "login", "refresh", "openai"]
"""public: nobody needs a credential. user: an access token or API key (optional in open
mode). media: like user, or a media token as ?token= (for <video src>, EventSource).
login: an access token only (not a key). refresh: the refresh token. openai: /v1's rule."""


@dataclass(frozen=True)
class Binary:
    """A non-JSON body: bytes of one or more media types (files, previews)."""

    media_types: tuple[str, ...]
    description: str = "The file's bytes."


@dataclass(frozen=True)
class EventStream:
    """A Server-Sent Events stream (text/event-stream): `events` names each event kind."""

    description: str
    events: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Empty:
    """An answer without a body (204)."""

    description: str = "No content."


Answer = Union[type[BaseModel], Binary, EventStream, Empty, tuple[Any, str]]  # noqa: UP007
"""A response: a model (JSON), bytes, a stream, nothing, or (any of those, description)."""


@dataclass(frozen=True)
class Doc:
    """One route's documentation (see `documented`)."""

    summary: str
    responses: Mapping[int, Answer]
    request: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    errors: Mapping[int, str] = field(default_factory=dict)
    auth: Auth = "user"
    description: str | None = None
    examples: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    websocket: bool = False


def documented(
    summary: str,
    responses: Mapping[int, Answer],
    *,
    request: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    errors: Mapping[int, str] | None = None,
    auth: Auth = "user",
    description: str | None = None,
    examples: Mapping[str, Any] | None = None,
    tags: tuple[str, ...] = (),
    websocket: bool = False,
) -> Callable[[F], F]:
    """Record the route's request/response models; `errors` maps a status to its codes."""
    doc = Doc(
        summary=summary,
        responses=responses,
        request=request,
        form=form,
        query=query,
        headers=headers,
        errors=errors or {},
        auth=auth,
        description=description,
        examples=examples or {},
        tags=tags,
        websocket=websocket,
    )

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, doc)
        return view

    return mark


def doc_of(view: Callable[..., Any]) -> Doc | None:
    """The Doc of a view, looking through wrappers (limiter, flask-sock, jwt_required)."""
    while view is not None:
        doc = getattr(view, ATTRIBUTE, None)
        if doc is not None:
            return doc
        view = getattr(view, "__wrapped__", None)
    return None
