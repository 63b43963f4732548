"""The channel interface: start once per worker, send many, close once.

A channel either accepts a message (returning the provider's reference, if any) or raises
`TemporaryFailure` (worth retrying: connection refused, 4xx SMTP, 5xx/429 HTTP, timeouts) or
`PermanentFailure` (retrying cannot help: 5xx SMTP, 4xx HTTP, invalid recipient). Reasons are
short machine-readable strings and never contain personal data: they end up in logs.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

P = TypeVar("P", contravariant=True)


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryError):
    """The channel could not take the message now; it will be retried."""


class PermanentFailure(DeliveryError):
    """The channel refused the message for good."""


class Channel(Protocol, Generic[P]):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message_id: str, payload: P) -> str | None: ...
