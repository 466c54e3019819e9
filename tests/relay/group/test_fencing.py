"""Fencing: a member whose lease was taken over writes nothing, whatever it believes."""

from __future__ import annotations

import asyncio
import time

from autoplay_cli.relay.group.keys import CONSUMER_GROUP, GroupKeys, partition_of
from autoplay_cli.relay.group.lease import Lease, LeaseLost, fenced_append
from autoplay_cli.relay.group.member import PartitionStore
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.session._redis import RedisConnection
from autoplay_cli.simulate.clock import VirtualClock


def db(url: str, n: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{n}"


def test_a_stale_stream_holder_cannot_append(redis_url: str) -> None:
    async def main() -> None:
        conn = RedisConnection(db(redis_url, 5))
        client = conn.client()
        await client.flushdb()
        keys = GroupKeys("p")
        old = Lease(keys.stream_lease, keys.fence, "old", 0.2)
        new = Lease(keys.stream_lease, keys.fence, "new", 5.0)
        assert await old.acquire(client)
        assert not await new.acquire(client)  # held: SET NX refuses
        await asyncio.sleep(0.3)  # old is "paused" past its TTL
        assert await new.acquire(client)
        assert new.token > old.token
        # The paused process still believes it holds the lease (as after SIGSTOP):
        # only Redis can say no, and it does, writing nothing.
        old.value, old.valid_until = f"{old.token}:old", time.monotonic() + 60
        entry = (keys.part(0), "10", "1.0", '{"type":"summary"}')
        try:
            await fenced_append(client, old, keys.checkpoint, "10", [entry])
            raise AssertionError("the stale holder appended")
        except LeaseLost:
            pass
        assert await client.xlen(keys.part(0)) == 0
        assert await client.get(keys.checkpoint) is None
        assert await fenced_append(client, new, keys.checkpoint, "10", [entry]) == 1
        assert await client.get(keys.checkpoint) == b"10"
        await conn.aclose()

    asyncio.run(main())


def test_a_partition_commit_after_takeover_changes_nothing(redis_url: str) -> None:
    async def main() -> None:
        url = db(redis_url, 6)
        conn = RedisConnection(url)
        client = conn.client()
        await client.flushdb()
        keys = GroupKeys("p")
        part = keys.part(0)
        await client.xgroup_create(part, CONSUMER_GROUP, id="0", mkstream=True)
        entry_id = await client.xadd(part, {"i": "1"})
        await client.xreadgroup(CONSUMER_GROUP, "old", {part: ">"})
        old = Lease(keys.part_lease(0), keys.fence, "old", 0.2)
        assert await old.acquire(client)
        clock = VirtualClock(0.0)
        store = PartitionStore(
            url, "p", keys, 0, old, conn,
            clock=clock, interaction_timeout_s=30, cooldown_period_s=60,
        )  # fmt: skip
        await store.sessions.get_or_create("s1")
        store.acks = [entry_id]
        await asyncio.sleep(0.3)
        new = Lease(keys.part_lease(0), keys.fence, "new", 5.0)
        assert await new.acquire(client)
        try:
            await store.commit([], None, NotePolicy(), {})
            raise AssertionError("the stale owner committed")
        except LeaseLost:
            pass
        assert not await client.exists(store.key("session", "s1"))
        pending = await client.xpending(part, CONSUMER_GROUP)
        assert pending["pending"] == 1  # not acknowledged: the new owner takes it over
        # With the lease, the same commit goes through.
        store.lease, store.acks = new, [entry_id]
        await store.commit([], None, NotePolicy(), {})
        assert await client.exists(store.key("session", "s1"))
        assert (await client.xpending(part, CONSUMER_GROUP))["pending"] == 0
        await conn.aclose()

    asyncio.run(main())


def test_partitions_are_stable_and_spread() -> None:
    ids = [f"sess_{n:05d}" for n in range(2000)]
    counts = [0] * 16
    for sid in ids:
        counts[partition_of(sid, 16)] += 1
    assert partition_of("sess_00042", 16) == partition_of("sess_00042", 16)
    assert min(counts) > 2000 / 16 / 2  # no partition starved
    assert partition_of(None, 16) == 0
