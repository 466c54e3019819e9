"""A read whose reply is lost (Redis handed the entries out, the member never saw them)."""

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
    url = redis_url.rsplit("/", 1)[0] + "/11"
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
