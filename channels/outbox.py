"""The outbox: a folder per channel where messages are written instead of sent.

It is the embedded default for delivery and a real channel: each file is exactly what would
have gone over the wire, written atomically (temporary name, fsync, rename) so that a reader
never sees half a message.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class OutboxChannel:
    """What every outbox backend shares: a folder made at start, nothing to close.

    Subclasses set `name` and implement `send`, writing with `write_atomic`.
    """

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None
