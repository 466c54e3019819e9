"""Run the relay in a background thread (its own event loop) for tests that talk to it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay


@contextmanager
def relay_running(options: RelayOptions, *, wait_listening: bool = True) -> Iterator[RelaySummary]:
    summary = RelaySummary()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run_relay(options, summary, install_signals=False))
        except BaseException as exc:  # surfaced in the test thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while wait_listening and summary.listening is None:
        if failure:
            raise failure[0]
        assert time.monotonic() < deadline, "the relay did not start listening"
        time.sleep(0.02)
    try:
        yield summary
    finally:
        if summary.request_stop is not None:
            summary.request_stop()
        thread.join(30)
        assert not thread.is_alive(), "the relay did not stop"
    if failure:
        raise failure[0]


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
