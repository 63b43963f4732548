"""What the digest e-mail carries beyond its text: the list headers (RFC 2369, RFC 8058).

Registered with `@email_extra` (`messages/extras.py`). Mail clients show an "unsubscribe" button for these and
POST `List-Unsubscribe=One-Click` to the URL without further questions; the URL is the person's
signed unsubscribe link, placed in the message's context by `planning_staff.plan_digest`.
"""

from __future__ import annotations

from dataclasses import replace

from notifier.app.config import Settings
from notifier.messages.model import Message
from notifier.messages.extras import email_extra
from notifier.messages.render import EmailContent


@email_extra("digest")
def digest_extras(message: Message, content: EmailContent, settings: Settings) -> EmailContent:
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    headers = {
        **content.headers,
        "List-Id": f"Practice changes <practice-changes.{domain}>",
        "List-Unsubscribe": f"<{message.context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "list",
    }
    return replace(content, headers=headers)
