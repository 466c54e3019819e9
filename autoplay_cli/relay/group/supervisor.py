"""``autoplay relay --workers N``: N local group members as child processes, supervised.

A child that fails (crash, kill -9) is restarted with exponential backoff; one that
ends cleanly (exit 0, e.g. --max-time) is not; one that reports Redis lost the group's
data (exit 7) stops them all. SIGINT or SIGTERM is passed on as SIGTERM to every
child, and each leaves the group cleanly.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autoplay_cli.errors import EXIT_CONFLICT

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 30.0  # a child up this long has its backoff reset
STOP_GRACE_S = 15.0


def child_args(argv: Sequence[str], index: int, base: str) -> list[str]:
    """The child's ``autoplay relay`` arguments: *argv* minus --workers/--member, plus its own.

    Worker *index* listens on ``--listen``'s port plus *index* (the default address when
    a live run gives none; ``off`` and port 0 stay as they are), so N workers never collide.
    """
    from autoplay_cli.relay.inbound import DEFAULT_LISTEN

    out: list[str] = []
    listen: str | None = None
    skip: str | None = None
    for arg in argv:
        if skip is not None:
            if skip == "--listen":
                listen = arg
            skip = None
            continue
        if arg in ("--workers", "--member", "--listen"):
            skip = arg
            continue
        if arg.startswith(("--workers=", "--member=")):
            continue
        if arg.startswith("--listen="):
            listen = arg.partition("=")[2]
            continue
        out.append(arg)
    if listen is None and not any(a == "--replay" or a.startswith("--replay=") for a in argv):
        listen = DEFAULT_LISTEN
    if listen is not None:
        out += ["--listen", _worker_listen(listen, index)]
    return [*out, "--group", "--member", f"{base}-w{index}"]


def _worker_listen(listen: str, index: int) -> str:
    host, sep, port = listen.rpartition(":")
    if listen.lower() == "off" or not sep or not port.isdigit() or int(port) == 0:
        return listen  # off, an ephemeral port, or a bad value the child reports itself
    return f"{host}:{int(port) + index}"


@dataclass
class Child:
    index: int
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START_S
    due: float = 0.0  # when to (re)start it
    history: list[int] = field(default_factory=list)  # exit codes seen
    done: bool = False  # exited 0 on its own


class Supervisor:
    """Starts, watches and stops the children (see the module docstring)."""

    def __init__(self, children_args: list[list[str]], *, python: str = sys.executable) -> None:
        self.children = [Child(i, a) for i, a in enumerate(children_args)]
        self.python = python
        self._stop = False
        self.fatal: int | None = None

    def start(self, child: Child) -> None:
        cmd = [self.python, "-m", "autoplay_cli", "relay", *child.args]
        child.process = subprocess.Popen(cmd)
        child.started = time.monotonic()
        log.info("worker %d started (pid %d)", child.index, child.process.pid)

    def request_stop(self, *_: Any) -> None:
        self._stop = True

    def run(self, *, poll_s: float = 0.2) -> int:
        """Until a stop is requested (or a child reports data loss); the exit code."""
        old = {s: signal.signal(s, self.request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for child in self.children:
                self.start(child)
            while not self._stop:
                time.sleep(poll_s)
                self.poll()
        finally:
            self.stop_all()
            for s, handler in old.items():
                signal.signal(s, handler)
        return self.fatal if self.fatal is not None else 0

    def poll(self) -> None:
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if child.done:
                continue
            if proc is None:
                if now >= child.due:
                    self.start(child)
                continue
            code = proc.poll()
            if code is None:
                if now - child.started > STABLE_S:
                    child.backoff = BACKOFF_START_S
                continue
            child.history.append(code)
            child.process = None
            if code == 0:  # it finished (--max-time): nothing to restart
                child.done = True
                log.info("worker %d finished", child.index)
                if all(c.done for c in self.children):
                    self._stop = True
                continue
            if code == EXIT_CONFLICT:
                log.critical("worker %d: redis lost the group's data; stopping all", child.index)
                self.fatal = code
                self._stop = True
                return
            child.restarts += 1
            child.due = now + child.backoff
            log.warning(
                "worker %d exited with %d; restart %d in %.1f s",
                child.index,
                code,
                child.restarts,
                child.backoff,
            )
            child.backoff = min(BACKOFF_MAX_S, child.backoff * 2)

    def stop_all(self) -> None:
        live = [c.process for c in self.children if c.process is not None]
        for proc in live:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
