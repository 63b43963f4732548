"""Sending one message: claim it, compose it, hand it to its channel, record what happened.

This is the only code that moves a message through `sending`. The claim is a compare-and-set
with a lease, so two workers never send the same message at once; a worker that dies mid-send
leaves a lease that runs out, after which the message is taken over (at-least-once delivery:
see README "Guarantees").
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

from redis.asyncio import Redis

from channels.base import Channel, PermanentFailure, TemporaryFailure

from . import status as st
from .compose import CannotCompose, Composer
from .config import Settings
from .queue import add_job, deliver_job_id
from .retry import next_attempt_at
from .store import MessageStore, utcnow

log = logging.getLogger("notifier.delivery")


@dataclass
class Deliverer:
    settings: Settings
    redis: Redis
    store: MessageStore
    composer: Composer
    channels: Mapping[str, Channel]

    async def deliver(self, message_id: str) -> str:
        """Try to send `message_id` once; returns the status it ended in (or why it was skipped)."""
        now = utcnow()
        token = secrets.token_hex(8)
        claim = await self.store.move(
            message_id, st.SENDING, now=now,
            lease_until=now + timedelta(seconds=self.settings.lease_seconds), lease_token=token,
        )
        if claim is None or not claim.moved:
            log.debug("message %s not claimable (status %s)", message_id, claim.previous if claim else "?")
            return f"skipped:{claim.previous if claim else ''}"
        if claim.previous == st.SENDING:
            log.warning("message %s taken over from a worker whose lease ran out", message_id)
            await self.redis.incr("notifier:stats:takeovers")

        message = await self.store.get(message_id)
        assert message is not None
        channel = self.channels.get(message.channel)
        try:
            if channel is None:
                raise CannotCompose(f"channel-not-configured-{message.channel}")
            payload = self.composer.compose(message)
            provider_ref = await channel.send(message.id, payload)
        except TemporaryFailure as exc:
            return await self._temporary(message.id, message.created_at, message.attempts, exc.reason, token)
        except PermanentFailure as exc:
            await self.store.move(message.id, st.PERMANENT_FAILURE, exc.reason, lease_token=token)
            self._log(message, st.PERMANENT_FAILURE, exc.reason)
            return st.PERMANENT_FAILURE
        except CannotCompose as exc:
            await self.store.move(message.id, st.TECHNICAL_FAILURE, exc.reason, lease_token=token)
            self._log(message, st.TECHNICAL_FAILURE, exc.reason)
            return st.TECHNICAL_FAILURE
        except Exception as exc:  # a bug in rendering or a channel: never retry blindly
            log.exception("message %s failed unexpectedly (%s)", message.id, type(exc).__name__)
            await self.store.move(message.id, st.TECHNICAL_FAILURE, f"error-{type(exc).__name__}", lease_token=token)
            return st.TECHNICAL_FAILURE
        await self.store.move(message.id, st.SENT, provider_ref=provider_ref or "", lease_token=token)
        self._log(message, st.SENT, "")
        return st.SENT

    async def _temporary(self, message_id: str, created_at, attempts: int, reason: str, token: str) -> str:
        now = utcnow()
        s = self.settings
        retry_at = next_attempt_at(
            attempts, created_at, now,
            base=s.retry_base_seconds, cap=s.retry_max_seconds, window=s.retry_window_seconds,
        )
        if retry_at is None:
            await self.store.move(message_id, st.TECHNICAL_FAILURE, f"retries-exhausted:{reason}", lease_token=token)
            log.info("message %s technical-failure after %d attempts (%s)", message_id, attempts, reason)
            return st.TECHNICAL_FAILURE
        # The status change and the retry job are written together: a retry is never lost.
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.store.move(message_id, st.TEMPORARY_FAILURE, reason, now=now, lease_token=token, pipe=pipe)
            add_job(pipe, "deliver", message_id, job_id=deliver_job_id(message_id, attempts), now=now, run_at=retry_at)
            await pipe.execute()
        log.info("message %s temporary-failure (%s), retry at %s", message_id, reason, retry_at.isoformat())
        return st.TEMPORARY_FAILURE

    @staticmethod
    def _log(message, status: str, reason: str) -> None:
        log.info(
            "message %s %s template=%s channel=%s%s",
            message.id, status, message.template, message.channel, f" reason={reason}" if reason else "",
        )
