"""Composing: a stored message becomes what its channel carries (an e-mail, an SMS, a letter).

Rendering is in `render.py`; this module picks the recipient's address, the sender and any
per-template extras (calendar attachments, list headers). Templates that need extras register a
function in `EMAIL_EXTRAS`.
"""

from __future__ import annotations

from typing import Any, Callable

from channels.email import Mailbox, build_email

from .config import Settings
from .messages import EMAIL, Message
from .render import EmailContent, Renderer


class CannotCompose(Exception):
    """The message cannot be made into something sendable (e.g. the address is gone)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: template name -> function adding attachments or headers to the rendered e-mail.
EmailExtra = Callable[[Message, EmailContent, Settings], EmailContent]
EMAIL_EXTRAS: dict[str, EmailExtra] = {}


class Composer:
    def __init__(self, settings: Settings, renderer: Renderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def context(self, message: Message) -> dict[str, Any]:
        return {**message.context, "message_id": message.id, "public_url": self.settings.public_url}

    def compose(self, message: Message) -> object:
        if message.channel == EMAIL:
            return self.email(message)
        raise CannotCompose(f"unknown-channel-{message.channel}")

    def email(self, message: Message):  # -> EmailMessage
        if not message.recipient.email:
            raise CannotCompose("no-email-address")
        content = self.renderer.email(message.template, message.language, self.context(message))
        extra = EMAIL_EXTRAS.get(message.template)
        if extra is not None:
            content = extra(message, content, self.settings)
        return build_email(
            content,
            to=Mailbox(message.recipient.name, message.recipient.email),
            sender=Mailbox(self.settings.mail_from_name, self.settings.mail_from),
            message_id=message.id,
        )
