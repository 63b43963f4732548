"""Sending one message: claim it, compose it, hand it to its channel, record what happened.

This is the only code that moves a message through `sending`. The claim is a compare-and-set
with a lease, so two workers never send the same message at once; a worker that dies mid-send
leaves a lease that runs out, after which the message is taken over (at-least-once delivery:
see README "Guarantees").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Mapping, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.base import Channel, PermanentFailure, TemporaryFailure
from notifier.messages.keys import SMS_REF_TTL_SECONDS, TAKEOVERS, sms_ref_key

from notifier.messages import status as st
from notifier.messages.compose import CannotCompose, Composer
from notifier.app.config import Settings
from notifier.messages.model import SMS
from notifier.messages.queue import add_job, deliver_job_id
from notifier.messages.rate_limit import RateLimiter
from notifier.messages.retry import next_attempt_at
from notifier.messages.model import Message
from notifier.messages.store import MessageStore, Transition
from notifier.clock import utcnow

log = logging.getLogger("notifier.delivery")
#: A send must be done this long before its lease runs out (time to write its status).
LEASE_MARGIN_SECONDS = 5.0
T = TypeVar("T")


@dataclass
class Deliverer:
    settings: Settings
    redis: Redis
    store: MessageStore
    composer: Composer
    channels: Mapping[str, Channel]
    limiter: RateLimiter | None = None

    async def _deliver_paced(self, message_ids: list[str]) -> list[str | BaseException]:
        """`deliver_many` when a channel has a rate: each message's slot comes before its claim (a
        send deferred for want of a slot stays claimable). Three round trips for the batch: the
        channels and statuses, each channel's slots at once (`RateLimiter.reserve_many`), the
        claims; then each send waits for its slot."""
        assert self.limiter is not None
        outcomes: list[str | BaseException | None] = [None] * len(message_ids)
        by_channel: dict[str, list[int]] = {}
        for i, head in enumerate(await self.store.heads(message_ids)):
            if head is None or head.status not in st.ALLOWED_FROM[st.SENDING]:
                outcomes[i] = f"skipped:{head.status if head else 'missing'}"
            else:
                by_channel.setdefault(head.channel, []).append(i)
        waits: dict[int, float] = {}
        deferred: dict[str, float] = {}
        for channel, positions in by_channel.items():
            for i, slot in zip(positions, await self.limiter.reserve_many(channel, len(positions))):
                if slot.reserved:
                    waits[i] = slot.wait_seconds
                else:
                    deferred[message_ids[i]] = slot.wait_seconds
                    outcomes[i] = "deferred"
        reserved_at = time.monotonic()
        if deferred:
            await self._defer(deferred)
        paced = sorted(waits)
        sent = await self._claim_and_send([message_ids[i] for i in paced], [reserved_at + waits[i] for i in paced])
        for i, outcome in zip(paced, sent):
            outcomes[i] = outcome
        return outcomes  # type: ignore[return-value]  # every one is set: skipped, deferred or sent

    def _deadline(self) -> float:
        """When a send claimed now must have finished (`time.monotonic()`): before its lease runs
        out, with time left to write its status. A send still waiting then (for the worker's SMTP
        connection, behind a batch of slow sends) is given up as a temporary failure instead of
        starting after another worker may have taken the message over. (arq's job timeout did this
        when sends were arq jobs.)"""
        return time.monotonic() + self.settings.lease_seconds - LEASE_MARGIN_SECONDS

    async def deliver_many(self, message_ids: list[str]) -> list[str | BaseException]:
        """Try to send each message once: the claims (and reads) of all of them in one round
        trip, then every send as its own task (an e-mail waits for the worker's one SMTP
        connection), each status written as soon as its send is done (which keeps the duplicate
        bound of README "Guarantees": a dead worker re-sends at most the sends it had in flight).
        With channel rates, the slots are reserved first (`_deliver_paced`).

        Per message: the status it ended in (or why it was skipped), or the exception that
        stopped it (a RedisError: the caller tries it again).
        """
        if not message_ids:
            return []
        if self.limiter is not None and self.limiter.rates:
            return await self._deliver_paced(message_ids)
        return await self._claim_and_send(message_ids, [0.0] * len(message_ids))

    async def _claim_and_send(self, message_ids: list[str], slots: list[float]) -> list[str | BaseException]:
        """Claim the messages in one round trip, then send each (no sooner than its slot, a
        `time.monotonic()`) as its own task, writing its status as soon as it is done."""
        if not message_ids:
            return []
        now = utcnow()
        tokens = [secrets.token_hex(8) for _ in message_ids]
        deadline = self._deadline()
        claims = await self.store.claim_many(
            message_ids, now=now, lease_until=now + timedelta(seconds=self.settings.lease_seconds), lease_tokens=tokens)

        async def one(message_id: str, token: str, claim: Transition, message: Message | None, slot: float) -> str:
            if message is None:
                log.debug("message %s not claimable (status %s)", message_id, claim.previous or "missing")
                return f"skipped:{claim.previous or 'missing'}"
            if slot > time.monotonic():  # its channel's rate: wait for its slot (at most `max_wait`)
                await asyncio.sleep(slot - time.monotonic())
            return await self._send(message, token, claim, deadline)

        return list(await asyncio.gather(
            *(one(i, t, c, m, w) for i, t, (c, m), w in zip(message_ids, tokens, claims, slots)),
            return_exceptions=True))

    async def _send(self, message: Message, token: str, claim: Transition, deadline: float) -> str:
        """Send a message this worker has claimed (lease `token`) by `deadline` and record the outcome."""
        message_id = message.id
        if claim.previous == st.SENDING:
            log.warning("message %s taken over from a worker whose lease ran out", message_id)
            await self.redis.incr(TAKEOVERS)
        channel = self.channels.get(message.channel)
        started: float | None = None  # for the send-duration histogram (README "Metrics")
        try:
            if channel is None:
                raise CannotCompose(f"channel-not-configured-{message.channel}")
            payload = self.composer.compose(message)
            started = time.monotonic()
            try:
                async with asyncio.timeout(max(deadline - started, 0.001)):
                    provider_ref = await channel.send(message.id, payload)
            except TimeoutError:
                raise TemporaryFailure("lease-ran-out") from None
        except TemporaryFailure as exc:
            due, reason = max(message.created_at, message.send_at or message.created_at), exc.reason
            return await self._persist(lambda: self._temporary(
                message.id, due, message.attempts, reason, token, _since(started)))
        except PermanentFailure as exc:
            reason = exc.reason
            await self._persist(lambda: self.store.move(message.id, st.PERMANENT_FAILURE, reason, lease_token=token,
                                                        send_seconds=_since(started)))
            return st.PERMANENT_FAILURE
        except CannotCompose as exc:
            await self.store.move(message.id, st.TECHNICAL_FAILURE, exc.reason, lease_token=token)
            return st.TECHNICAL_FAILURE
        except Exception as exc:  # a bug in rendering or a channel: never retry blindly
            log.exception("message %s failed unexpectedly (%s)", message.id, type(exc).__name__)
            await self.store.move(message.id, st.TECHNICAL_FAILURE, f"error-{type(exc).__name__}", lease_token=token)
            return st.TECHNICAL_FAILURE
        await self._persist(lambda: self.store.move(message.id, st.SENT, provider_ref=provider_ref or "",
                                                    lease_token=token, send_seconds=_since(started)))
        if provider_ref and message.channel == SMS:
            # Delivery reports without our userref are matched on the gateway's id (web/sms_status.py).
            with contextlib.suppress(RedisError):
                await self.redis.set(sms_ref_key(provider_ref), message.id, ex=SMS_REF_TTL_SECONDS)
        return st.SENT

    async def _persist(self, write: Callable[[], Awaitable[T]]) -> T:
        """Write the outcome of a send that has happened, riding out a short Redis outage.

        Once a channel has accepted a message, losing the status write would have the message
        taken over and sent again when its lease runs out; so the write is retried (same lease
        token) for as long as the lease lasts, rather than handed back to arq as a failed job.
        """
        delay = 0.1
        deadline = time.monotonic() + self.settings.lease_seconds - self.settings.send_timeout_seconds
        while True:
            try:
                return await write()
            except RedisError:
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _temporary(self, message_id: str, due_at: datetime, attempts: int, reason: str, token: str,
                         send_seconds: float | None = None) -> str:
        """Queue the next try, within the retry window counted from when the message was due
        (a reminder created days ahead still gets its full window)."""
        now = utcnow()
        s = self.settings
        retry_at = next_attempt_at(
            attempts, due_at, now,
            base=s.retry_base_seconds, cap=s.retry_max_seconds, window=s.retry_window_seconds,
        )
        if retry_at is None:
            await self.store.move(message_id, st.TECHNICAL_FAILURE, f"retries-exhausted:{reason}", lease_token=token,
                                  send_seconds=send_seconds)
            return st.TECHNICAL_FAILURE
        # The status change and the retry job are written together: a retry is never lost.
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.store.move(message_id, st.TEMPORARY_FAILURE, reason, now=now, lease_token=token, pipe=pipe,
                                  next_due=retry_at, send_seconds=send_seconds)
            add_job(pipe, "deliver", message_id, job_id=deliver_job_id(message_id, attempts), now=now, run_at=retry_at)
            self.store.log_executed(pipe, await pipe.execute())
        log.debug("message %s retry at %s", message_id, retry_at.isoformat())
        return st.TEMPORARY_FAILURE

    async def _defer(self, deferred: dict[str, float]) -> None:
        """These messages' channel rate is used up for a while (message id: seconds until its
        slot): each is queued again for when its slot comes, all in one transaction."""
        now = utcnow()
        async with self.redis.pipeline(transaction=True) as pipe:
            for message_id, wait in deferred.items():
                log.debug("message %s deferred %.1f s for its channel's rate", message_id, wait)
                at = now + timedelta(seconds=wait)
                add_job(pipe, "deliver", message_id, job_id=f"deliver:{message_id}:rate:{int(at.timestamp() * 1000)}",
                        now=now, run_at=at)
            await pipe.execute()


def _since(started: float | None) -> float | None:
    """Seconds since `started` (a `time.monotonic()`), or None when the channel was never called."""
    return None if started is None else time.monotonic() - started
