"""Real processes for the fault tests: Redis, the SMTP sink, `notifier web`, `notifier worker`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


def wait_until(predicate: Callable[[], T], timeout: float, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Proc":
        self.popen = subprocess.Popen(self.args, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                                      stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class StandIn:
    """A stand-in provider process from `bench/standins.py`: `smtp` or `gateway`."""

    kind: str
    port: int
    record: Path
    log: Path
    proc: Proc | None = None

    def start(self) -> None:
        self.proc = Proc([sys.executable, "-m", "bench.standins", self.kind, "--port", str(self.port), "--record", str(self.record)],
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
        p = Proc([sys.executable, "-m", "notifier", "web", "--port", str(port)], self.env, self.logs / f"web-{len(self.procs)}.log").start()
        self.procs.append(p)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "web healthy")
        return p

    def worker(self) -> Proc:
        p = Proc([sys.executable, "-m", "notifier", "worker"], self.env, self.logs / f"worker-{len(self.procs)}.log").start()
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in self.procs:
            p.stop()
