"""Fixtures shared by the whole suite: an isolated config dir, a real redis-server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the config dir at a temp path and clear every AUTOPLAY_*/UNKEY_* variable."""
    cfg = tmp_path_factory.mktemp("config")
    for var in list(os.environ):
        if var.startswith(("AUTOPLAY_", "UNKEY_")) or var in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AUTOPLAY_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole test session.

    Fails (does not skip) when redis-server is missing: the README's test
    command installs it.
    """
    from autoplay_cli.errors import ServiceUnavailableError
    from tests.support.local_redis import local_redis_server

    try:
        server = local_redis_server(tmp_path_factory.mktemp("redis"))
        with server as running:
            yield running.url
    except ServiceUnavailableError as exc:
        pytest.fail(exc.one_line())


# --- emulator fixtures (owned by the `autoplay emulate` issue) -------------------------------


@pytest.fixture
def make_emulator() -> Iterator[Any]:
    """A factory: ``make_emulator(rate=0, max_events=50, drop_every=10, ...)`` -> handle.

    Each call starts an ``autoplay emulate`` server (real HTTP on a free loopback
    port, in a thread) with :class:`EmulatorOptions` overrides; every one is
    stopped at teardown. The handle has ``.url``, ``.product_id``, ``.token``,
    ``.unkey_url``, ``.unkey_root_key``, ``.unkey_api_id``, ``.stream_url``, ``.env()``.
    """
    from contextlib import ExitStack

    from autoplay_cli.emulator.server import EmulatorOptions, run_in_thread

    with ExitStack() as stack:

        def start(options: EmulatorOptions | None = None, **overrides: Any) -> Any:
            return stack.enter_context(run_in_thread(options, **overrides))

        yield start


@pytest.fixture
def emulator(make_emulator: Any) -> Any:
    """An emulator with default options (endless mixed traffic at 5 events/s)."""
    return make_emulator()


# --- hostile or odd HTTP peers on 127.0.0.1 ----------------------------------------------


@pytest.fixture
def raw_http_server() -> Iterator[Any]:
    """A factory: ``raw_http_server(reply)`` -> base URL of a real server on 127.0.0.1.

    *reply* is ``"trickle"`` (an endless response head, one byte every 0.3 s, so
    no single read ever times out), ``"huge"`` (a 400 whose JSON body claims
    200 MB; ``raw_http_server.sent[url]`` counts the bytes that went out), or a
    status code answered to every request. Everything stops at teardown.
    """
    import socket
    import threading
    import time

    stop = threading.Event()
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    sent: dict[str, int] = {}

    def serve_one(conn: socket.socket, reply: int | str, url: str) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                if reply == "huge":
                    size = 200 * 1024 * 1024
                    conn.sendall(
                        f"HTTP/1.1 400 Bad\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {size}\r\n\r\n".encode()
                    )
                    chunk = b'{"detail":"' + b"x" * 65_000
                    while sent[url] < size and not stop.is_set():
                        conn.sendall(chunk)
                        sent[url] += len(chunk)
                elif reply == "trickle":
                    head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
                    for byte in head:
                        if stop.wait(0.3):
                            return
                        conn.sendall(bytes([byte]))
                else:
                    body = b'{"detail":"nope"}'
                    conn.sendall(
                        f"HTTP/1.1 {reply} Status\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                        + body
                    )
            except OSError:
                return

    def start(reply: int | str) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        listeners.append(listener)

        def accept_loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                worker = threading.Thread(target=serve_one, args=(conn, reply, url), daemon=True)
                threads.append(worker)
                worker.start()

        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        sent[url] = 0
        thread = threading.Thread(target=accept_loop, daemon=True)
        threads.append(thread)
        thread.start()
        return url

    start.sent = sent  # type: ignore[attr-defined]
    yield start
    stop.set()
    for listener in listeners:
        listener.close()
    deadline = time.monotonic() + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
