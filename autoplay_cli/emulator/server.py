"""Run the emulator with uvicorn: in the foreground for the CLI, or in a thread for tests.

``run_in_thread(options)`` binds a free loopback port before starting, so the
URL is known at once, and stops the server (open streams included) on exit.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

from autoplay_cli.emulator.app import Emulator, build_app
from autoplay_cli.emulator.options import EmulatorOptions
from autoplay_cli.errors import ServiceUnavailableError, UsageError

__all__ = ["EmulatorHandle", "EmulatorOptions", "run_in_thread", "serve"]


@dataclass(frozen=True)
class EmulatorHandle:
    """Where a running emulator listens, and what to connect with."""

    url: str
    host: str  # the address actually bound (a name given to --host, resolved)
    product_id: str
    token: str
    unkey_url: str
    unkey_root_key: str
    unkey_api_id: str
    emulator: Emulator

    @property
    def loopback(self) -> bool:
        """Whether the bound address is reachable from this machine only."""
        return ipaddress.ip_address(self.host.partition("%")[0]).is_loopback

    @property
    def stream_url(self) -> str:
        return f"{self.url}/stream/{self.product_id}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook/{self.product_id}"

    @property
    def webhook_secret(self) -> str:
        return self.emulator.options.webhook_secret

    def env(self) -> dict[str, str]:
        """The ``AUTOPLAY_*`` / ``UNKEY_*`` variables that point the toolkit at this emulator."""
        return {
            "AUTOPLAY_CONNECTOR_URL": self.url,
            "AUTOPLAY_PRODUCT_ID": self.product_id,
            "AUTOPLAY_TOKEN": self.token,
            "UNKEY_SERVER_URL": self.unkey_url,
            "UNKEY_ROOT_KEY": self.unkey_root_key,
            "UNKEY_API_ID": self.unkey_api_id,
            # For posting events by hand (curl), as in the README's ingest example.
            "AUTOPLAY_WEBHOOK_URL": self.webhook_url,
            "AUTOPLAY_WEBHOOK_SECRET": self.webhook_secret,
        }

    def describe(self) -> dict[str, object]:
        """Where to connect, as one JSON-ready object (what ``emulate --json`` prints)."""
        return {
            "url": self.url,
            "stream_url": self.stream_url,
            "product_id": self.product_id,
            "token": self.token,
            "webhook_url": self.webhook_url,
            "webhook_secret": self.webhook_secret,
            "unkey_url": self.unkey_url,
            "unkey_root_key": self.unkey_root_key,
            "unkey_api_id": self.unkey_api_id,
            "ring_size": self.emulator.options.ring_size,
            "fake": True,
        }


class _Server(uvicorn.Server):
    """uvicorn's server, telling open SSE streams to end when it is asked to exit."""

    def __init__(self, config: uvicorn.Config, emulator: Emulator) -> None:
        super().__init__(config)
        self.emulator = emulator

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.emulator.stopping = True
        super().handle_exit(sig, frame)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        # A name that does not resolve or an address not on this machine is the host's fault.
        bad_host = isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="pick an address of this machine for `host` (default 127.0.0.1)"
            if bad_host
            else "pick another `port` (0 picks a free one)",
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _prepare(options: EmulatorOptions) -> tuple[_Server, socket.socket, EmulatorHandle]:
    emulator = Emulator(options)
    sock = _bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    config = uvicorn.Config(
        build_app(emulator),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        http="h11",
        ws="none",
    )
    handle = EmulatorHandle(
        url=url,
        host=host,
        product_id=options.product_id,
        token=options.token,
        unkey_url=url,
        unkey_root_key=options.unkey_root_key,
        unkey_api_id=options.unkey_api_id,
        emulator=emulator,
    )
    return _Server(config, emulator), sock, handle


def serve(options: EmulatorOptions, on_ready: Callable[[EmulatorHandle], None]) -> None:
    """Serve in the foreground until interrupted; *on_ready* gets the handle once bound."""
    server, sock, handle = _prepare(options)
    on_ready(handle)
    with sock:
        server.run(sockets=[sock])


@contextlib.contextmanager
def run_in_thread(
    options: EmulatorOptions | None = None, **overrides: Any
) -> Iterator[EmulatorHandle]:
    """Run an emulator in a background thread for the duration of the ``with`` block."""
    opts = (
        (options or EmulatorOptions()).with_(**overrides)
        if overrides
        else (options or EmulatorOptions()).validated()
    )
    server, sock, handle = _prepare(opts)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"autoplay-emulator-{handle.url}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ServiceUnavailableError(
                "the emulator did not start", hint="run with `debug` for details"
            ) from (failure[0] if failure else None)
        time.sleep(0.01)
    try:
        yield handle
    finally:
        handle.emulator.stopping = True
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
