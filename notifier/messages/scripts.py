"""Lua scripts called by SHA, and loaded again when Redis has lost them (`ShaScript`).

redis-py's `Script` (`register_script`) also loads a missing script, but in a pipeline it first
sends `SCRIPT EXISTS` for its scripts before every pipeline (`Pipeline.load_scripts`): one round
trip more, on paths that run for every webhook, every batch of sends and every read of the work
queue. `ShaScript` sends `EVALSHA` only; when Redis answers NOSCRIPT (restarted without its script
cache, or after `SCRIPT FLUSH`) it loads the script and runs the calls that failed again, so each
call runs exactly once and only that rare case costs a round trip more.

Not for MULTI/EXEC: an `EVALSHA` queued in a transaction fails only at EXEC, after the
transaction's other commands have run, and cannot be run again alone. A transaction queues a
redis-py `Script` instead (`MessageStore.move(..., pipe=pipe)`), which is loaded before the MULTI.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple, Sequence

from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError


class Call(NamedTuple):
    """A call queued into a pipeline by `ShaScript.queue`: where its reply is, and what it was."""

    position: int
    keys: Sequence[Any]
    args: Sequence[Any]


class ShaScript:
    """A Lua script and its SHA1 (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, client: Any, keys: Sequence[Any], args: Sequence[Any] = ()) -> Any:
        """Run the script now: on a client, or on a pipeline after its WATCH (where commands run at
        once, on the watched connection). NOSCRIPT: load it, and run it again."""
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(self.text)
            return await client.evalsha(self.sha, len(keys), *keys, *args)

    def queue(self, pipe: Pipeline, keys: Sequence[Any], args: Sequence[Any] = ()) -> Call:
        """Queue a call into a non-transactional pipeline, to be run by `execute`."""
        position = len(pipe)
        pipe.evalsha(self.sha, len(keys), *keys, *args)
        return Call(position, keys, args)

    async def execute(self, pipe: Pipeline, calls: Sequence[Call]) -> list[Any]:
        """`pipe.execute()` for a non-transactional pipeline holding `calls` (and other commands):
        the calls Redis answered NOSCRIPT are run again after loading the script, in one more
        round trip on the same pipeline. Raises the first error of any command, as `execute` does."""
        replies = await pipe.execute(raise_on_error=False)
        lost = [call for call in calls if isinstance(replies[call.position], NoScriptError)]
        if lost:
            pipe.script_load(self.text)
            for call in lost:
                pipe.evalsha(self.sha, len(call.keys), *call.keys, *call.args)
            again = await pipe.execute(raise_on_error=False)
            for call, reply in zip(lost, again[1:]):
                replies[call.position] = reply
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies
