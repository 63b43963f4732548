"""Real processes for the fault tests: Redis, the stand-in providers, `notifier web`, `notifier worker`."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from bench.procs import Proc, http_ok, port_open
from bench.procs import wait_until as _wait_until

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str = "condition") -> T:
    """`bench.procs.wait_until`, failing the test (AssertionError) instead of raising RuntimeError."""
    try:
        return _wait_until(predicate, timeout, what)
    except RuntimeError as exc:
        raise AssertionError(str(exc)) from None


@dataclass
class StandIn:
    """A stand-in provider process from `bench/standins.py`: `smtp` or `gateway`."""

    kind: str
    port: int
    record: Path
    log: Path
    proc: Proc | None = None

    def start(self) -> None:
        self.proc = Proc(self.kind, [sys.executable, "-m", "bench.standins", self.kind, "--port", str(self.port), "--record", str(self.record)],
                         dict(os.environ), self.log).start()
        wait_until(lambda: port_open(self.port), 20, f"{self.kind} stand-in listening")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def counts(self) -> Counter[str]:
        """Arrivals per message id (SMTP Message-ID header, or the SMS gateway's userref)."""
        if not self.record.exists():
            return Counter()
        lines = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        key = "message_id" if self.kind == "smtp" else "userref"
        return Counter(r[key] for r in lines)


@dataclass
class Notifier:
    env: dict[str, str]
    logs: Path
    procs: list[Proc] = field(default_factory=list)

    def web(self, port: int) -> Proc:
        p = Proc("web", [sys.executable, "-m", "notifier", "web", "--port", str(port)], self.env, self.logs / f"web-{len(self.procs)}.log").start()
        self.procs.append(p)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "web healthy")
        return p

    def worker(self) -> Proc:
        p = Proc("worker", [sys.executable, "-m", "notifier", "worker"], self.env, self.logs / f"worker-{len(self.procs)}.log").start()
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in self.procs:
            p.stop()
