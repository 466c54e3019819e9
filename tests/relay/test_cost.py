"""Per-event cost does not grow with the input: counted operations, no timings.

With a Redis store, a network read (a chunk of events) costs at most two round trips
(read its sessions and links ahead, commit its effects), however many sessions,
links and notes it holds. Round trips are counted at the connection, as sends of
packed commands to a real redis-server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.relay.pipeline import Relay
from autoplay_cli.relay.runner import replay_input, resolve_config
from autoplay_cli.relay.store import RedisRelayStore
from autoplay_cli.simulate.clock import VirtualClock

from .conftest import write_recording

CHUNK = 40


def _recording(tmp_path: Path, sessions: int) -> Path:
    payloads = interleave(generate_sessions(sessions, seed=5))
    return write_recording(
        tmp_path / f"r{sessions}.ndjson", [(p.forwarded_at, p) for p in payloads]
    )


def _counting_client(url: str) -> tuple[Any, list[int]]:
    import redis.asyncio as aioredis

    sends = [0]

    class Counting(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sends[0] += 1  # one send per command or per pipeline: one round trip
            await super().send_packed_command(command, check_health)

    return aioredis.Redis.from_url(url, connection_class=Counting), sends


def _replay(path: Path, redis_url: str) -> tuple[int, int, Relay]:
    """(chunks fed, round trips while feeding, relay) for *path* through a Redis store."""

    async def run() -> tuple[int, int, Relay]:
        replay = replay_input(path)
        config = resolve_config(None)
        clock = VirtualClock(replay.start)
        client, sends = _counting_client(redis_url)
        store = RedisRelayStore(
            redis_url,
            f"cost-{uuid.uuid4().hex[:8]}",
            client=client,
            clock=clock,
            interaction_timeout_s=config.interaction_timeout_s,
            cooldown_period_s=config.cooldown_period_s,
            window_size=config.window_actions,
        )
        relay = Relay(config, store, clock, product_id=store.product_id)
        await relay.resume()  # loads the scripts: the first batch needs no NOSCRIPT detour
        before, chunks = sends[0], 0
        while chunk := list(itertools.islice(replay.events, CHUNK)):
            await relay.feed(chunk, chunk[-1].event_id)
            chunks += 1
        trips = sends[0] - before
        await client.aclose()
        await store.aclose()
        return chunks, trips, relay

    return asyncio.run(run())


def test_redis_round_trips_per_network_read_do_not_grow_with_the_input(
    redis_url: str, tmp_path: Path
) -> None:
    small = _replay(_recording(tmp_path, 20), redis_url)
    large = _replay(_recording(tmp_path, 120), redis_url)
    for chunks, trips, relay in (small, large):
        c = relay.counters
        # The input exercises what once cost round trips per event: links and notes.
        assert c.links > 0 and c.notes > 0 and c.offers > 0
        assert trips <= 2 * chunks, (trips, chunks)
    assert large[0] >= 3 * small[0]  # the large input really is larger


def test_the_sender_drains_a_redis_outbox_in_one_round_trip_per_page(
    redis_url: str, tmp_path: Path
) -> None:
    """An acknowledgement rides with the next read of the outbox: a drain of P pages costs
    P + 1 round trips (the last read finds nothing), not one more per acknowledgement."""
    import io

    from autoplay_cli.relay.destinations import StdoutDestination
    from autoplay_cli.relay.sender import Sender

    async def run() -> tuple[int, int, int, list[str], list[str]]:
        client, sends = _counting_client(redis_url)
        store = RedisRelayStore(
            redis_url,
            f"cost-{uuid.uuid4().hex[:8]}",
            client=client,
            clock=VirtualClock(0.0),
            interaction_timeout_s=60,
            cooldown_period_s=60,
        )
        await store.open()
        deliveries = [
            Delivery.make(
                "note",
                product_id="p",
                session_id=f"s{i}",
                body="b",
                created_at=0,
                event_ids=[str(i)],
            )
            for i in range(600)  # three pages of 256
        ]
        await store.commit(deliveries, "1", NotePolicy(), {})
        out = io.StringIO()
        sender = Sender(store, StdoutDestination(out))
        before = sends[0]
        drained = await sender.drain()
        trips = sends[0] - before
        depth = await store.outbox_depth()  # the last acknowledgement went with the last read
        sent = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
        await store.aclose()
        await client.aclose()
        return drained, trips, depth, sent, [d.id for d in deliveries]

    drained, trips, depth, sent, made = asyncio.run(run())
    assert drained == 600 and len(set(made)) == 600
    assert sent == made  # each once, in outbox order
    assert depth == 0
    assert trips == 4, trips  # pages of 256, 256 and 88, then an empty read
