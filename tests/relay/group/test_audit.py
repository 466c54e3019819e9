"""The audit survives a kill -9 anywhere around a commit: every applied event has one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from autoplay_cli.relay.group.audit import AuditLog
from autoplay_cli.relay.group.keys import CONSUMER_GROUP, GroupKeys
from autoplay_cli.relay.group.lease import Lease
from autoplay_cli.relay.group.member import PartitionStore
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.session._redis import RedisConnection
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.inputs import SimEvent

DB = 2  # a database no other test uses


def _events(first: int, n: int) -> list[SimEvent]:
    return [
        SimEvent(1.0, f"s{i % 3}", "summary", "e", None, event_id=str(i))
        for i in range(first, first + n)
    ]


def _ids(path: Path) -> list[str]:
    return [json.loads(x)["event_id"] for x in path.read_text().splitlines()]


def test_lines_committed_but_not_written_before_a_crash_are_written_once_at_restart(
    redis_url: str, tmp_path: Path
) -> None:
    async def main() -> None:
        url = redis_url.rsplit("/", 1)[0] + f"/{DB}"
        conn = RedisConnection(url)
        client = conn.client()
        await client.flushdb()
        keys = GroupKeys("p")
        part = keys.part(0)
        await client.xgroup_create(part, CONSUMER_GROUP, id="0", mkstream=True)
        ids = [await client.xadd(part, {"i": str(i)}) for i in range(9)]
        await client.xreadgroup(CONSUMER_GROUP, "m", {part: ">"})
        lease = Lease(keys.part_lease(0), keys.fence, "m", 5.0)
        assert await lease.acquire(client)
        store = PartitionStore(
            url, "p", keys, 0, lease, conn,
            clock=VirtualClock(0.0), interaction_timeout_s=30, cooldown_period_s=60,
        )  # fmt: skip
        audit = AuditLog(tmp_path, "m", keys.audit("m"))
        store.audit = audit

        async def commit(first: int, entry_ids: list[bytes]) -> None:
            store.acks, store.audit_events = list(entry_ids), _events(first, 3)
            await store.prefetch({"s0", "s1", "s2"})
            await store.commit([], None, NotePolicy(), {})

        # 1-3: committed and written. 4-6: committed, written, then killed before the
        # list forgot them. 7-9: committed, killed before the file write (torn line).
        await commit(1, ids[0:3])
        await audit.flush(client)
        await commit(4, ids[3:6])
        await commit(7, ids[6:9])
        head = (await client.lindex(keys.audit("m"), 0)).decode()
        audit._write(head)
        with audit.path.open("a") as fh:
            fh.write('{"event_id":"7","sess')
        audit.close()
        restarted = AuditLog(tmp_path, "m", keys.audit("m"))
        await restarted.recover(client)
        restarted.close()
        assert await client.llen(keys.audit("m")) == 0
        assert (await client.xpending(part, CONSUMER_GROUP))["pending"] == 0
        await conn.aclose()

    asyncio.run(main())
    assert _ids(tmp_path / "m.ndjson") == [str(i) for i in range(1, 10)]


def test_a_batch_half_written_before_a_crash_is_completed_not_repeated(
    redis_url: str, tmp_path: Path
) -> None:
    async def main() -> None:
        url = redis_url.rsplit("/", 1)[0] + f"/{DB}"
        conn = RedisConnection(url)
        client = conn.client()
        await client.flushdb()
        keys = GroupKeys("p")
        audit = AuditLog(tmp_path, "m", keys.audit("m"))
        batch = audit.render(0, [(str(i), "s") for i in range(1, 5)])
        await client.rpush(keys.audit("m"), batch)
        lines = batch.splitlines(keepends=True)
        audit._write(lines[0] + lines[1] + lines[2][:7])  # killed inside the write
        audit.close()
        restarted = AuditLog(tmp_path, "m", keys.audit("m"))
        await restarted.recover(client)
        restarted.close()
        assert await client.llen(keys.audit("m")) == 0
        await conn.aclose()

    asyncio.run(main())
    assert _ids(tmp_path / "m.ndjson") == ["1", "2", "3", "4"]
