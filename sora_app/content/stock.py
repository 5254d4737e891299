"""Stock picture search: the configured stock service, or pictures painted from the words.

A result's id is signed by the server (itsdangerous): bringing a result into the library
sends only that id back, so a client can never make the server fetch a URL of its choosing.
Without a stock service, results are painted offline by the scene painter from the search
words (each result another style and seed), so the search and `stock_only` jobs work on a
bare machine; a painting is made once, kept in the instance cache, and reused.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import APIError
from ..jobs import uploads, upstreams
from ..pipeline.images import IMAGE_STYLES, save_atomic, thumbnail
from ..pipeline.types import ImageSpec, Scene, StageError
from ..providers.http_errors import UpstreamError
from ..providers.scene_renderer import paint_scene
from ..providers.stock import ORIENTATIONS, fetch_stock_image, search_stock
from . import media
from .tables import Media

PER_PAGE = 6
MAX_PAGES = 10
"""Stock services page up to a few hundred results; ten pages of six are plenty to pick from."""
SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080), "square": (1080, 1080)}
PREVIEW_WIDTH = 320
PAINT_FORMAT = 1
"""Bump when the painter changes, so cached paintings are made again."""


class StockNotFound(APIError):
    def __init__(self) -> None:
        super().__init__(404, "STOCK_NOT_FOUND", "No such stock result.", field="id")


@contextmanager
def _upstream() -> Iterator[None]:
    """The stock service's failures as the API's errors (its status, code and message)."""
    try:
        yield
    except UpstreamError as exc:
        raise APIError(exc.status_hint, exc.code, exc.message, details=exc.details) from exc
    except StageError as exc:  # a download that is no usable picture
        raise APIError(502, exc.code, exc.message) from exc


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt="stock-result")


def _words(query: str) -> list[str]:
    words = [w for w in query.split() if w][:8]
    if not words:
        raise APIError(400, "VALIDATION_ERROR", "q must name what to look for.", field="q")
    return words


def search(query: str, orientation: str, page: int) -> dict[str, Any]:
    """One page of results: {results, page, per_page, source}."""
    if orientation not in ORIENTATIONS:
        allowed = ", ".join(ORIENTATIONS)
        raise APIError(400, "VALIDATION_ERROR", f"orientation must be one of: {allowed}",
                       field="orientation")  # fmt: skip
    words = _words(query)
    client = upstreams.client(current_app._get_current_object(), "stock")
    signer = _signer()
    if client is None:
        first = (page - 1) * PER_PAGE
        found = [{"q": " ".join(words), "o": orientation, "n": first + i} for i in range(PER_PAGE)]
        source = "offline"
    else:
        with _upstream():
            urls = search_stock(client, words, orientation, per_page=PER_PAGE * page)
        found = [{"u": url, "o": orientation} for url in urls[(page - 1) * PER_PAGE :]]
        source = client.target.name
    results = []
    for item in found:
        token = signer.dumps(item)
        width, height = SIZES[orientation]
        preview = item.get("u") or f"/api/media/stock/{token}/preview"
        results.append({"id": token, "preview_url": preview, "width": width, "height": height})
    return {"results": results, "page": page, "per_page": PER_PAGE, "source": source}


def _item(token: str) -> dict[str, Any]:
    try:
        item = _signer().loads(token)
    except BadSignature:
        raise StockNotFound() from None
    if not isinstance(item, dict) or item.get("o") not in SIZES:
        raise StockNotFound()
    return item


def _painting(item: dict[str, Any]) -> Path:
    """The offline result's full-size painting, painted on first use and cached."""
    key = hashlib.sha256(f"{PAINT_FORMAT}:{item['q']}:{item['o']}:{item['n']}".encode())
    path = Path(current_app.config["INSTANCE_DIR"]) / "cache" / "stock" / f"{key.hexdigest()}.jpg"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    n, words = int(item["n"]), str(item["q"]).split()
    width, height = SIZES[item["o"]]
    spec = ImageSpec(style=IMAGE_STYLES[n % len(IMAGE_STYLES)], width=width, height=height,
                     seed=n)  # fmt: skip
    scene = Scene(index=n % 5, narration="", caption="", keywords=words)
    save_atomic(paint_scene(scene, 5, " ".join(words), spec).picture, path, "JPEG", quality=90)
    return path


def preview(token: str) -> Path:
    """A small JPEG of an offline result (a stock service's results link their own)."""
    item = _item(token)
    if "n" not in item:
        raise StockNotFound()
    full = _painting(item)
    small = full.with_name(f"{full.stem}.preview.jpg")
    if not small.exists():
        save_atomic(thumbnail(full, PREVIEW_WIDTH), small, "JPEG", quality=82)
    return small


def bring_in(token: str, owner_id: str) -> Media:
    """Put a result into the caller's library as a picture (source "stock")."""
    item = _item(token)
    folder = uploads.owner_folder(owner_id)
    staging = folder / f".{uuid.uuid4().hex}.part.jpg"
    try:
        if "n" in item:
            staging.write_bytes(_painting(item).read_bytes())
        else:
            client = upstreams.client(current_app._get_current_object(), "stock")
            if client is None:
                raise StockNotFound()
            width, height = SIZES[item["o"]]
            spec, limit = (
                ImageSpec(width=width, height=height),
                current_app.config["MAX_DOWNLOAD_BYTES"],
            )
            with _upstream():
                fetch_stock_image(client, item["u"], spec, staging, int(limit))
        stored = uploads.store_image(staging, folder, field="id")
    finally:
        staging.unlink(missing_ok=True)
    return media.record_image(stored, owner_id, f"stock-{stored['id'][:8]}.jpg", source="stock")
