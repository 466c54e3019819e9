"""A throwaway redis-server on a free loopback port, for tests, benchmarks and local runs.

Nothing is persisted: no RDB snapshots, no AOF, a temporary working directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autoplay_cli.errors import ServiceUnavailableError


class LocalRedis:
    """A running redis-server child process and where to reach it."""

    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server (idempotent); clients then see a real outage."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def local_redis_server(
    workdir: str | Path | None = None, *, timeout_s: float = 10.0
) -> Iterator[LocalRedis]:
    """Start redis-server on 127.0.0.1 and a free port; stop it on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailableError(
            "redis-server is not installed", hint="install it: apt-get install -y redis-server"
        )
    with tempfile.TemporaryDirectory(prefix="autoplay-redis-") as scratch:
        port = _free_port()
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir or scratch),
        ]
        server = LocalRedis(
            port, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        try:
            deadline = time.monotonic() + timeout_s
            while not _answers_ping(port):
                if server.process.poll() is not None or time.monotonic() > deadline:
                    raise ServiceUnavailableError(
                        f"redis-server did not start on port {port} within {timeout_s:g} s",
                        hint="run redis-server by hand to see why",
                    )
                time.sleep(0.05)
            yield server
        finally:
            server.stop()


@contextmanager
def given_or_local_redis(url: str | None) -> Iterator[str]:
    """*url* when one is given, else the URL of a throwaway local redis-server for the block."""
    if url:
        yield url
        return
    with local_redis_server() as server:
        yield server.url
