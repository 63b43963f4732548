"""Personal data at rest: sealed with Fernet (MultiFernet for key rotation) before it reaches Redis.

`NOTIFIER_DATA_KEY` holds one or more comma-separated Fernet keys, newest first: new data is
sealed with the first, and any of them opens old data. Without a key, data is stored as plain
JSON marked as such (only for unit tests: `notifier web`/`worker` refuse to start without a key,
and `notifier run` generates one). Once a key is set, a plain record is an error: it can only be
one written before the key was set, and `notifier reseal` seals those (`accept_plain`, for it alone).
"""

from __future__ import annotations

from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PLAIN_PREFIX = b"plain:"


class SealError(RuntimeError):
    """Sealed data could not be opened: wrong or missing key."""


class Sealer:
    def __init__(self, keys: tuple[str, ...] = (), *, accept_plain: bool = False) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None
        self._newest = Fernet(keys[0].encode()) if keys else None
        self._accept_plain = accept_plain

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, value: Any) -> bytes:
        raw = msgspec.json.encode(value)  # the same compact UTF-8 JSON as json.dumps(..., separators)
        if self._fernet is None:
            return PLAIN_PREFIX + raw
        return self._fernet.encrypt(raw)

    def open(self, blob: bytes) -> Any:
        if blob.startswith(PLAIN_PREFIX):
            if self._fernet is not None and not self._accept_plain:
                raise SealError("an unsealed record found although NOTIFIER_DATA_KEY is set; run `notifier reseal`")
            return msgspec.json.decode(blob[len(PLAIN_PREFIX):])
        if self._fernet is None:
            raise SealError("data is encrypted but NOTIFIER_DATA_KEY is not set")
        try:
            return msgspec.json.decode(self._fernet.decrypt(blob))
        except InvalidToken:
            raise SealError("no key in NOTIFIER_DATA_KEY opens this data") from None

    def is_current(self, blob: bytes) -> bool:
        """Sealed with the newest key already (nothing for `notifier reseal` to do)."""
        if self._newest is None or blob.startswith(PLAIN_PREFIX):
            return False
        try:
            self._newest.decrypt(blob)
        except InvalidToken:
            return False
        return True

    def rotate(self, blob: bytes) -> bytes:
        """Re-seal with the newest key (used by `notifier reseal`)."""
        return self.seal(self.open(blob))


def generate_key() -> str:
    return Fernet.generate_key().decode()
