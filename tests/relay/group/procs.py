"""Relay group members as real processes, and reading the group's state, for the tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from autoplay_cli.relay.group.status import GroupStatus, read_status
from autoplay_cli.session._redis import RedisConnection

from ..conftest import ROOT

TRIGGERS = ROOT / "examples" / "simulate" / "triggers.toml"
TTL = 2.0


def status(url: str, product: str) -> GroupStatus | None:
    async def read() -> GroupStatus | None:
        conn = RedisConnection(url)
        try:
            return await read_status(conn, product)
        except Exception:
            return None
        finally:
            await conn.aclose()

    return asyncio.run(read())


class Members:
    def __init__(
        self, emu: Any, url: str, tmp: Path, to: str = "-", secret: str = "", ttl: float = TTL
    ) -> None:
        self.emu, self.url, self.tmp, self.to, self.secret = emu, url, tmp, to, secret
        self.ttl = ttl
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.runs: dict[str, int] = defaultdict(int)

    def pause(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGCONT)

    def stderr(self, name: str) -> str:
        return "".join(f.read_text() for f in sorted(self.tmp.glob(f"{name}.*.err")))

    def start(self, name: str) -> None:
        self.runs[name] += 1
        out = (self.tmp / f"{name}.{self.runs[name]}.out").open("wb")
        err = (self.tmp / f"{name}.{self.runs[name]}.err").open("wb")
        env = {**os.environ, **self.emu.env(), "AUTOPLAY_DATA_DIR": str(self.tmp / "data")}
        if self.secret:
            env["AUTOPLAY_RELAY_SECRET"] = self.secret
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "autoplay_cli", "relay", "--group", "--member", name,
             "--store", self.url, "--to", self.to, "-c", str(TRIGGERS), "--partitions", "8",
             "--lease-ttl", str(self.ttl), "--audit", str(self.tmp / "audit"), "--max-time", "600",
             "--listen", "off"],  # several members on one host: tests/relay/group/test_inbound
            stdout=out, stderr=err, env=env,
        )  # fmt: skip

    def kill9(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def deliveries(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for f in sorted(self.tmp.glob("*.out"))
            for line in f.read_text().splitlines()
            if line.strip()
        ]


def wait_for(pred: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def appended(url: str, product: str) -> int:
    st = status(url, product)
    return int(st.checkpoint) if st is not None and st.checkpoint else 0


def audit_lines(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for f in folder.glob("*.ndjson") for line in f.read_text().splitlines()
    ]


def assert_exactly_once(audit: list[dict[str, Any]], events: int) -> None:
    """Every event 1..events applied once, each session's events in stream order."""
    applied = [int(a["event_id"]) for a in audit]
    assert len(applied) == len(set(applied)), "an event was applied twice"
    assert sorted(applied) == list(range(1, events + 1))
    # Lines are in each member's apply order: a session's ids only grow within a file.
    last: dict[tuple[str, str], int] = {}
    for a in audit:
        k = (a["member"], a["session_id"])
        assert int(a["event_id"]) > last.get(k, 0), f"session {k[1]} out of order"
        last[k] = int(a["event_id"])
