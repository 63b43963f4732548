"""What every browser test needs: Debian's Chromium at /usr/bin/chromium, driven by Playwright
(never `playwright install`), and a `chromium` fixture; skipped, saying why, where either is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
try:
    from playwright import async_api as playwright_api
except ImportError:  # pragma: no cover - the test extra installs it
    playwright_api = None  # type: ignore[assignment]

SKIP_WITHOUT_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists() or playwright_api is None,
    reason="the browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium) and "
           "playwright (pip install -e '.[test]')")


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()
