"""Stand-in providers run as their own processes: an SMTP sink and an SMS gateway.

    python -m bench.standins smtp --port 2525 --record /tmp/smtp.jsonl
    python -m bench.standins gateway --port 8025 --record /tmp/sms.jsonl
    python -m bench.standins smtp --port 2525 --control-port 2526

Each keeps every arrival (its time and the message's id) in memory and, with `--record`, also
writes one JSON line per message it accepts, so that the fault tests can count arrivals and
duplicates from another process. With `--control-port` (the gateway serves it on its own port),
the benchmark reads the arrivals over HTTP instead, which is much cheaper than re-reading a file
of 10,000 lines while it waits:

    GET /_bench/count              {"count": n}
    GET /_bench/arrivals?from=i    {"arrivals": [[t, id], ...]} from the i-th arrival on

The sinks do as little per message as they can (no MIME parsing: the Message-ID header is found
with one search of the header block), because they share the machine's cores with the service
they measure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from pathlib import Path
from typing import Any, TextIO

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


def message_id_of(content: bytes) -> str:
    """The Message-ID header's value, read from the header block only."""
    end = content.find(b"\r\n\r\n")
    head = content if end < 0 else content[:end]
    m = _MESSAGE_ID.search(head)
    return m.group(1).strip().decode("ascii", "replace") if m else ""


class Arrivals:
    """Every message accepted, in order, as (time, id); optionally mirrored to a JSON-lines file."""

    def __init__(self, record: Path | None, id_field: str) -> None:
        self.items: list[tuple[float, str]] = []
        self.id_field = id_field
        self.file: TextIO | None = record.open("a", buffering=1) if record else None

    def add(self, t: float, ident: str, **extra: Any) -> None:
        self.items.append((t, ident))
        if self.file is not None:
            self.file.write(json.dumps({"t": t, self.id_field: ident, **extra}) + "\n")


class SmtpRecordingHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.arrivals.add(time.time(), message_id_of(content), to=len(envelope.rcpt_tos))
        return "250 OK"


class DistantRelayHandler(SmtpRecordingHandler):
    """The sink as a relay `delay` seconds away: MAIL, RCPT and DATA are answered after waiting that
    long (`--delay-ms`), as a sender sees a round trip to a relay across a network. (The message
    after DATA's 354 is not delayed again: aiosmtpd answers 354 itself.)"""

    def __init__(self, arrivals: Arrivals, delay: float) -> None:
        super().__init__(arrivals)
        self.delay = delay

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def control_routes(app: Any, arrivals: Arrivals) -> None:
    from aiohttp import web

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"count": len(arrivals.items)})

    async def listing(request: web.Request) -> web.Response:
        start = int(request.query.get("from", "0"))
        return web.json_response({"arrivals": arrivals.items[start:]})

    app.router.add_get("/_bench/count", count)
    app.router.add_get("/_bench/arrivals", listing)


async def _serve_http(app: Any, port: int) -> Any:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _smtp(port: int, record: Path | None, control_port: int | None, delay: float = 0.0) -> None:
    from aiohttp import web
    from aiosmtpd.smtp import SMTP

    arrivals = Arrivals(record, "message_id")
    handler = DistantRelayHandler(arrivals, delay) if delay > 0 else SmtpRecordingHandler(arrivals)
    loop = asyncio.get_running_loop()
    # The SMTP server runs in this process's event loop (not aiosmtpd's Controller thread), so the
    # control endpoint and the sink share one thread and nothing contends for the GIL.
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.localhost", loop=loop), "127.0.0.1", port)
    runner = None
    if control_port:
        app = web.Application()
        control_routes(app, arrivals)
        runner = await _serve_http(app, control_port)
    try:
        await _until_signal()
    finally:
        server.close()
        await server.wait_closed()
        if runner is not None:
            await runner.cleanup()


async def _gateway(port: int, record: Path | None, control_port: int | None) -> None:
    from aiohttp import web

    arrivals = Arrivals(record, "userref")

    async def mtsms(request: web.Request) -> web.Response:
        body = await request.json()
        now = time.time()
        ids = []
        for r in body.get("recipients", []):
            ids.append(len(arrivals.items) + 1)
            arrivals.add(now, str(body.get("userref")), msisdn=r.get("msisdn"))
        return web.json_response({"ids": ids})

    app = web.Application()
    app.router.add_post("/rest/mtsms", mtsms)
    control_routes(app, arrivals)
    runner = await _serve_http(app, port)
    extra = None
    if control_port:
        control = web.Application()
        control_routes(control, arrivals)
        extra = await _serve_http(control, control_port)
    try:
        await _until_signal()
    finally:
        await runner.cleanup()
        if extra is not None:
            await extra.cleanup()


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.standins")
    parser.add_argument("kind", choices=["smtp", "gateway"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, default=None, help="also write one JSON line per arrival here")
    parser.add_argument("--control-port", type=int, default=None, help="serve /_bench/count and /_bench/arrivals here")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="smtp: answer MAIL, RCPT and DATA this much later (a relay across a network)")
    args = parser.parse_args()
    if args.kind == "smtp":
        asyncio.run(_smtp(args.port, args.record, args.control_port, args.delay_ms / 1000))
    else:
        asyncio.run(_gateway(args.port, args.record, args.control_port))


if __name__ == "__main__":
    main()
