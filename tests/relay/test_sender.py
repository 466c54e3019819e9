"""The sender: deliveries leave the outbox once, even when removing them fails for a while."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from autoplay_cli.errors import StoreUnavailableError
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.destinations import StdoutDestination
from autoplay_cli.relay.sender import Sender
from autoplay_cli.relay.store import MemoryRelayStore
from autoplay_cli.simulate.clock import VirtualClock


class OutageOnFirstAck(MemoryRelayStore):
    """A store whose first removal from the outbox is refused, as during a Redis outage."""

    refused = 0

    async def outbox_ack(self, entry_ids: Any) -> None:
        if not self.refused:
            self.refused += 1
            raise StoreUnavailableError("redis at 127.0.0.1 is unavailable")
        await super().outbox_ack(entry_ids)


def test_deliveries_whose_removal_from_the_outbox_failed_are_removed_later_not_resent() -> None:
    async def scenario() -> tuple[int, int, list[str]]:
        store = OutageOnFirstAck(
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
        await store.commit(notes, None, None, {})  # type: ignore[arg-type]
        out = io.StringIO()
        sender = Sender(store, StdoutDestination(out))  # type: ignore[arg-type]
        with pytest.raises(StoreUnavailableError):
            await sender.drain()
        await sender.drain()
        sent = [json.loads(line)["session_id"] for line in out.getvalue().splitlines()]
        return await store.outbox_depth(), store.refused, sent

    depth, refused, sent = asyncio.run(scenario())
    assert refused == 1
    assert depth == 0  # the second drain removed what the first one could not
    assert sent == ["s0", "s1", "s2"]  # each sent once


def _deliveries() -> list[Delivery]:
    bodies = ["plain", "Session s — 2 actions\n[0] click: é — /a", "lone \ud800 surrogate"]
    return [
        Delivery.make(
            "note", product_id="p", session_id="s", body=b, created_at=1.5, event_ids=[str(i)]
        )
        for i, b in enumerate(bodies)
    ]


def test_stdout_lines_written_as_bytes_are_the_text_streams_bytes() -> None:
    """Over a UTF-8 text stream, lines go to its buffer as bytes: the bytes must be what
    writing the text gives, in order with text written to the stream before them."""

    async def through(stream: Any) -> None:
        destination = StdoutDestination(stream)
        stream.write("text first\n")  # unflushed text must not be overtaken
        for d in _deliveries():
            await destination.send(d)
        destination.flush()

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=False)
    asyncio.run(through(stream))
    expected = "text first\n" + "".join(d.to_json() + "\n" for d in _deliveries())
    assert raw.getvalue() == expected.encode("utf-8")
    assert [Delivery.from_json(x).body for x in expected.splitlines()[1:]] == [
        d.body for d in _deliveries()
    ]

    latin = io.BytesIO()  # not UTF-8: written as text, the stream's encoding applies
    stream = io.TextIOWrapper(latin, encoding="latin-1", errors="replace")
    asyncio.run(through(stream))
    assert latin.getvalue() == expected.encode("latin-1", errors="replace")
