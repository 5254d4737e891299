"""Headless Chromium for the built-in page's tests (Debian's, since Playwright cannot download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import unavailable

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Iterator:
    """A launched browser; skips (fails under SORA_REQUIRE_SERVICES=1) without one."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is missing (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield browser
        finally:
            browser.close()
