"""Replies lost to a Redis outage: a partition read that handed entries out, an outbox removal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions as rexc

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.session._redis import RedisConnection

from ..conftest import EXAMPLES, relay_file, write_recording
from .harness import Lines, make_member, wait_idle

TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


def _key(d: dict[str, Any]) -> tuple[Any, ...]:
    return (d["id"], d["type"], d["session_id"], d["body"], tuple(d["event_ids"]))


def test_entries_handed_out_by_a_read_whose_reply_was_lost_are_applied(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection that dies after XREADGROUP ran on the server (Redis shut down, a
    # socket timeout) leaves the entries pending for this member: ">" never hands them
    # out again. Which read loses its reply depends on timing in real life; here the
    # first read of new entries runs on the server, then its reply is dropped.
    sessions = generate_sessions(60, seed=11, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    url = redis_url.rsplit("/", 1)[0] + "/14"  # a database no other test uses
    sink = Lines()
    audit = tmp_path / "audit"
    lost: list[Any] = []

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        real = client.xreadgroup

        async def xreadgroup(group: Any, name: Any, streams: Any, **kw: Any) -> Any:
            reply = await real(group, name, streams, **kw)
            if not lost and reply and set(streams.values()) == {">"}:
                lost.append(reply)
                raise rexc.ConnectionError("the reply was lost")
            return reply

        client.xreadgroup = xreadgroup  # type: ignore[method-assign,assignment]
        member = make_member(url, recording, TRIGGERS, "m", sink, audit_dir=audit, lease_ttl=10.0)
        member.conn = RedisConnection(client=client)
        stop = asyncio.Event()
        task = asyncio.create_task(member.run(stop))
        try:
            await wait_idle(url, "demo", [member], 30)
        finally:
            stop.set()
            await task
            await client.aclose()

    asyncio.run(main())
    assert lost, "no read lost its reply: the test did not test anything"
    ids = [
        json.loads(x)["event_id"]
        for f in audit.glob("*.ndjson")
        for x in f.read_text().splitlines()
    ]
    assert len(ids) == len(set(ids)) == len(items)
    assert sorted(map(_key, sink.deliveries())) == sorted(map(_key, single))


def test_deliveries_whose_removal_from_the_outbox_failed_are_removed_later() -> None:
    # The sender's cursor passes what it sent; an acknowledgement refused by an outage
    # must be retried, or the entries stay queued for good (and the group never idles).
    from autoplay_cli.errors import StoreUnavailableError
    from autoplay_cli.relay.delivery import Delivery
    from autoplay_cli.relay.destinations import StdoutDestination
    from autoplay_cli.relay.sender import Sender
    from autoplay_cli.relay.store import MemoryRelayStore
    from autoplay_cli.simulate.clock import VirtualClock

    class OutageOnAck(MemoryRelayStore):
        refused = 0

        async def outbox_ack(self, entry_ids: Any) -> None:
            if not self.refused:
                self.refused += 1
                raise StoreUnavailableError("redis at x is unavailable")
            await super().outbox_ack(entry_ids)

    async def scenario() -> tuple[int, int, list[str]]:
        store = OutageOnAck(
            "p", clock=VirtualClock(0.0), interaction_timeout_s=60, cooldown_period_s=60
        )
        notes = [
            Delivery.make(
                "note",
                product_id="p",
                session_id=f"s{i}",
                body="b",
                created_at=0,
                event_ids=[str(i)],
            )
            for i in range(3)
        ]
        await store.commit(notes, None, None, {})  # type: ignore[arg-type]  # no notes policy needed
        sink = Lines()
        sender = Sender(store, StdoutDestination(sink))  # type: ignore[arg-type]
        with pytest.raises(StoreUnavailableError):
            await sender.drain()
        await sender.drain()
        return (
            await store.outbox_depth(),
            store.refused,
            [d["session_id"] for d in sink.deliveries()],
        )

    depth, refused, sent = asyncio.run(scenario())
    assert refused == 1
    assert depth == 0
    assert sent == ["s0", "s1", "s2"]  # sent once: the retry removes, it does not resend


def test_entries_read_with_a_partition_whose_commit_failed_are_applied(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One read hands out entries of several partitions; the first one's commit fails
    # (Redis went away): the others' entries are pending for this member and must be
    # applied before anything newer, which would trim them from the stream unapplied.
    sessions = generate_sessions(60, seed=12, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    url = redis_url.rsplit("/", 1)[0] + "/15"  # a database no other test uses
    sink = Lines()
    audit = tmp_path / "audit"
    failed: list[int] = []
    armed: list[bool] = []

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        real_read, real_pipeline = client.xreadgroup, client.pipeline

        async def xreadgroup(group: Any, name: Any, streams: Any, **kw: Any) -> Any:
            reply = await real_read(group, name, streams, **kw)
            if not armed and reply and len(reply) >= 2 and set(streams.values()) == {">"}:
                armed.append(True)
            return reply

        def pipeline(transaction: bool = True, **kw: Any) -> Any:
            pipe = real_pipeline(transaction=transaction, **kw)
            if transaction and armed and not failed:
                real_execute = pipe.execute

                async def execute(*args: Any, **kwargs: Any) -> Any:
                    if not failed:
                        failed.append(1)
                        raise rexc.ConnectionError("redis went away")
                    return await real_execute(*args, **kwargs)

                pipe.execute = execute  # type: ignore[method-assign]
            return pipe

        client.xreadgroup = xreadgroup  # type: ignore[method-assign,assignment]
        client.pipeline = pipeline  # type: ignore[method-assign,assignment]
        member = make_member(url, recording, TRIGGERS, "m", sink, audit_dir=audit, lease_ttl=10.0)
        member.conn = RedisConnection(client=client)
        stop = asyncio.Event()
        task = asyncio.create_task(member.run(stop))
        try:
            await wait_idle(url, "demo", [member], 30)
        finally:
            stop.set()
            await task
            await client.aclose()

    asyncio.run(main())
    assert failed, "no commit failed after a read of several partitions: nothing was tested"
    ids = [
        json.loads(x)["event_id"]
        for f in audit.glob("*.ndjson")
        for x in f.read_text().splitlines()
    ]
    assert len(ids) == len(set(ids)) == len(items)
    assert sorted(map(_key, sink.deliveries())) == sorted(map(_key, single))
