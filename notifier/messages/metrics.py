"""Metrics: counters kept in Redis, shown in Prometheus' text format at `/metrics`.

Web processes and workers on any number of machines all write to the same Redis, so any web
process answers a scrape with the service's totals: no per-process registries to add up, no
multiprocess directory, nothing lost when a worker restarts. Counters are updated in the round
trips that make the change they count (the status-move script in `store.py`, the intake
transaction, the callback scripts); only the webhook answer counter costs a command of its own.
At scrape time a `prometheus_client` collector turns a snapshot of those hashes into metric
families (`metrics_scrape.py`, imported by the web only: a worker writes counters, it never
shows them).

Layout (prefix `notifier:metrics:`):
  messages    hash "<template>|<channel>|<status>" -> times a message entered that status
  send        hash "<channel>|<le>" -> sends that took at most `le` seconds (per bucket, not
              cumulative; `+Inf` for the rest), "<channel>|sum_us" -> total microseconds
  webhooks    hash "<endpoint>|<status>" -> answers given to webhooks in
  callbacks   hash "<type>|<outcome>" and "answer|<status>" (see `callbacks.py`)
"""

from __future__ import annotations

from notifier.messages.keys import CALLBACK_METRICS, METRIC_MESSAGES, METRIC_SEND, METRIC_WEBHOOKS

MESSAGES = METRIC_MESSAGES
SEND = METRIC_SEND
WEBHOOKS = METRIC_WEBHOOKS
CALLBACKS = CALLBACK_METRICS

#: Upper bounds (seconds) of the send-duration histogram: an SMTP hand-over takes milliseconds, a
#: Suomi.fi letter with its PDF upload a few seconds, a stuck provider up to the send timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def bucket_label(seconds: float) -> str:
    """The histogram bucket a send of `seconds` falls in (its upper bound as Prometheus writes it)."""
    for bound in BUCKETS:
        if seconds <= bound:
            return le_label(bound)
    return "+Inf"


def le_label(bound: float) -> str:
    return repr(float(bound))
