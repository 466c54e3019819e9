"""Fixtures shared by the whole suite: an isolated config dir, a real redis-server."""

from __future__ import annotations

import logging
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
        if var.startswith(("AUTOPLAY_", "UNKEY_")) or var == "NO_COLOR":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AUTOPLAY_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture(scope="session")
def pristine_cli_state() -> tuple[object, ...]:
    """Process-wide state as it was before any CLI ran in this test process."""
    from autoplay_cli.cli import output

    logger = logging.getLogger("autoplay_cli")
    return (
        logger.level,
        tuple(logger.handlers),
        logger.propagate,
        output.OPTIONS.debug,
        output.OPTIONS.no_color,
    )


@pytest.fixture(autouse=True)
def restore_global_cli_state(pristine_cli_state: tuple[Any, ...]) -> Iterator[None]:
    """After each test, undo what a CLI run changes process-wide (logging, root options).

    Restoring to the session's pristine state, not to the state at set-up, also
    undoes CLI runs made by module-scoped fixtures.
    """
    from autoplay_cli.cli import output

    yield
    level, handlers, propagate, debug, no_color = pristine_cli_state
    logger = logging.getLogger("autoplay_cli")
    logger.setLevel(level)
    logger.handlers[:] = list(handlers)
    logger.propagate = propagate
    output.OPTIONS.debug, output.OPTIONS.no_color = debug, no_color


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
