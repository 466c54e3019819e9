"""A partition changing owner while the old owner's blocking read still covers it.

Driven step by step against a real redis-server (no kill -9, no timing luck): the
old owner's XREADGROUP is served after the new owner took the partition over, so
entries are handed to (pending for) a member that must not apply them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.relay.group import member as member_module
from autoplay_cli.relay.group.keys import CONSUMER_GROUP, GroupKeys
from autoplay_cli.relay.group.lease import Lease, fenced_append
from autoplay_cli.relay.group.member import Member, Partition, PartitionStore
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.session._redis import RedisConnection
from autoplay_cli.simulate.clock import VirtualClock

from ..conftest import EXAMPLES, relay_file, write_recording
from .harness import Lines, append_all, make_member, stream_entries
from .procs import assert_exactly_once, audit_lines

TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"
TTL = 60.0  # no lease expires by itself during the test: every change is a step of ours


async def _blocked(client: Any, n: int) -> None:
    """Until *n* clients are blocked in Redis (the reads we are racing are waiting)."""
    async with asyncio.timeout(30):
        while int((await client.info("clients"))["blocked_clients"]) < n:
            await asyncio.sleep(0.01)


def _take(member: Member, client: Any) -> Any:
    async def take() -> None:
        lease = Lease(member.keys.part_lease(0), member.keys.fence, member.name, TTL)
        assert await lease.acquire(client), f"{member.name} could not take partition 0"
        member.owned[0] = Partition(0, lease)

    return take()


@pytest.mark.parametrize("how", ["released", "expired"])
def test_entries_handed_to_the_old_owner_after_a_takeover_are_applied_once_in_order(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # "released": a rebalance hands the partition over while the old owner's read is
    # blocked on it. "expired": the old owner was paused past its lease (SIGSTOP) and
    # still believes it owns the partition when its read returns.
    sessions = generate_sessions(200, seed=21, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    url = redis_url.rsplit("/", 1)[0] + "/8"  # a database no other test uses
    audit = tmp_path / "audit"
    sink = Lines()
    keys = GroupKeys("demo")
    part = keys.part(0)
    monkeypatch.setattr(member_module, "READ_BLOCK_MS", 30_000)  # blocked until we append

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        await client.flushdb()
        old = make_member(url, recording, TRIGGERS, "old", sink, partitions=1, audit_dir=audit)
        new = make_member(url, recording, TRIGGERS, "new", sink, partitions=1, audit_dir=audit)
        entries = stream_entries(old)
        n = member_module.READ_COUNT
        assert len(entries) > 2 * n + 100, "the recording is too short to span three reads"
        holder = Lease(keys.stream_lease, keys.fence, "holder", TTL)
        try:
            await old._join()
            await new._join()
            assert await holder.acquire(client)
            await _take(old, client)
            # The old owner opens the partition and blocks on XREADGROUP ">".
            reading = asyncio.create_task(old._consume_once())
            await _blocked(client, 1)
            if how == "released":
                await old._release(old.owned[0], drain=False)
            else:
                await client.delete(keys.part_lease(0))  # expired; "old" did not notice
            await _take(new, client)
            # The new owner opens the partition, claims what is pending (nothing yet)
            # and blocks on ">" behind the old owner's read.
            taking = asyncio.create_task(new._consume_once())
            await _blocked(client, 2)
            # The first entries go to the read that was waiting first: the old owner's.
            await fenced_append(client, holder, keys.checkpoint, entries[n - 1][1], entries[:n])
            await asyncio.wait_for(reading, 30)
            stale = await client.xpending(part, CONSUMER_GROUP)
            assert {c["name"]: c["pending"] for c in stale["consumers"]} == {b"old": n}, stale
            # The rest reaches the new owner's read; it applies and trims as it goes.
            last = entries[-1][1]
            await fenced_append(client, holder, keys.checkpoint, last, entries[n:])
            await asyncio.wait_for(taking, 30)
            monkeypatch.setattr(member_module, "READ_BLOCK_MS", 100)
            async with asyncio.timeout(20):
                while new.health.applied < len(entries):
                    await new._consume_once()
                    if (await client.xpending(part, CONSUMER_GROUP))["pending"] == 0 and (
                        new.health.applied + old.health.applied >= len(entries)
                    ):
                        break
        except TimeoutError:
            pass  # what was applied is checked below
        finally:
            await old._leave()
            await new._leave()
            pending = (await client.xpending(part, CONSUMER_GROUP))["pending"]
            await client.aclose()
        assert pending == 0, f"{pending} entries never applied"

    asyncio.run(main())
    lines = audit_lines(audit)
    assert {a["member"] for a in lines} == {"new"}  # the old owner committed nothing
    assert_exactly_once(lines, len(items))
    # One member applied everything: its audit order is the stream order of every session.
    ids = [int(a["event_id"]) for a in lines]
    assert ids == sorted(ids)
    # And the decisions are a single relay's on the same recording.
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    assert sorted(map(_key, sink.deliveries())) == sorted(map(_key, single))


def _key(d: dict[str, Any]) -> tuple[Any, ...]:
    return (d["id"], d["type"], d["session_id"], d["body"], tuple(d["event_ids"]))


def test_a_commit_never_trims_entries_still_pending_for_another_member(redis_url: str) -> None:
    # The second line of defence: even if an owner acknowledged newer entries first,
    # the stream keeps every entry that some member has been handed and not acknowledged.
    async def main() -> tuple[int, list[bytes]]:
        url = redis_url.rsplit("/", 1)[0] + "/8"
        conn = RedisConnection(url)
        client = conn.client()
        await client.flushdb()
        keys = GroupKeys("p")
        part = keys.part(0)
        await client.xgroup_create(part, CONSUMER_GROUP, id="0", mkstream=True)
        for i in range(600):  # several of Redis's stream nodes (100 entries each by default)
            await client.xadd(part, {"i": str(i)})
        stale = await client.xreadgroup(CONSUMER_GROUP, "old", {part: ">"}, count=300)
        fresh = await client.xreadgroup(CONSUMER_GROUP, "new", {part: ">"}, count=300)
        lease = Lease(keys.part_lease(0), keys.fence, "new", 5.0)
        assert await lease.acquire(client)
        store = PartitionStore(
            url, "p", keys, 0, lease, conn,
            clock=VirtualClock(0.0), interaction_timeout_s=30, cooldown_period_s=60,
        )  # fmt: skip
        store.acks = [eid for eid, _ in fresh[0][1]]
        await store.commit([], None, NotePolicy(), {})
        left = await client.xrange(part, "-", "+")
        pending = await client.xpending(part, CONSUMER_GROUP)
        await conn.aclose()
        return int(pending["pending"]), [
            eid for eid, _ in stale[0][1] if eid not in {e for e, _ in left}
        ]

    pending, trimmed = asyncio.run(main())
    assert pending == 300  # the stale read's entries, waiting for the owner to claim them
    assert trimmed == []


def test_a_pending_entry_deleted_before_it_was_applied_is_reported_as_lost(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Only a foreign XDEL or XTRIM can do this now; the member must say so, not ack quietly.
    sessions = generate_sessions(20, seed=22, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    url = redis_url.rsplit("/", 1)[0] + "/8"
    keys = GroupKeys("demo")
    part = keys.part(0)

    async def main() -> tuple[int, int, dict[str, Any]]:
        client = aioredis.Redis.from_url(url)
        await client.flushdb()
        gone = make_member(url, recording, TRIGGERS, "gone", Lines(), partitions=1)
        owner = make_member(url, recording, TRIGGERS, "owner", Lines(), partitions=1)
        entries = stream_entries(owner)
        try:
            await gone._join()
            await owner._join()
            await append_all(client, keys, entries, TTL)
            got = await client.xreadgroup(CONSUMER_GROUP, "gone", {part: ">"}, count=5)
            await client.xdel(part, *(eid for eid, _ in got[0][1][:3]))
            await _take(owner, client)
            async with asyncio.timeout(20):
                while owner.health.applied + owner.health.lost < len(entries):
                    await owner._consume_once()
            stats = owner._stats()
        finally:
            await gone._leave()
            await owner._leave()
            pending = (await client.xpending(part, CONSUMER_GROUP))["pending"]
            await client.aclose()
        return owner.health.lost, int(pending), stats

    with caplog.at_level("ERROR"):
        lost, pending, stats = asyncio.run(main())
    assert lost == 3
    assert stats["lost"] == 3
    assert pending == 0
    assert any("were deleted before being applied" in r.getMessage() for r in caplog.records)
