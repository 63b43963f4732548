"""`notifier` command line: run, web, worker, digest, announcement, check, callbacks, reseal, secrets, demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

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


def _refuse_unsafe_start(settings: Settings, command: str) -> None:
    """`web`/`worker` start only safe: a data key, separate tokens (or NOTIFIER_SINGLE_TOKEN=on), and
    nothing `notifier check` calls a FAIL among the secrets. One line per problem, exit status 2."""
    from notifier.app.check import start_up_problems

    if not settings.data_keys:
        print(f"notifier {command}: NOTIFIER_DATA_KEY is not set: personal data would be stored unencrypted",
              file=sys.stderr, flush=True)
        raise SystemExit(2)
    problems = start_up_problems(settings)
    for finding in problems:
        print(f"notifier {command}: {finding.detail}", file=sys.stderr, flush=True)
    if problems:
        raise SystemExit(2)


def _serve(settings: Settings, command: str, **kw: object) -> None:
    """Serve until a signal; a data key that cannot open the stored data ends it in one line."""
    from notifier.app.key_canary import DataKeyMismatch

    from notifier.app.serve import serve

    try:
        eventloop.run(serve(settings, **kw))  # type: ignore[arg-type]
    except DataKeyMismatch as exc:
        sys.exit(f"notifier {command}: {exc}")


def cmd_secrets(args: argparse.Namespace) -> int:
    """A fresh, complete set of secrets as NAME=value lines (for an env file or a secret store)."""
    from notifier.app.secret_formats import fresh_secrets

    print("# notifier secrets: give every web and worker process this same set (keep it secret)")
    for name, value in fresh_secrets().items():
        print(f"{name}={value}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from notifier.app.local_secrets import local_settings, redis_password
    from notifier.app.embedded_redis import EmbeddedRedis

    settings = _settings()
    configure(settings.log_level, settings.log_format)
    settings, notes = local_settings(settings)
    for note in notes:
        print(note, flush=True)
    embedded = None
    if not settings.has_redis:
        embedded = EmbeddedRedis(settings.data_dir, password=redis_password(settings.data_dir))
        settings = settings.with_(redis_url=embedded.start())
        where = f"{embedded.socket} and " if embedded.socket else ""
        print(f"embedded Redis at {where}127.0.0.1:{embedded.port} (data in {embedded.dir}; "
              f"its password is in {settings.data_dir / 'redis-password'})", flush=True)
    try:
        _serve(settings, "run", host=args.host, port=args.port)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    settings = _settings()
    _need_redis(settings, "web")
    _refuse_unsafe_start(settings, "web")
    configure(settings.log_level, settings.log_format)
    _serve(settings, "web", host=args.host, port=args.port, with_worker=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    _need_redis(settings, "worker")
    _refuse_unsafe_start(settings, "worker")
    configure(settings.log_level, settings.log_format)
    _serve(settings, "worker", with_web=False)
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


def cmd_reseal(args: argparse.Namespace) -> int:
    from notifier.app.reseal import main as reseal

    settings = _settings()
    configure(settings.log_level, settings.log_format)
    return reseal(settings, batch=args.batch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kw: Any) -> argparse.ArgumentParser:
        # Every option's help states its default ("(default: %(default)s)" where there is one).
        return sub.add_parser(name, **kw)

    p = add("run", help="web server and worker in one process (embedded Redis unless REDIS_URL)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback: one machine) (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    p.set_defaults(func=cmd_run)

    p = add("web", help="the web server alone (needs REDIS_URL)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 behind a load balancer or in a container (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    p.set_defaults(func=cmd_web)

    p = add("worker", help="a worker alone (needs REDIS_URL)")
    p.set_defaults(func=cmd_worker)

    p = add("digest", help="run the weekly digest now (needs REDIS_URL and a running worker)")
    p.add_argument("--week", help="ISO week to claim the digests under, e.g. 2026-W49 (default: this week)")
    p.add_argument("--wait", type=float, default=300, help="seconds to wait for the workers before reporting (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the run's report as JSON (no progress line)")
    p.set_defaults(func=cmd_digest)

    p = add("announcement", help="follow an announcement's messages until they are out (needs REDIS_URL)")
    p.add_argument("id", help="the announcement's id (from POST /api/announcements)")
    p.add_argument("--wait", type=float, default=300, help="seconds to wait for the workers before reporting (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (no progress line)")
    p.set_defaults(func=cmd_announcement)

    p = add("check", help="check the configuration: Redis, SMTP, SMS gateway, secrets (exit 1 on a problem)")
    p.add_argument("--json", action="store_true", help="print every check as JSON, for scripts")
    p.add_argument("--verbose", "-v", action="store_true", help="print the checks that passed too")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each service (default: %(default)s)")
    p.set_defaults(func=cmd_check)

    p = add("callbacks", help="status callbacks: `status`, or `enable` after the case system answered 410 Gone (needs REDIS_URL)")
    p.add_argument("action", choices=["status", "enable"])
    p.set_defaults(func=cmd_callbacks)

    p = add("reseal", help="re-seal all personal data in Redis with the newest NOTIFIER_DATA_KEY "
                                      "(REDIS_URL, or the embedded Redis of NOTIFIER_DATA_DIR)")
    p.add_argument("--batch", type=int, default=500, help="keys per SCAN batch")
    p.set_defaults(func=cmd_reseal)

    p = add("secrets", help="print a fresh, complete set of secrets as NAME=value lines (for production)")
    p.set_defaults(func=cmd_secrets)

    p = add("demo", help="send sample events through a temporary service and show what went out")
    p.add_argument("--data-dir", type=Path, default=None, help="where the demo keeps its data (default: a temporary folder)")
    p.add_argument("--keep-running", action="store_true",
                   help="keep the service up after the demo (to try the coordinators' console) until Ctrl-C")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
