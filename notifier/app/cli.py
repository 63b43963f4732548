"""`notifier` command line: run, web, worker, digest, announcement, check, callbacks, demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from notifier.app import eventloop
from notifier.app.config import ConfigError, Settings
from notifier.app.logging_setup import configure


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:  # exit 2: the configuration is wrong (the message names the setting)
        print(f"notifier: {exc}", file=sys.stderr)
        sys.exit(2)


def _need_redis(settings: Settings, command: str) -> None:
    if not settings.has_redis:
        sys.exit(f"notifier {command}: REDIS_URL is not set (use 'notifier run' for a single machine with embedded Redis)")


def cmd_run(args: argparse.Namespace) -> int:
    from notifier.app.local_secrets import local_settings
    from notifier.app.embedded_redis import EmbeddedRedis
    from notifier.app.serve import serve

    settings = _settings()
    configure(settings.log_level, settings.log_format)
    settings, notes = local_settings(settings)
    for note in notes:
        print(note, flush=True)
    embedded = None
    if not settings.has_redis:
        embedded = EmbeddedRedis(settings.data_dir)
        settings = settings.with_(redis_url=embedded.start())
        print(f"embedded Redis at {settings.redis_url} (data in {embedded.dir})", flush=True)
    try:
        eventloop.run(serve(settings, host=args.host, port=args.port))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from notifier.app.serve import serve

    settings = _settings()
    _need_redis(settings, "web")
    if not settings.webhook_secret:
        sys.exit("notifier web: NOTIFIER_WEBHOOK_SECRET is not set")
    configure(settings.log_level, settings.log_format)
    eventloop.run(serve(settings, host=args.host, port=args.port, with_worker=False))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from notifier.app.serve import serve

    settings = _settings()
    _need_redis(settings, "worker")
    configure(settings.log_level, settings.log_format)
    eventloop.run(serve(settings, with_web=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from notifier.demo.run import run_demo

    return run_demo(args.data_dir, keep_running=args.keep_running)


def cmd_announcement(args: argparse.Namespace) -> int:
    from notifier.staff.follow import follow_announcement

    settings = _settings()
    _need_redis(settings, "announcement")
    configure(settings.log_level, settings.log_format)
    return asyncio.run(follow_announcement(settings, args.id, args.wait, as_json=args.json))


def cmd_check(args: argparse.Namespace) -> int:
    from notifier.app.check import main as check

    return check(as_json=args.json, verbose=args.verbose, timeout=args.timeout)


def cmd_digest(args: argparse.Namespace) -> int:
    from notifier.staff.digest import run_by_hand
    from notifier.staff.planning import parse_week

    settings = _settings()
    _need_redis(settings, "digest")
    configure(settings.log_level, settings.log_format)
    week = None
    if args.week:
        week = parse_week(args.week)
        if week is None:
            sys.exit(f"notifier digest: --week must be an ISO week such as 2026-W49, not {args.week!r}")
    return asyncio.run(run_by_hand(settings, week, args.wait, as_json=args.json))


def cmd_callbacks(args: argparse.Namespace) -> int:
    """`notifier callbacks status|enable`: see, or lift, the stop a 410 Gone put on status callbacks."""
    from notifier.messages.callbacks import disabled_since, enable, pending
    from notifier.app.connection import redis_client

    settings = _settings()
    _need_redis(settings, "callbacks")

    async def go() -> int:
        redis = redis_client(settings)
        try:
            gone = await disabled_since(redis)
            waiting = await pending(redis)
            if args.action == "enable":
                was_off = await enable(redis)
                print("status callbacks enabled again" if was_off else "status callbacks were not disabled",
                      f"({waiting} subject(s) queued)")
                return 0
            if gone:
                print(f"disabled: {gone.get('url')} answered 410 Gone at {gone.get('at')} ({waiting} subject(s) queued)")
                return 1
            print(f"enabled ({waiting} subject(s) queued)")
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(go())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="web server and worker in one process (embedded Redis unless REDIS_URL)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("web", help="the web server alone (needs REDIS_URL)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("worker", help="a worker alone (needs REDIS_URL)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("digest", help="run the weekly digest now (needs REDIS_URL and a running worker)")
    p.add_argument("--week", help="ISO week to claim the digests under, e.g. 2026-W49 (default: this week)")
    p.add_argument("--wait", type=float, default=300, help="seconds to wait for the workers before reporting")
    p.add_argument("--json", action="store_true", help="print the run's report as JSON (no progress line)")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("announcement", help="follow an announcement's messages until they are out (needs REDIS_URL)")
    p.add_argument("id", help="the announcement's id (from POST /api/announcements)")
    p.add_argument("--wait", type=float, default=300, help="seconds to wait for the workers before reporting")
    p.add_argument("--json", action="store_true", help="print the report as JSON (no progress line)")
    p.set_defaults(func=cmd_announcement)

    p = sub.add_parser("check", help="check the configuration: Redis, SMTP, SMS gateway, secrets (exit 1 on a problem)")
    p.add_argument("--json", action="store_true", help="print every check as JSON, for scripts")
    p.add_argument("--verbose", "-v", action="store_true", help="print the checks that passed too")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each service")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("callbacks", help="status callbacks: `status`, or `enable` after the case system answered 410 Gone (needs REDIS_URL)")
    p.add_argument("action", choices=["status", "enable"])
    p.set_defaults(func=cmd_callbacks)

    p = sub.add_parser("demo", help="send sample events through a temporary service and show what went out")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--keep-running", action="store_true",
                   help="keep the service up after the demo (to try the coordinators' console) until Ctrl-C")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
