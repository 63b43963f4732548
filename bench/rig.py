"""Everything the benchmark runs, as real processes on this machine.

Redis (the embedded binary), the SMTP sink and the SMS gateway stand-in (`bench/standins.py`),
`notifier web` and N `notifier worker` processes, each with its own log file under the run's
folder. The stand-ins count arrivals in memory and answer over HTTP (`/_bench/...`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import aiohttp
import psutil

from notifier.app.embedded_redis import EmbeddedRedis, free_port

from bench.procs import REPO, Proc, http_ok, port_open, wait_until
from notifier.sealing import generate_key

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API_TOKEN = "bench-api-token-0123456789"  # web/worker refuse tokens under 16 characters
SMS_TOKEN = "bench-sms-token"


class Sampler:
    """Peak RSS and CPU time of the service's processes.

    The peak comes from the kernel's high-water mark (`VmHWM` in /proc/<pid>/status), which sees
    every spike; where that is not available, from polling RSS every 100 ms.
    """

    def __init__(self) -> None:
        self.procs: dict[str, psutil.Process] = {}
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.procs[name] = psutil.Process(pid)
        self.peak.setdefault(name, 0)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.sample()

    def sample(self) -> None:
        for name, p in list(self.procs.items()):
            try:
                rss = max(p.memory_info().rss, _vm_hwm(p.pid))
            except (psutil.Error, OSError):
                continue
            if rss > self.peak.get(name, 0):
                self.peak[name] = rss

    def cpu_seconds(self) -> dict[str, float]:
        out = {}
        for name, p in [*self.procs.items(), ("bench", psutil.Process())]:
            try:
                out[name] = cpu_time(p)
            except psutil.Error:
                pass
        return out

    def stop(self) -> None:
        self.sample()
        self._stop.set()


def cpu_time(p: psutil.Process) -> float:
    """CPU seconds (user + system) the process has used so far."""
    t = p.cpu_times()
    return t.user + t.system


def outside_env() -> dict[str, str]:
    """This environment without any NOTIFIER_ setting: what the rig's processes start from."""
    return {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}


def save_result(report: dict[str, Any], name: str, out: Path | None = None) -> Path:
    """Write a run's result as JSON to `out`, or to `bench/results/<name>.json`; returns the path."""
    out = out or REPO / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return out


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes) since boot."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Rig:
    """The whole service and its stand-in providers; `start()` then `stop()`."""

    folder: Path
    workers: int = 2
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    redis: EmbeddedRedis | None = None
    procs: list[Proc] = field(default_factory=list)
    sampler: Sampler = field(default_factory=Sampler)
    env: dict[str, str] = field(default_factory=dict)
    web_url: str = ""
    smtp_port: int = 0
    smtp_control: str = ""
    gateway_url: str = ""
    profile: Path | None = None  # py-spy's collapsed stacks of web and workers go here
    redis_over: str = "unix"  # the service reaches Redis over its Unix socket, or "tcp" (loopback)
    relay_delay_ms: float = 0.0  # the SMTP sink answers as a relay this far away
    profilers: list[Proc] = field(default_factory=list)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.redis = EmbeddedRedis(self.folder / "redis-data")
        self.redis.start()
        base_env = outside_env()

        self.smtp_port, smtp_control = free_port(), free_port()
        self._proc("smtp-sink", ["-m", "bench.standins", "smtp", "--port", str(self.smtp_port),
                                 "--control-port", str(smtp_control), "--delay-ms", str(self.relay_delay_ms)],
                   base_env)
        self.smtp_control = f"http://127.0.0.1:{smtp_control}"
        gateway_port = free_port()
        self._proc("sms-gateway", ["-m", "bench.standins", "gateway", "--port", str(gateway_port)], base_env)
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_until(lambda: port_open(self.smtp_port) and http_ok(self.smtp_control + "/_bench/count"), 20, "SMTP sink")
        wait_until(lambda: http_ok(self.gateway_url + "/_bench/count"), 20, "SMS gateway stand-in")

        web_port = free_port()
        self.web_url = f"http://127.0.0.1:{web_port}"
        self.env = {
            **base_env,
            "REDIS_URL": self.redis.tcp_url if self.redis_over == "tcp" else self.redis.url,
            "NOTIFIER_DATA_DIR": str(self.folder / "data"),
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_API_TOKEN": API_TOKEN,
            "NOTIFIER_SINGLE_TOKEN": "on",  # the API token serves the coordinators' calls too
            "NOTIFIER_DATA_KEY": generate_key(),
            "NOTIFIER_SIGNING_SECRET": "bench-signing-secret-" + generate_key(),
            "NOTIFIER_PUBLIC_URL": self.web_url,
            "NOTIFIER_EMAIL_BACKEND": "smtp",
            "NOTIFIER_SMTP_HOST": "127.0.0.1",
            "NOTIFIER_SMTP_PORT": str(self.smtp_port),
            "NOTIFIER_SMS_BACKEND": "gatewayapi",
            "NOTIFIER_SMS_URL": self.gateway_url,
            "NOTIFIER_SMS_TOKEN": SMS_TOKEN,
            "NOTIFIER_SMS_CALLBACK_TOKEN": "bench-callback-token-of-32-characters",
            "NOTIFIER_DIGEST_SCHEDULE": "off",  # only the benchmark's own run, never the Monday cron
            "NOTIFIER_LOG_LEVEL": self.log_level,
            **self.extra_env,
        }
        web = self._proc("web", ["-m", "notifier", "web", "--port", str(web_port)], self.env)
        self.sampler.watch("web", web.pid)
        for i in range(self.workers):
            w = self._proc(f"worker-{i + 1}", ["-m", "notifier", "worker"], self.env)
            self.sampler.watch(w.name, w.pid)
        assert self.redis.process is not None
        self.sampler.watch("redis", self.redis.process.pid)
        for p in self.procs:
            if p.name in ("smtp-sink", "sms-gateway"):
                self.sampler.watch(p.name, p.pid)
        wait_until(lambda: http_ok(self.web_url + "/healthz"), 60, "web healthy")
        for p in self.procs:
            if p.name.startswith("worker-"):
                wait_until(lambda p=p: self._started(p), 60, f"{p.name} started")
        self.sampler.start()
        if self.profile is not None:
            self.start_profilers(self.profile)

    def start_profilers(self, folder: Path) -> None:
        """py-spy on the web and each worker, from now until `stop()` (`pip install py-spy`)."""
        folder.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("--profile needs py-spy: pip install py-spy")
        for p in self.procs:
            if p.name == "web" or p.name.startswith("worker-"):
                out = folder / f"{p.name}.txt"
                prof = Proc(f"py-spy-{p.name}", [py_spy, "record", "--pid", str(p.pid), "--rate", "250",
                                                 "--format", "raw", "--output", str(out)], dict(os.environ),
                            self.folder / f"py-spy-{p.name}.log")
                self.profilers.append(prof.start())

    def _started(self, proc: Proc) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited; see {proc.log}")
        return "worker started" in proc.log.read_text(errors="replace")

    def _proc(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        p = Proc(name, [sys.executable, *args], env, self.folder / f"{name}.log").start()
        self.procs.append(p)
        return p

    def check_alive(self) -> None:
        for p in self.procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited unexpectedly; see {p.log}")

    def stop(self) -> None:
        self.sampler.stop()
        for prof in self.profilers:  # SIGINT makes py-spy write what it has
            if prof.alive() and prof.popen is not None:
                prof.popen.send_signal(signal.SIGINT)
                try:
                    prof.popen.wait(30)
                except subprocess.TimeoutExpired:
                    prof.popen.kill()
        for p in reversed(self.procs):
            p.stop()
        if self.redis is not None:
            self.redis.stop()

    # -- reading the stand-ins ------------------------------------------------------------------

    async def smtp_count(self, http: aiohttp.ClientSession) -> int:
        return await _count(http, self.smtp_control)

    async def smtp_arrivals(self, http: aiohttp.ClientSession, start: int) -> list[tuple[float, str]]:
        return await _arrivals(http, self.smtp_control, start)

    async def sms_count(self, http: aiohttp.ClientSession) -> int:
        return await _count(http, self.gateway_url)

    async def sms_arrivals(self, http: aiohttp.ClientSession, start: int) -> list[tuple[float, str]]:
        return await _arrivals(http, self.gateway_url, start)


async def _count(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(base + "/_bench/count") as r:
        return int((await r.json())["count"])


async def _arrivals(http: aiohttp.ClientSession, base: str, start: int) -> list[tuple[float, str]]:
    async with http.get(base + "/_bench/arrivals", params={"from": str(start)}) as r:
        return [(float(t), str(i)) for t, i in (await r.json())["arrivals"]]
