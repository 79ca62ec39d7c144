"""Debian's Chromium through Playwright, for every test that opens a page (Playwright never
downloads a browser here: `make test` installs Chromium with apt)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import services_required

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


def browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return ("browser tests skipped: Chromium is not installed "
                "(enable them with `sudo apt-get install chromium`)")
    return None


def require_browser() -> None:
    """Skip without Chromium, except in CI (or REQUIRE_SERVICES), where it fails."""
    reason = browser_missing()
    if reason and services_required():
        pytest.fail(reason.replace("skipped", "required in CI"))
    if reason:
        pytest.skip(reason)


async def launched_chromium() -> AsyncIterator[Any]:
    """A headless Chromium for one module's tests."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=CHROMIUM_FLAGS)
        yield instance
        await instance.close()
