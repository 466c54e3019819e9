"""Run relay group members in this process on a recording (replay mode) until the group is idle."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoplay_cli.relay.destinations import StdoutDestination
from autoplay_cli.relay.group.keys import GroupKeys
from autoplay_cli.relay.group.lease import Lease, fenced_append
from autoplay_cli.relay.group.member import GroupOptions, Member
from autoplay_cli.relay.group.status import read_status
from autoplay_cli.relay.runner import resolve_config
from autoplay_cli.session._redis import RedisConnection
from autoplay_cli.simulate.inputs import load_inputs
from autoplay_cli.wire import payload_json

from ..conftest import Captured

Lines = Captured  # a text sink collecting the NDJSON deliveries


def make_member(
    url: str,
    recording: Path,
    config: Path | None,
    name: str,
    sink: Lines,
    *,
    product_id: str = "demo",
    partitions: int = 8,
    lease_ttl: float = 2.0,
    audit_dir: Path | None = None,
) -> Member:
    inputs = load_inputs([recording])
    return Member(
        url,
        product_id,
        resolve_config(config, inputs.config),
        StdoutDestination(sink),  # type: ignore[arg-type]
        GroupOptions(member=name, partitions=partitions, lease_ttl=lease_ttl, audit_dir=audit_dir),
        replay=inputs.events,
        replay_start=inputs.start,
    )


async def wait_idle(
    url: str,
    product_id: str,
    members: list[Member],
    timeout: float,
    tasks: Sequence[asyncio.Task[Any]] = (),
) -> None:
    """Until the recording is appended and every partition is applied and sent.

    A member task (*tasks*) that ends meanwhile fails the wait at once with its error,
    rather than leaving the test to wait for a group that lost a member.
    """
    conn = RedisConnection(url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0.2)
                for task in tasks:
                    if task.done():
                        raise AssertionError(f"a member stopped early: {task.exception()!r}")
                if not any(m.source_done for m in members):
                    continue
                status = await read_status(conn, product_id)
                if status.idle and all(p.owner for p in status.partitions):
                    return
    finally:
        await conn.aclose()


async def run_group(
    url: str, recording: Path, config: Path | None, names: list[str], **kwargs: Any
) -> list[dict[str, Any]]:
    """Replay *recording* through members *names* (all in this loop); their deliveries."""
    sink = Lines()
    members = [make_member(url, recording, config, n, sink, **kwargs) for n in names]
    stops = [asyncio.Event() for _ in members]
    tasks = [asyncio.create_task(m.run(s)) for m, s in zip(members, stops, strict=True)]
    try:
        await wait_idle(url, kwargs.get("product_id", "demo"), members, 60, tasks)
    finally:
        for stop in stops:
            stop.set()
        async with asyncio.timeout(30):  # a member that does not stop fails the test
            await asyncio.gather(*tasks)
    return sink.deliveries()


def stream_entries(member: Member) -> list[Any]:
    """The group stream's entries for *member*'s recording, as its holder appends them."""
    assert member.replay is not None
    return [
        member._entry(e.event_id, e.time, e.session_id, payload_json(e.payload))
        for e in member.replay
        if e.event_id is not None and e.payload is not None
    ]


async def append_all(client: Any, keys: GroupKeys, entries: list[Any], ttl: float) -> None:
    """Append *entries* to the group stream as a stream holder named "holder" would."""
    holder = Lease(keys.stream_lease, keys.fence, "holder", ttl)
    assert await holder.acquire(client)
    await fenced_append(client, holder, keys.checkpoint, entries[-1][1], entries)
