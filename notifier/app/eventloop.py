"""The event loop every `notifier` process runs on: uvloop where it is installed, else asyncio's.

uvloop is aiohttp's recommended loop; it cuts the loop's own share of a worker's and the web's
CPU (measured in `bench/README.md`). Where it is missing (Windows, PyPy) or switched off with
`NOTIFIER_UVLOOP=0` (to measure without it), asyncio's default loop runs the same code.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def uvloop_wanted() -> bool:
    return os.environ.get("NOTIFIER_UVLOOP", "1").strip().lower() not in ("0", "false", "no", "off")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop when available and wanted."""
    if uvloop_wanted():
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)
