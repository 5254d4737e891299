"""Stock photos from a Pexels-style search API, for the stock_only and mixed image sources.

Pexels authenticates with the bare key (build the UpstreamClient with auth_scheme=""), and
its CDN links live on another host, so the key never travels with a download.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from sora_app.pipeline.types import ImageSpec, Scene
from sora_app.providers.http import UpstreamClient
from sora_app.providers.remote_images import fit_to_jpeg, scratch_path

log = logging.getLogger(__name__)

ORIENTATIONS = ("portrait", "landscape", "square")
MAX_QUERY_WORDS = 6
"""Long queries match nothing on Pexels; a few concrete nouns work best."""
MAX_PER_PAGE = 80
SRC_SIZES = ("large2x", "original", "large")
"""Preferred src variants: large2x is near full-HD without the multi-megabyte original."""


def orientation_for(spec: ImageSpec) -> str:
    """Match the search to the output frame so cover-fitting crops as little as possible."""
    if spec.height > spec.width:
        return "portrait"
    if spec.width > spec.height:
        return "landscape"
    return "square"


def stock_keywords(stock_keywords: Sequence[str], scene: Scene) -> list[str]:
    """The request's stock keywords first, then the scene's, de-duplicated case-insensitively."""
    words: dict[str, str] = {}
    for word in [*stock_keywords, *scene.keywords]:
        cleaned = " ".join(str(word).split())
        if cleaned:
            words.setdefault(cleaned.casefold(), cleaned)
    return list(words.values())


def search_stock(
    client: UpstreamClient,
    keywords: Sequence[str],
    orientation: str,
    per_page: int = 10,
    *,
    sizes: Sequence[str] = SRC_SIZES,
) -> list[str]:
    """Search once and return one download URL per photo (best available src size)."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {', '.join(ORIENTATIONS)}")
    terms = list(dict.fromkeys(" ".join(k.split()) for k in keywords if k and k.strip()))
    query = " ".join(terms).split()[:MAX_QUERY_WORDS]
    if not query:
        raise ValueError("stock search needs at least one keyword")
    params = {
        "query": " ".join(query),
        "orientation": orientation,
        "per_page": max(1, min(int(per_page), MAX_PER_PAGE)),
    }
    started = time.perf_counter()
    body = client.get_json("search", params=params, check=_has_photos)
    urls = [url for url in (_pick_src(p, sizes) for p in body["photos"]) if url]
    log.info(
        "stock_search upstream=%s query=%r orientation=%s results=%d ms=%.0f",
        client.target.name, params["query"], orientation, len(urls),
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return list(dict.fromkeys(urls))


def _has_photos(body: dict) -> str | None:
    """A search reply without a photos list is a glitch, retried like malformed JSON."""
    return None if isinstance(body.get("photos"), list) else "a search without photos"


def _pick_src(photo: object, sizes: Sequence[str]) -> str | None:
    """The first usable http(s) link among the preferred src sizes of one photo."""
    src = photo.get("src") if isinstance(photo, dict) else None
    if not isinstance(src, dict):
        return None
    for size in sizes:
        url = src.get(size)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def fetch_stock_image(
    client: UpstreamClient, url: str, spec: ImageSpec, dest: Path, max_bytes: int
) -> Path:
    """Download under the size cap, verify with Pillow, cover-fit and write dest atomically."""
    started = time.perf_counter()
    dest = Path(dest)
    src = scratch_path(dest)
    try:
        client.download(url, src, max_bytes)
        fit_to_jpeg(client, src, spec, dest)
    finally:
        src.unlink(missing_ok=True)
    log.info(
        "stock_image_ok upstream=%s dest=%s size=%dx%d ms=%.0f",
        client.target.name, dest.name, spec.width, spec.height,
        (time.perf_counter() - started) * 1e3,
    )  # fmt: skip
    return dest
