"""Replies lost to a Redis outage: a partition read that handed entries out, a failed commit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
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


def _run_member(
    url: str, recording: Path, sink: Lines, audit: Path, patch: Callable[[Any], None]
) -> None:
    """One member over *recording* until the group is idle, its client first *patch*ed."""

    async def main() -> None:
        client = aioredis.Redis.from_url(url)
        patch(client)
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


def _assert_applied_once_as_alone(
    audit: Path, events: int, sink: Lines, single: list[dict[str, Any]]
) -> None:
    ids = [
        json.loads(x)["event_id"]
        for f in audit.glob("*.ndjson")
        for x in f.read_text().splitlines()
    ]
    assert len(ids) == len(set(ids)) == events
    assert sorted(map(_key, sink.deliveries())) == sorted(map(_key, single))


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

    def patch(client: Any) -> None:
        real = client.xreadgroup

        async def xreadgroup(group: Any, name: Any, streams: Any, **kw: Any) -> Any:
            reply = await real(group, name, streams, **kw)
            if not lost and reply and set(streams.values()) == {">"}:
                lost.append(reply)
                raise rexc.ConnectionError("the reply was lost")
            return reply

        client.xreadgroup = xreadgroup

    _run_member(url, recording, sink, audit, patch)
    assert lost, "no read lost its reply: the test did not test anything"
    _assert_applied_once_as_alone(audit, len(items), sink, single)


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

    def patch(client: Any) -> None:
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

                pipe.execute = execute
            return pipe

        client.xreadgroup = xreadgroup
        client.pipeline = pipeline

    _run_member(url, recording, sink, audit, patch)
    assert failed, "no commit failed after a read of several partitions: nothing was tested"
    _assert_applied_once_as_alone(audit, len(items), sink, single)
