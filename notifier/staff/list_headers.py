"""What the digest e-mail carries beyond its text: the list headers (RFC 2369, RFC 8058).

Registered in `compose.EMAIL_EXTRAS`. Mail clients show an "unsubscribe" button for these and
POST `List-Unsubscribe=One-Click` to the URL without further questions; the URL is the person's
signed unsubscribe link, placed in the message's context by `planning_staff.plan_digest`.
"""

from __future__ import annotations

from dataclasses import replace

from notifier.app.config import Settings
from notifier.messages.model import Message
from notifier.messages.render import EmailContent


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
