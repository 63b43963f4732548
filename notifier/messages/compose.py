"""Composing: a stored message becomes what its channel carries (an e-mail, an SMS, a letter).

Rendering is in `render.py`; this module picks the recipient's address, the sender and any
per-template extras (calendar attachments, list headers; registered by their owners in
`extras.py`). The console's previews go through the same methods, so a preview is what is sent.
"""

from __future__ import annotations

from typing import Any

from channels.email import Mailbox, build_email
from channels.letter import Letter
from channels.sms import MAX_PARTS, OutgoingSms, count_parts

from notifier.app.config import Settings
from notifier.clock import utcnow
from notifier.messages.extras import extra_for
from notifier.messages.model import EMAIL, LETTER, SMS, SUOMIFI, Message, PlannedMessage
from notifier.messages.letters import compose_letter
from notifier.messages.render import EmailContent, Renderer


class CannotCompose(Exception):
    """The message cannot be made into something sendable (e.g. the address is gone)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Longest SMS we hand to a gateway; a longer body is a template bug, not something to send.
MAX_SMS_PARTS = MAX_PARTS


class Composer:
    def __init__(self, settings: Settings, renderer: Renderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def context(self, message: Message) -> dict[str, Any]:
        return {**message.context, "message_id": message.id, "public_url": self.settings.public_url}

    def compose(self, message: Message) -> object:
        if message.channel == EMAIL:
            return self.email(message)
        if message.channel == SMS:
            return self.sms(message)
        if message.channel in (LETTER, SUOMIFI):
            return self.letter(message)
        raise CannotCompose(f"unknown-channel-{message.channel}")

    def email(self, message: Message):  # -> EmailMessage
        if not message.recipient.email:
            raise CannotCompose("no-email-address")
        content = self.email_content(message)
        return build_email(
            content,
            to=Mailbox(message.recipient.name, message.recipient.email),
            sender=Mailbox(self.settings.mail_from_name, self.settings.mail_from),
            message_id=message.id,
        )

    def email_content(self, message: Message) -> EmailContent:
        """The rendered e-mail with its template's extras (what `email` sends, and previews show)."""
        content = self.renderer.email(message.template, message.language, self.context(message))
        extra = extra_for(message.template)
        return extra(message, content, self.settings) if extra is not None else content

    def sms_body(self, message: Message) -> tuple[str, str, int]:
        """The SMS text with its encoding and part count, as sent."""
        body = self.renderer.text(message.template, message.language, self.context(message))
        encoding, segments = count_parts(body)
        return body, encoding, segments

    def preview_email(self, planned: PlannedMessage) -> EmailContent:
        return self.email_content(preview_message(planned))

    def preview_sms(self, planned: PlannedMessage) -> tuple[str, str, int]:
        return self.sms_body(preview_message(planned))

    def sms(self, message: Message) -> OutgoingSms:
        """`templates/<lang>/<template>.txt` rendered as plain text to an E.164 number.

        The body is counted as it is sent: the encoding and part count travel with it.
        """
        if not message.recipient.phone:
            raise CannotCompose("no-phone-number")
        body, encoding, segments = self.sms_body(message)
        if segments > MAX_SMS_PARTS:
            raise CannotCompose("sms-too-long")
        return OutgoingSms(to=message.recipient.phone, sender=self.settings.sms_sender, body=body,
                           encoding=encoding, segments=segments)

    def letter(self, message: Message) -> Letter:
        """Any template as a letter (referral info letter, kickoff invitation, …): a PDF for the
        outbox needs a postal address; a Suomi.fi letter needs the personal identity code."""
        r = message.recipient
        if message.channel == LETTER and not r.address:
            raise CannotCompose("no-postal-address")
        if message.channel == SUOMIFI and not r.personal_id:
            raise CannotCompose("no-personal-id")
        return compose_letter(
            self.renderer, self.settings,
            message_id=message.id, template=message.template, language=message.language,
            context={**self.context(message), "as_letter": True},  # templates may leave out e-mail-only lines
            recipient={"name": r.name, "address": r.address, "personal_id": r.personal_id},
        )


def preview_message(planned: PlannedMessage) -> Message:
    """A planned message as the composer sees a stored one; nobody receives a preview."""
    return Message(id="preview", template=planned.template, channel=planned.channel,
                   language=planned.recipient.language, status="created", created_at=utcnow(),
                   recipient=planned.recipient, context=planned.context, refs=planned.refs)
