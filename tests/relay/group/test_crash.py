"""Real processes: 3 members + emulator; kill -9 the stream holder and a partition owner."""

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
EVENTS = 3000


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
    def __init__(self, emu: Any, url: str, tmp: Path) -> None:
        self.emu, self.url, self.tmp = emu, url, tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.runs: dict[str, int] = defaultdict(int)

    def start(self, name: str) -> None:
        self.runs[name] += 1
        out = (self.tmp / f"{name}.{self.runs[name]}.out").open("wb")
        err = (self.tmp / f"{name}.{self.runs[name]}.err").open("wb")
        env = {**os.environ, **self.emu.env(), "AUTOPLAY_DATA_DIR": str(self.tmp / "data")}
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "autoplay_cli", "relay", "--group", "--member", name,
             "--store", self.url, "--to", "-", "-c", str(TRIGGERS), "--partitions", "8",
             "--lease-ttl", str(TTL), "--audit", str(self.tmp / "audit"), "--max-time", "120"],
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


def test_kill_9_of_the_holder_and_of_a_partition_owner_loses_and_repeats_nothing(
    make_emulator: Any, redis_url: str, tmp_path: Path
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/9"
    emu = make_emulator(rate=0, max_events=EVENTS, ring_size=EVENTS * 2, seed=3)
    members = Members(emu, url, tmp_path)
    product = emu.product_id
    try:
        for name in ("m0", "m1", "m2"):
            members.start(name)
        st = wait_for(lambda: (s := status(url, product)) and s.holder and s, 30, "a holder")
        # A third of the way: kill -9 the stream holder; another member takes over.
        wait_for(lambda: appended(url, product) >= EVENTS // 3, 60, "a third of the events")
        holder = status(url, product).holder  # type: ignore[union-attr]
        assert holder is not None
        members.kill9(holder)
        killed_at = time.monotonic()
        new = wait_for(
            lambda: (s := status(url, product)) and s.holder not in (None, holder) and s.holder,
            TTL + 10,
            "a new holder",
        )
        takeover = time.monotonic() - killed_at
        assert takeover <= TTL + 2, takeover
        members.start(holder)
        # Two thirds: kill -9 a member owning partitions but not the stream.
        wait_for(lambda: appended(url, product) >= 2 * EVENTS // 3, 60, "two thirds")
        st = status(url, product)
        assert st is not None
        owner = next(p.owner for p in st.partitions if p.owner and p.owner != st.holder)
        members.kill9(owner)
        time.sleep(0.5)
        members.start(owner)
        # The end: everything appended is applied and sent.
        wait_for(
            lambda: (s := status(url, product)) and s.checkpoint == str(EVENTS) and s.idle,
            60,
            "the group to catch up",
        )
        assert new
    finally:
        members.stop_all()
    audit = [
        json.loads(line)
        for f in (tmp_path / "audit").glob("*.ndjson")
        for line in f.read_text().splitlines()
    ]
    applied = [a["event_id"] for a in audit]
    # Each event applied exactly once, whoever applied it.
    assert len(applied) == len(set(applied))
    per_session: dict[str, list[int]] = defaultdict(list)
    for a in sorted(audit, key=lambda a: int(a["event_id"])):
        per_session[a["session_id"]].append(int(a["event_id"]))
    assert len(per_session) > 50
    # Ids of the emulator's payload events: 1..EVENTS (no malformed frames configured).
    assert sorted(int(e) for e in applied) == list(range(1, EVENTS + 1))
    assert {a["member"] for a in audit} >= {"m0", "m1", "m2"} - {None}
    deliveries = members.deliveries()
    assert deliveries, "the personas make offers"
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in deliveries:
        by_id[d["id"]].append(d)
    for copies in by_id.values():
        # A duplicate (sent, then its owner died before the outbox forgot it) is identical.
        assert all(
            {k: v for k, v in c.items() if k != "created_at"}
            == {k: v for k, v in copies[0].items() if k != "created_at"}
            for c in copies
        )
