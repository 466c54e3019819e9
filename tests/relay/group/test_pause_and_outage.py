"""Real processes: a member paused past its lease, Redis down for a while, Redis losing data."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.session._redis import RedisConnection
from tests.support.local_redis import _answers_ping, _free_port

from .procs import TTL, Members, appended, assert_exactly_once, audit_lines, status, wait_for

EVENTS = 1000


def test_a_member_paused_past_its_lease_writes_nothing_when_resumed(
    make_emulator: Any, redis_url: str, tmp_path: Path
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/10"
    emu = make_emulator(rate=300, max_events=EVENTS, ring_size=EVENTS * 2, seed=5)
    members = Members(emu, url, tmp_path)
    product = emu.product_id
    try:
        members.start("p0")
        wait_for(lambda: (s := status(url, product)) and s.holder == "p0", 30, "p0 holding")
        members.start("p1")
        wait_for(lambda: appended(url, product) >= EVENTS // 4, 30, "a quarter")
        members.pause("p0")  # holder and partition owner, frozen mid-work
        wait_for(lambda: (s := status(url, product)) and s.holder == "p1", TTL + 5, "p1 takes over")
        time.sleep(1.0)
        members.resume("p0")  # it still believes it holds its leases
        # The group may have caught up already: stopping p0 the moment it wakes would
        # end it before its first heartbeat or write could find its leases gone.
        wait_for(lambda: noticed(members.stderr("p0")), TTL + 5, "p0 noticing its lost leases")
        wait_for(
            lambda: (s := status(url, product)) and s.checkpoint == str(EVENTS) and s.idle,
            60,
            "the group to catch up",
        )
    finally:
        members.stop_all()
    assert_exactly_once(audit_lines(tmp_path / "audit"), EVENTS)
    assert noticed(members.stderr("p0"))


def noticed(err: str) -> bool:
    """The resumed member's log says it found a lease gone, or a fenced write refused."""
    return "lost the stream lease" in err or "append refused" in err or "drops partition" in err


class OwnRedis:
    """A redis-server whose data survives a restart when asked to (SHUTDOWN SAVE)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: _answers_ping(self.port), 10, "redis-server")

    def shutdown(self, *, save: bool) -> None:
        async def down() -> None:
            conn = RedisConnection(self.url)
            # The connection closes as the server stops.
            with contextlib.suppress(Exception):
                await conn.client().shutdown(save=save, nosave=not save)
            await conn.aclose()

        asyncio.run(down())
        assert self.proc is not None
        self.proc.wait(timeout=10)
        if not save:
            (self.folder / "dump.rdb").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Any:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("ttl", [TTL, 10.0], ids=["outage-past-the-leases", "within-the-leases"])
def test_redis_down_for_seconds_then_back_with_its_data_loses_nothing(
    ttl: float, make_emulator: Any, own_redis: OwnRedis, tmp_path: Path
) -> None:
    emu = make_emulator(rate=300, max_events=EVENTS, ring_size=EVENTS * 2, seed=6)
    url, product = own_redis.url, emu.product_id
    members = Members(emu, url, tmp_path, ttl=ttl)
    try:
        members.start("r0")
        members.start("r1")
        wait_for(lambda: appended(url, product) >= EVENTS // 3, 30, "a third")
        own_redis.shutdown(save=True)
        time.sleep(3.0)
        own_redis.start()
        wait_for(
            lambda: (s := status(url, product)) and s.checkpoint == str(EVENTS) and s.idle,
            60,
            "the group to catch up",
        )
        assert all(p.poll() is None for p in members.procs.values()), "a member gave up"
    finally:
        members.stop_all()
    assert_exactly_once(audit_lines(tmp_path / "audit"), EVENTS)
    err = members.stderr("r0") + members.stderr("r1")
    # The outage was seen (which loop saw it first depends on timing) and logged.
    assert "is unavailable" in err and "Traceback" not in err


def test_redis_back_without_its_data_is_reported_not_taken_for_a_fresh_start(
    make_emulator: Any, own_redis: OwnRedis, tmp_path: Path
) -> None:
    emu = make_emulator(rate=300, max_events=EVENTS, ring_size=EVENTS * 2, seed=7)
    url, product = own_redis.url, emu.product_id
    members = Members(emu, url, tmp_path)
    try:
        members.start("d0")
        wait_for(lambda: appended(url, product) >= 100, 30, "some events")
        own_redis.shutdown(save=False)
        own_redis.start()
        proc = members.procs["d0"]
        code = proc.wait(timeout=TTL + 60)  # generous: a loaded machine reconnects slowly
    finally:
        members.stop_all()
    assert code == 7  # conflict: not restarted by --workers, not silently fresh
    err = members.stderr("d0")
    assert "lost the relay group's data" in err and "Traceback" not in err
