"""`/metrics`: a snapshot of the counters in Redis (layout: `metrics.py`) as Prometheus metric families.

Only the web imports this (and with it `prometheus_client`); workers write the counters and never
show them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from notifier.messages.keys import ACTIVE, CALLBACKS_DISABLED, CALLBACKS_DUE, TAKEOVERS, WORK_DUE, WORK_STREAM
from notifier.keyspace import PREFIX
from notifier.messages.metrics import BUCKETS, CALLBACKS, MESSAGES, SEND, WEBHOOKS, le_label

# Keys read at scrape time that other modules own.
DIGEST_RUNS = f"{PREFIX}digest:runs"  # `notifier.staff.keys.RUNS`; messages do not import staff


@dataclass
class Snapshot:
    """Everything a scrape shows, read from Redis in one pipeline."""

    messages: dict[str, int] = field(default_factory=dict)
    send: dict[str, float] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    queue_due: int = 0
    queue_scheduled: int = 0
    unsettled: int = 0
    callbacks_pending: int = 0
    callbacks_disabled: bool = False
    takeovers: int = 0
    digest_runs: int = 0
    digest_last_run: float | None = None


async def snapshot(redis: Redis) -> Snapshot:
    now_ms = int(time.time() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(MESSAGES)
        pipe.hgetall(SEND)
        pipe.hgetall(WEBHOOKS)
        pipe.hgetall(CALLBACKS)
        pipe.zcount(WORK_DUE, "-inf", now_ms)
        pipe.zcard(WORK_DUE)
        pipe.zcard(ACTIVE)
        pipe.zcard(CALLBACKS_DUE)
        pipe.get(TAKEOVERS)
        pipe.xlen(WORK_STREAM)
        pipe.zcard(DIGEST_RUNS)
        pipe.zrange(DIGEST_RUNS, -1, -1, withscores=True)
        pipe.exists(CALLBACKS_DISABLED)
        (messages, send, webhooks, callbacks, due_later, queued_later, unsettled, cb_pending, takeovers, stream, runs,
         last, cb_disabled) = await pipe.execute()
    # Due now: on the work stream (read or not yet), or in the due set with its time passed.
    due = int(stream) + int(due_later)
    queued = int(stream) + int(queued_later)

    def ints(h: dict[bytes, bytes]) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in h.items()}

    return Snapshot(
        messages=ints(messages), send={k.decode(): float(v) for k, v in send.items()}, webhooks=ints(webhooks),
        callbacks=ints(callbacks), queue_due=int(due), queue_scheduled=int(queued) - int(due),
        unsettled=int(unsettled), callbacks_pending=int(cb_pending), callbacks_disabled=bool(cb_disabled),
        takeovers=int(takeovers or 0),
        digest_runs=int(runs), digest_last_run=float(last[0][1]) / 1000 if last else None,
    )


class SnapshotCollector(Collector):
    """A custom collector over one snapshot: counters from Redis, exposed as metric families."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        messages = CounterMetricFamily(
            "notifier_messages", "Times a message entered a status, by template, channel and status.",
            labels=["template", "channel", "status"])
        for key, value in sorted(s.messages.items()):
            messages.add_metric(_split(key, 3), value)
        yield messages

        yield from _histograms(s.send)

        webhooks = CounterMetricFamily(
            "notifier_webhooks", "Answers given to webhooks in (case events, SMS delivery reports), by endpoint and HTTP status.",
            labels=["endpoint", "status"])
        for key, value in sorted(s.webhooks.items()):
            webhooks.add_metric(_split(key, 2), value)
        yield webhooks

        outcomes = CounterMetricFamily(
            "notifier_status_callbacks", "Status callbacks to the case system finished or retried, by event type and outcome "
            "(delivered, refused, expired, retried).", labels=["type", "outcome"])
        answers = CounterMetricFamily(
            "notifier_status_callback_answers", "Answers the case system gave to status callbacks, by HTTP status "
            "(or timeout / error-<kind>).", labels=["status"])
        for key, value in sorted(s.callbacks.items()):
            kind, _, rest = key.partition("|")
            if kind == "answer":
                answers.add_metric([rest], value)
            else:
                outcomes.add_metric([kind, rest], value)
        yield outcomes
        yield answers

        queue = GaugeMetricFamily("notifier_queue_jobs", "Jobs on the work queue: due now, or scheduled for later (retries, reminders).",
                                  labels=["state"])
        queue.add_metric(["due"], s.queue_due)
        queue.add_metric(["scheduled"], s.queue_scheduled)
        yield queue
        yield GaugeMetricFamily("notifier_messages_unsettled", "Messages not yet sent or final.", value=s.unsettled)
        yield GaugeMetricFamily("notifier_status_callbacks_pending", "Messages and other subjects with status callbacks still to post.",
                                value=s.callbacks_pending)
        yield GaugeMetricFamily("notifier_status_callbacks_disabled",
                                "1 while the case system's endpoint is disabled (it answered 410 Gone); callbacks wait "
                                "until `notifier callbacks enable`.", value=int(s.callbacks_disabled))
        yield CounterMetricFamily("notifier_send_takeovers", "Sends taken over from a worker that died mid-send.", value=s.takeovers)
        yield CounterMetricFamily("notifier_digest_runs", "Runs of the weekly digest (cron, CLI and API).", value=s.digest_runs)
        if s.digest_last_run is not None:
            yield GaugeMetricFamily("notifier_digest_last_run_timestamp_seconds", "When the latest digest run started (Unix time).",
                                    value=s.digest_last_run)


def _split(key: str, parts: int) -> list[str]:
    out = key.split("|", parts - 1)
    return out + [""] * (parts - len(out))


def _histograms(send: dict[str, float]) -> Iterable[Metric]:
    family = HistogramMetricFamily("notifier_send_duration_seconds", "How long handing a message to its channel took, by channel.",
                                   labels=["channel"])
    channels = sorted({k.split("|", 1)[0] for k in send})
    for channel in channels:
        cumulative = 0.0
        buckets = []
        for bound in BUCKETS:
            cumulative += send.get(f"{channel}|{le_label(bound)}", 0)
            buckets.append((le_label(bound), cumulative))
        cumulative += send.get(f"{channel}|+Inf", 0)
        buckets.append(("+Inf", cumulative))
        family.add_metric([channel], buckets, sum_value=send.get(f"{channel}|sum_us", 0.0) / 1_000_000)
    yield family


async def render(redis: Redis) -> bytes:
    """The `/metrics` body: a fresh registry per scrape, so nothing is kept between scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(await snapshot(redis)))
    return generate_latest(registry)
