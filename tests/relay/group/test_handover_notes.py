"""Buffered notes of a partition handed over just as the group stops are still sent.

Driven step by step against a real redis-server: a rebalance hands a partition over
(its buffered notes wait in Redis for the next owner), and the group stops before
that owner takes it; or the stop cancels the handover half-way. A single relay
sends those notes at its stop; so must the group.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.relay.group.keys import GroupKeys
from autoplay_cli.relay.group.lease import Lease
from autoplay_cli.relay.group.member import Partition

from ..conftest import EXAMPLES, relay_file, write_recording
from .harness import Lines, append_all, make_member, stream_entries

TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"
TTL = 60.0  # no lease expires by itself during the test: every change is a step of ours


def _key(d: dict[str, Any]) -> tuple[Any, ...]:
    return (d["id"], d["type"], d["session_id"], d["body"], tuple(d["event_ids"]))


@pytest.mark.parametrize("how", ["released", "interrupted"])
def test_notes_of_a_partition_handed_over_as_the_group_stops_are_sent(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    sessions = generate_sessions(120, seed=7, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    url = redis_url.rsplit("/", 1)[0] + "/9"  # a database no other test uses
    keys = GroupKeys("demo")
    sink = Lines()

    async def main() -> list[str]:
        client = aioredis.Redis.from_url(url)
        await client.flushdb()
        old = make_member(url, recording, TRIGGERS, "old", sink, lease_ttl=TTL)
        new = make_member(url, recording, TRIGGERS, "new", sink, lease_ttl=TTL)
        entries = stream_entries(old)
        try:
            await old._join()
            await new._join()
            await append_all(client, keys, entries, TTL)
            for k in range(old.group.partitions):
                lease = Lease(keys.part_lease(k), keys.fence, "old", TTL)
                assert await lease.acquire(client)
                old.owned[k] = Partition(k, lease)
            async with asyncio.timeout(30):
                while old.health.applied < len(entries):
                    await old._consume_once()
            # The recording ends with notes still coalescing: the drain at stop sends them.
            waiting = {
                part: [s for s in part.relay.notes.buffers if part.relay.notes.waiting(s)]
                for part in old.owned.values()
                if part.relay is not None
            }
            handed = [part for part, sids in waiting.items() if sids]
            assert handed, "the recording should leave notes buffered at its end"
            # A rebalance hands those partitions to "new", which has not taken them yet ...
            releases = [asyncio.create_task(old._release(p, drain=False)) for p in handed]
            if how == "interrupted":
                await asyncio.sleep(0)  # ... and is waiting for their senders to stop
                assert not any(r.done() for r in releases)
                for r in releases:
                    r.cancel()  # when the stop cancels the heartbeat
            await asyncio.gather(*releases, return_exceptions=True)
        finally:
            # ... and the group stops.
            await old._leave()
            await new._leave()
            await client.aclose()
        return sorted(s for sids in waiting.values() for s in sids)

    waiting = asyncio.run(main())
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    got = sorted(map(_key, sink.deliveries()))
    missing = [d for d in sorted(map(_key, single)) if d not in got]
    assert not missing, f"notes of {waiting} never sent: {missing}"
    assert got == sorted(map(_key, single))
