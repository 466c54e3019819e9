"""The relay's Redis store: same decisions as memory, state and outbox committed together."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.store import RedisRelayStore, newer, product_tag

from .conftest import EXAMPLES, relay_file

REC = EXAMPLES / "simulate" / "recording.ndjson"
TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def test_redis_store_decides_like_memory_and_never_applies_an_event_twice(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = f"p-{uuid.uuid4().hex[:8]}"
    memory, _ = relay_file(REC, monkeypatch, config=TRIGGERS, product_id=product)
    first, summary = relay_file(
        REC, monkeypatch, config=TRIGGERS, product_id=product, store=redis_url
    )
    assert first == memory and len(first) == 2
    assert summary.sender is not None and summary.sender.stats.delivered == 2
    client = _redis(redis_url)
    prefix = f"autoplay:relay:{product_tag(product)}:"
    session = client.hgetall(prefix + "session:sess_2616964a26d4")
    assert int(session[b"revision"]) >= 1
    assert json.loads(session[b"snapshot"])["last_trigger_id"] == "canonical_url_ping_pong"
    assert session[b"last_event_id"] == b"6"  # its summary, the last event of its own
    assert len(json.loads(session[b"window"])) > 0
    assert client.xlen(prefix + "outbox") == 0  # everything sent left the outbox
    assert client.llen(prefix + "activity:usr_4fa6f378") > 0
    # The same input again: every session has applied these events already.
    again, summary = relay_file(
        REC, monkeypatch, config=TRIGGERS, product_id=product, store=redis_url
    )
    assert again == []
    assert summary.relay is not None and summary.relay.counters.skipped_replayed == 8


def test_commit_writes_state_outbox_and_checkpoint_in_one_transaction(redis_url: str) -> None:
    async def scenario() -> None:
        from autoplay_cli.relay.notes import NotePolicy
        from autoplay_cli.simulate.clock import VirtualClock

        product = f"p-{uuid.uuid4().hex[:8]}"
        store = RedisRelayStore(
            redis_url,
            product,
            clock=VirtualClock(0),
            interaction_timeout_s=20,
            cooldown_period_s=60,
        )
        assert await store.open() is None
        await store.sessions.update("s1", lambda s: s.transition_to_proactive("t"))
        d = Delivery.make(
            "note", product_id=product, session_id="s1", body="b", created_at=1, event_ids=["5"]
        )
        client = store._conn.client()
        await client.execute_command("MULTI")  # a transaction on another connection...
        await client.execute_command("EXEC")  # ...does not interfere
        await store.commit([d], "5", NotePolicy(), {})
        assert [x.id for _, x in await store.outbox_peek(10)] == [d.id]
        # A restarted store sees the checkpoint and the session waiting to time out.
        again = RedisRelayStore(
            redis_url,
            product,
            clock=VirtualClock(0),
            interaction_timeout_s=20,
            cooldown_period_s=60,
        )
        assert await again.open() == "5"
        assert [s.session_id for s in again.reopened] == ["s1"]
        entries = await again.outbox_peek(10)
        await again.outbox_ack([e for e, _ in entries])
        assert await again.outbox_depth() == 0
        await store.aclose()
        await again.aclose()

    asyncio.run(scenario())


def test_event_id_order() -> None:
    assert newer("10", "9") and not newer("9", "10") and not newer("5", "5")
    assert newer("5", None) and newer("b", "a") and not newer("a", "a")


def test_product_tag_keeps_braces_out() -> None:
    assert product_tag("acme") == "{acme}" and product_tag("a{b}") == "{a(b)}"


def test_redis_store_is_reachable_or_fails_with_exit_6(tmp_path: Path) -> None:
    from autoplay_cli.errors import StoreUnavailableError
    from autoplay_cli.simulate.clock import VirtualClock

    store = RedisRelayStore(
        "redis://127.0.0.1:1/0", "p", clock=VirtualClock(0), interaction_timeout_s=20,
        cooldown_period_s=60,
    )  # fmt: skip
    with pytest.raises(StoreUnavailableError):
        asyncio.run(store.open())


def test_a_note_buffered_at_a_crash_is_sent_after_the_restart(redis_url: str) -> None:
    from autoplay_cli.relay.pipeline import Relay
    from autoplay_cli.simulate.clock import VirtualClock
    from autoplay_cli.simulate.inputs import SimEvent
    from autoplay_cli.triggers import TriggerConfig
    from autoplay_cli.wire import ActionsPayload

    product = f"p-{uuid.uuid4().hex[:8]}"

    def relay() -> Relay:
        clock = VirtualClock(1000.0)
        store = RedisRelayStore(
            redis_url, product, clock=clock, interaction_timeout_s=20, cooldown_period_s=60
        )
        return Relay(TriggerConfig(), store, clock, product_id=product)

    async def scenario() -> list[Delivery]:
        first = relay()
        await first.resume()
        await first.link("s", "conv")
        batch = ActionsPayload(session_id="s", actions=[{"canonical_url": "/a"}])  # type: ignore[list-item]
        await first.feed([SimEvent(1000.0, "s", "actions", "x", batch, event_id="1")], "1")
        assert first.notes.pending("s") == 1  # in its coalescing window: not sent yet
        await first.store.aclose()  # ...and the process dies here
        second = relay()
        assert await second.resume() == "1"
        await second.tick(1001.0)
        notes = [d for _, d in await second.store.outbox_peek(10)]
        await second.store.aclose()
        return notes

    (note,) = asyncio.run(scenario())
    assert note.type == "note" and note.event_ids == ("1",) and note.conversation_id == "conv"


def test_sweep_forgets_sessions_quiet_for_a_day_and_keeps_the_rest() -> None:
    from autoplay_cli.relay.pipeline import Relay
    from autoplay_cli.relay.store import MemoryRelayStore
    from autoplay_cli.simulate.clock import VirtualClock
    from autoplay_cli.simulate.inputs import SimEvent
    from autoplay_cli.triggers import TriggerConfig
    from autoplay_cli.wire import ActionsPayload

    async def scenario() -> tuple[int, list[str], int]:
        clock = VirtualClock(0.0)
        store = MemoryRelayStore("p", clock=clock, interaction_timeout_s=20, cooldown_period_s=60)
        relay = Relay(TriggerConfig(), store, clock, product_id="p")

        def batch(sid: str, t: float, n: str) -> SimEvent:
            payload = ActionsPayload(session_id=sid, actions=[{"canonical_url": "/a"}])  # type: ignore[list-item]
            return SimEvent(t, sid, "actions", "x", payload, event_id=n)

        await relay.feed([batch("old", 0.0, "1"), batch("new", 80_000.0, "2")])
        gone = relay.sweep(90_000.0)
        return gone, store.sessions.ids(), len(store.windows)

    gone, left, windows = asyncio.run(scenario())
    assert (gone, left, windows) == (1, ["new"], 1)


def test_activity_and_snapshots_with_a_lone_surrogate_are_stored_and_read_back(
    redis_url: str,
) -> None:
    """JSON spells a lone surrogate (from a "\\ud800" escape) that UTF-8 cannot: such a
    value is written as JSON writes it, beside ordinary records, and reads back the same."""

    async def scenario() -> tuple[list[Any], dict[str, Any]]:
        from autoplay_cli.relay.notes import NotePolicy
        from autoplay_cli.simulate.clock import VirtualClock

        def make() -> RedisRelayStore:
            return RedisRelayStore(
                redis_url, product, clock=VirtualClock(0), interaction_timeout_s=20,
                cooldown_period_s=60,
            )  # fmt: skip

        product = f"p-{uuid.uuid4().hex[:8]}"
        store = make()
        await store.open()
        await store.sessions.update("s1", lambda s: s.metadata.update(note="a\ud800b"))
        records: list[tuple[float, dict[str, Any]]] = [
            (1.0, {"title": "plain"}),
            (2.0, {"title": "odd \ud800"}),
            (3.0, {"n": 3}),
        ]
        await store.commit([], "1", NotePolicy(), {"u1": records})
        activity = await store.activity("u1")
        await store.aclose()
        again = make()
        await again.open()
        [state] = await again.prefetch(["s1"])
        await again.aclose()
        return activity, state.metadata

    activity, metadata = asyncio.run(scenario())
    assert activity == [(1.0, {"title": "plain"}), (2.0, {"title": "odd \ud800"}), (3.0, {"n": 3})]
    assert metadata == {"note": "a\ud800b"}


def test_a_users_activity_keeps_its_last_50_records_in_order_however_many_a_batch_adds(
    redis_url: str,
) -> None:
    async def scenario() -> list[list[Any]]:
        from autoplay_cli.relay.notes import NotePolicy
        from autoplay_cli.simulate.clock import VirtualClock

        store = RedisRelayStore(
            redis_url, f"p-{uuid.uuid4().hex[:8]}", clock=VirtualClock(0),
            interaction_timeout_s=20, cooldown_period_s=60,
        )  # fmt: skip
        await store.open()
        seen, start = [], 0
        for batch in (3, 2500, 7):  # the large batch is pushed in several commands
            records = [(float(start + i), {"i": start + i}) for i in range(batch)]
            start += batch
            await store.commit([], None, NotePolicy(), {"u1": records})
            seen.append(await store.activity("u1"))
        await store.aclose()
        return [[r["i"] for _, r in rows] for rows in seen]

    first, second, third = asyncio.run(scenario())
    assert first == [0, 1, 2]
    assert second == list(range(3 + 2500 - 50, 3 + 2500))
    assert third == list(range(3 + 2500 + 7 - 50, 3 + 2500 + 7))


def test_memory_outbox_peek_after_any_acknowledgements() -> None:
    """``outbox_peek`` (bisection and a slice) returns what a plain scan of the queue would,
    whatever was acknowledged before (heads, middles, nothing) and wherever *after* is."""
    import random

    from autoplay_cli.relay.notes import NotePolicy
    from autoplay_cli.relay.store import MemoryRelayStore
    from autoplay_cli.simulate.clock import VirtualClock

    async def scenario() -> None:
        rng = random.Random(11)
        store = MemoryRelayStore(
            "p", clock=VirtualClock(0), interaction_timeout_s=20, cooldown_period_s=60
        )
        queued: list[tuple[int, str]] = []  # the reference: (entry, delivery id) in order
        number = 0
        for round_ in range(60):
            batch = [
                Delivery.make(
                    "note", product_id="p", session_id="s", body="b", created_at=1,
                    event_ids=[f"{round_}-{i}"],
                )
                for i in range(rng.randrange(0, 9))
            ]  # fmt: skip
            await store.commit(batch, None, NotePolicy(), {})
            for d in batch:
                number += 1  # entries are numbered 1, 2, ... in commit order
                queued.append((number, d.id))
            numbers = [e for e, _ in queued]
            for after in [None, 0, *numbers, *(n + 1 for n in numbers), 10_000]:
                for limit in (1, 3, 1_000):
                    want = [q for q in queued if after is None or q[0] > after][:limit]
                    got = [(e, d.id) for e, d in await store.outbox_peek(limit, after)]
                    assert got == want, (after, limit)
            acked = [e for e in numbers if rng.random() < 0.4]
            await store.outbox_ack(acked)
            queued = [q for q in queued if q[0] not in acked]
            assert await store.outbox_depth() == len(queued)

    asyncio.run(scenario())
