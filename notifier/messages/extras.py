"""What some e-mails carry beyond their rendered text (a calendar file, list headers): a registry
that the templates' owners fill in, so the core never lists other domains' templates.

A domain decorates its function with `@email_extra("template-name")`; `notifier.app.runtime`
imports those domains before it builds the one `Composer`, so sends and previews see the same
extras.
"""

from __future__ import annotations

from typing import Callable

from notifier.app.config import Settings
from notifier.messages.model import Message
from notifier.messages.render import EmailContent

EmailExtra = Callable[[Message, EmailContent, Settings], EmailContent]

_EMAIL_EXTRAS: dict[str, EmailExtra] = {}


def email_extra(*templates: str) -> Callable[[EmailExtra], EmailExtra]:
    def register(fn: EmailExtra) -> EmailExtra:
        for template in templates:
            if _EMAIL_EXTRAS.get(template, fn) is not fn:
                raise ValueError(f"template {template!r} already has an e-mail extra")
            _EMAIL_EXTRAS[template] = fn
        return fn

    return register


def extra_for(template: str) -> EmailExtra | None:
    return _EMAIL_EXTRAS.get(template)
