"""Fixtures for the session tests: a hand-driven clock and unique Redis key prefixes."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from autoplay_cli.session import MemorySessionStore, RedisSessionStore

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: epoch seconds, like the real wall clock


class FakeClock:
    """A zero-argument callable returning epoch seconds that tests advance by hand."""

    def __init__(self, start: float = EPOCH) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses (the Redis server is shared by the whole run)."""
    return f"autoplay-test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, clock: FakeClock, prefix: str
) -> AsyncIterator[MemorySessionStore | RedisSessionStore]:
    """Each store test runs against both stores."""
    if request.param == "memory":
        yield MemorySessionStore(clock=clock)
        return
    redis_url = request.getfixturevalue("redis_url")
    s = RedisSessionStore(redis_url, clock=clock, key_prefix=prefix + "session:")
    yield s
    await s.aclose()


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL (with a password) where nothing listens: an outage on demand."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:hunter2secret@127.0.0.1:{port}/0"


@pytest.fixture
def make_clock() -> type[FakeClock]:
    """The clock class, for tests that need several independent clocks."""
    return FakeClock


@pytest.fixture
async def redis_store_factory(
    redis_url: str, prefix: str, clock: FakeClock
) -> AsyncIterator[Callable[..., RedisSessionStore]]:
    """New RedisSessionStore objects on the same keys: separate 'workers'."""
    made: list[RedisSessionStore] = []

    def make(**kw: object) -> RedisSessionStore:
        kw.setdefault("clock", clock)
        kw.setdefault("key_prefix", prefix + "session:")
        s = RedisSessionStore(redis_url, **kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    for s in made:
        await s.aclose()


@pytest.fixture
def session_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, listening on ``autoplay_cli.session`` itself at DEBUG.

    Attached to the logger directly, because a CLI test may have set the package
    logger to not propagate (or to ERROR) for the rest of the process.
    """
    logger = logging.getLogger("autoplay_cli.session")
    saved = (logger.level, logger.propagate)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the handler below sees each record once
    logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
