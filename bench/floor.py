"""`python -m bench.floor`: what the libraries alone cost per referral e-mail on this machine.

Issue 18 asks for 2.0 ms of service CPU per referral e-mail. This measures the floor under that
figure: the same libraries, process layout, Redis (over its Unix socket) and load as the
referral burst of `python -m bench`, doing only the I/O a referral needs and none of the
service's own work:

- **web**: aiohttp (on uvloop) takes the POST of a webhook body (64 in flight, the same bodies
  and load generator as the burst), parses it (msgspec), makes the intake's three Redis round
  trips through redis-py (WATCH; one script reading the idempotency key and a state hash; MULTI
  with the message's HSET, the work item's XADD and the answer's SET, EXEC) and answers 202 with
  JSON. No signature, contract, decision, sealing or logging.
- **worker**: aiosmtplib sends an e-mail of a referral's size (a real referral, rendered and
  built once) over one kept connection to the benchmark's SMTP sink, then one Redis round trip
  (the status write, a script by SHA). No read of the queue, no claim, no composing.

Each is also measured without Redis (the web answering at once; the sender's SMTP alone), to
show what the HTTP server and the SMTP client cost by themselves.

Reported: CPU time (user + system) of the web, the sender and Redis over each phase, divided by
the messages; the sink and the load generator are not counted, as in the benchmark. The service
can cost no less than this floor, whatever its own code does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from notifier.app.embedded_redis import EmbeddedRedis, free_port

from bench.procs import Proc, http_ok, port_open, wait_until
from bench.rig import cpu_time, outside_env, save_result

N_WEBHOOKS = 5000
N_EMAILS = 5000
IN_FLIGHT = 64

_PREFETCH = """
local out = {redis.call('GET', KEYS[1])}
out[2] = redis.call('HGETALL', KEYS[2])
return out
"""
_STATUS = "return redis.call('HSET', KEYS[1], 'status', ARGV[1], 'sent_at', ARGV[2])"


# -- the floor web process ------------------------------------------------------------------------

async def _serve(port: int, redis_url: str) -> None:
    import msgspec
    from aiohttp import web

    from notifier.app.config import Settings
    from notifier.app.connection import redis_client

    redis = redis_client(Settings(redis_url=redis_url))
    prefetch = await redis.script_load(_PREFETCH)
    blob = b"x" * 900  # a sealed message's size

    async def hook(request: web.Request) -> web.Response:
        body = msgspec.json.decode(await request.read())
        client = body["data"]["client"]["id"]
        idem, state = f"floor:idem:{request.headers['webhook-id']}", f"floor:state:{client}"
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.watch(idem, state)
            await pipe.evalsha(prefetch, 2, idem, state)
            pipe.multi()
            message_id = f"floor-{time.monotonic_ns()}"
            pipe.hset(f"floor:msg:{message_id}", mapping={"status": "created", "data": blob, "channel": "email"})
            pipe.xadd("floor:work", {"j": message_id})
            pipe.set(idem, message_id, ex=3600)
            await pipe.execute()
        return web.json_response({"messages": [message_id]}, status=202)

    async def plain(request: web.Request) -> web.Response:  # the HTTP part alone
        msgspec.json.decode(await request.read())
        return web.json_response({"messages": [f"floor-{time.monotonic_ns()}"]}, status=202)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/plain", plain)
    app.router.add_get("/healthz", lambda r: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# -- the floor sender process ---------------------------------------------------------------------

def referral_email() -> tuple[str, str, bytes]:
    """A real referral e-mail, rendered and built once: (sender, recipient, bytes on the wire)."""
    from channels.email import Mailbox, build_email, wire_bytes
    from notifier.app.config import Settings
    from notifier.messages.render import Renderer
    from notifier.resources import LOCALE_DIR, TEMPLATE_DIR

    from bench.scenarios import REFERRAL_CONTEXT

    settings = Settings()
    content = Renderer(TEMPLATE_DIR, LOCALE_DIR, settings.timezone).email("referral", "fi", REFERRAL_CONTEXT)
    sender, to = Mailbox("Työllisyyspalvelut", "notifier@example.fi"), Mailbox("Matti Meikäläinen", "matti@example.fi")
    msg = build_email(content, to=to, sender=sender, message_id="floor-0")
    return sender.address, to.address, wire_bytes(msg)


async def _send(smtp_port: int, redis_url: str, n: int) -> None:
    import aiosmtplib

    from channels.email import transaction
    from notifier.app.config import Settings
    from notifier.app.connection import redis_client

    sender, recipient, data = referral_email()
    redis = redis_client(Settings(redis_url=redis_url))
    status = await redis.script_load(_STATUS)
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_port, timeout=60)
    await smtp.connect()
    await smtp.ehlo()
    began = time.process_time()
    for i in range(n):  # the SMTP conversation alone
        await transaction(smtp, sender, [recipient], data)
    smtp_only = time.process_time() - began
    began = time.process_time()
    for i in range(n):  # and the status write after each
        await transaction(smtp, sender, [recipient], data)
        await redis.evalsha(status, 1, f"floor:msg:{i}", "sent", str(time.time()))
    used = time.process_time() - began
    await smtp.quit()
    print(json.dumps({"cpu_seconds": used, "smtp_only_cpu_seconds": smtp_only, "bytes": len(data)}), flush=True)


# -- the measurement ------------------------------------------------------------------------------

async def _webhooks(url: str, n: int) -> None:
    from bench.scenarios import post_webhooks, referral_event

    bodies = [referral_event(i) for i in range(n)]
    _latencies, ids, failures = await post_webhooks(url, bodies, IN_FLIGHT)
    if failures or len(ids) != n:
        raise RuntimeError(f"floor web answered {len(failures)} failures")


def measure(webhooks: int, emails: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="notifier-floor-") as tmp:
        folder = Path(tmp)
        redis = EmbeddedRedis(folder / "redis-data")
        redis.start()
        procs: list[Proc] = []
        try:
            assert redis.process is not None
            redis_proc = psutil.Process(redis.process.pid)
            smtp_port, web_port = free_port(), free_port()
            procs.append(Proc("smtp-sink", [sys.executable, "-m", "bench.standins", "smtp", "--port", str(smtp_port)],
                              outside_env(), folder / "smtp.log").start())
            web = Proc("floor-web", [sys.executable, "-m", "bench.floor", "serve", "--port", str(web_port),
                                     "--redis", redis.url], outside_env(), folder / "web.log").start()
            procs.append(web)
            wait_until(lambda: port_open(smtp_port), 20, "SMTP sink")
            wait_until(lambda: http_ok(f"http://127.0.0.1:{web_port}/healthz"), 20, "floor web")
            web_proc = psutil.Process(web.pid)

            before_plain = cpu_time(web_proc)
            asyncio.run(_webhooks(f"http://127.0.0.1:{web_port}/plain", webhooks))
            http_ms = (cpu_time(web_proc) - before_plain) * 1000 / webhooks
            before = (cpu_time(web_proc), cpu_time(redis_proc))
            began = time.process_time()
            asyncio.run(_webhooks(f"http://127.0.0.1:{web_port}/hook", webhooks))
            load_ms = (time.process_time() - began) * 1000 / webhooks
            web_ms = (cpu_time(web_proc) - before[0]) * 1000 / webhooks
            web_redis_ms = (cpu_time(redis_proc) - before[1]) * 1000 / webhooks

            before_redis = cpu_time(redis_proc)
            out = Proc("floor-sender", [sys.executable, "-m", "bench.floor", "send", "--smtp-port", str(smtp_port),
                                        "--redis", redis.url, "-n", str(emails)], outside_env(), folder / "sender.log").start()
            assert out.popen is not None
            out.popen.wait(timeout=600)
            sent = json.loads((folder / "sender.log").read_text().strip().splitlines()[-1])
            sender_ms = sent["cpu_seconds"] * 1000 / emails
            smtp_ms = sent["smtp_only_cpu_seconds"] * 1000 / emails
            sender_redis_ms = (cpu_time(redis_proc) - before_redis) * 1000 / emails  # the status writes
        finally:
            for p in procs:
                p.stop()
            redis.stop()
    total = web_ms + web_redis_ms + sender_ms + sender_redis_ms
    return {
        "webhooks": webhooks, "emails": emails, "email_bytes": sent["bytes"],
        "ms_per_referral": {"web": round(web_ms, 2), "redis_for_web": round(web_redis_ms, 2),
                            "sender": round(sender_ms, 2), "redis_for_sender": round(sender_redis_ms, 2),
                            "total": round(total, 2)},
        "parts_ms": {"web_http_only": round(http_ms, 2), "sender_smtp_only": round(smtp_ms, 2)},
        # Not the service's: what the benchmark's load generator spends per webhook (signing, posting).
        "load_generator_ms_per_webhook": round(load_ms, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) the floor web process")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--redis", required=True)
    send = sub.add_parser("send", help="(internal) the floor sender process")
    send.add_argument("--smtp-port", type=int, required=True)
    send.add_argument("--redis", required=True)
    send.add_argument("-n", type=int, required=True)
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    parser.add_argument("--out", type=Path, default=None, help="result file (default bench/results/<date>-floor.json)")
    args = parser.parse_args(argv)
    from notifier.app.eventloop import run

    if args.command == "serve":
        run(_serve(args.port, args.redis))
        return 0
    if args.command == "send":
        run(_send(args.smtp_port, args.redis, args.n))
        return 0
    scale = 10 if args.quick else 1
    result = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              **measure(N_WEBHOOKS // scale, N_EMAILS // scale)}
    ms = result["ms_per_referral"]
    print(f"floor per referral e-mail: {ms['total']} ms (web {ms['web']} + Redis {ms['redis_for_web']}; "
          f"sender {ms['sender']} + Redis {ms['redis_for_sender']}); e-mail of {result['email_bytes']} bytes")
    parts = result["parts_ms"]
    print(f"  of which: aiohttp without Redis {parts['web_http_only']} ms per webhook; "
          f"aiosmtplib without Redis {parts['sender_smtp_only']} ms per e-mail")
    print(f"  (the load generator: {result['load_generator_ms_per_webhook']} ms per webhook)")
    out = save_result(result, f"{datetime.now().date().isoformat()}-floor{'-quick' if args.quick else ''}", args.out)
    print(f"floor: results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
