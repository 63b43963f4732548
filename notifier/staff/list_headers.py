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


_LOOPBACK_NAMES = ("localhost",)


def unsubscribe_url_problem(settings: Settings) -> str | None:
    """RFC 8058 3.1: "The URI in the List-Unsubscribe header MUST be an HTTPS URI" for one-click
    unsubscription. With digests on, a `NOTIFIER_PUBLIC_URL` that is not https (loopback aside: a
    trial on one machine) makes every digest's one-click link non-conforming; mail providers may
    then ignore it. Returns what is wrong, or None."""
    import ipaddress
    from urllib.parse import urlsplit

    if settings.digest_schedule is None:
        return None
    parts = urlsplit(settings.public_url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https":
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host in _LOOPBACK_NAMES or host.endswith(".localhost")
    if loopback:
        return None
    return (f"NOTIFIER_PUBLIC_URL is {settings.public_url}: the digests' one-click List-Unsubscribe link must be "
            "https (RFC 8058); use an https URL or set NOTIFIER_DIGEST_SCHEDULE=off")


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
