"""A progress line for long runs on a terminal (a digest run, an announcement to many).

Drawn on stderr and redrawn in place; when stderr is not a terminal (a script, a log file, cron)
nothing is drawn at all, so output meant for machines stays clean.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

BAR = 24


class Progress:
    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + line(self.label, done, total, detail, shutil.get_terminal_size().columns) + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        """End the line, so what is printed next starts on its own."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def line(label: str, done: int, total: int, detail: str = "", width: int = 80) -> str:
    """`digest 2026-W49 [##########--------------] 120/300 40% sent 118, failed 2`, cut to `width`."""
    total = max(total, 0)
    fraction = min(done / total, 1.0) if total else 1.0
    filled = int(round(fraction * BAR))
    text = f"{label} [{'#' * filled}{'-' * (BAR - filled)}] {done}/{total} {int(fraction * 100)}%"
    if detail:
        text += f" {detail}"
    return text[: max(width - 1, 10)]
