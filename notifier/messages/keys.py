"""Redis key layout of `notifier.messages`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


def msg_key(message_id: str) -> str:
    return f"{PREFIX}msg:{message_id}"


def history_key(message_id: str) -> str:
    return f"{PREFIX}msg:{message_id}:history"


def index_key(ref: str, value: str) -> str:
    return f"{PREFIX}idx:{ref}:{value}"


ACTIVE = f"{PREFIX}active"


SETTLED = f"{PREFIX}settled"


#: Messages to clients by when they were due to go out: the contact log's export (`contacts.py`).
CONTACT_MESSAGES = f"{PREFIX}contacts:messages"


CALLS = f"{PREFIX}contacts:calls"


def client_calls_key(client_id: str) -> str:
    return f"{PREFIX}contacts:calls:{client_id}"


def idempotency_key(scope: str, key: str) -> str:
    return f"{PREFIX}idem:{scope}:{key}"


CONTINUATION_KEY = f"{PREFIX}suomifi:events:continuation"


POLL_LOCK_KEY = f"{PREFIX}suomifi:events:lock"


CALLBACKS_DUE = f"{PREFIX}callbacks:due"
CALLBACK_TRIES = f"{PREFIX}callbacks:tries"
#: Hash (url, at, answer) set when the endpoint answered 410 Gone: nothing is posted while it exists.
CALLBACKS_DISABLED = f"{PREFIX}callbacks:disabled"
CALLBACK_QUEUE_PREFIX = f"{PREFIX}callbacks:q:"
#: Counters of posted callbacks (`notifier_status_callbacks_total`, `..._answers_total`).
CALLBACK_METRICS = f"{PREFIX}metrics:callbacks"
#: Worker leases taken over from dead workers.
TAKEOVERS = f"{PREFIX}stats:takeovers"


def rate_key(channel: str) -> str:
    return f"{PREFIX}rate:{channel}"

METRIC_MESSAGES = f"{PREFIX}metrics:messages"
METRIC_SEND = f"{PREFIX}metrics:send"
METRIC_WEBHOOKS = f"{PREFIX}metrics:webhooks"

#: Where the gateway's message id leads to ours (Redis key, kept 7 days), so that a delivery report
#: without our `userref` can still be matched (`notifier/web/sms_reports.py`).
SMS_REF_TTL_SECONDS = 7 * 86400


def sms_ref_key(gateway_id: str) -> str:
    return f"{PREFIX}sms:ref:{gateway_id}"

#: The work queue (`queue.py`): a stream of work due now, read by the workers' consumer group,
#: and a sorted set of work due later (retries, `send_at`, rate-limited sends) by due time.
WORK_STREAM = f"{PREFIX}work"
WORK_DUE = f"{PREFIX}work:due"
WORK_GROUP = "workers"
