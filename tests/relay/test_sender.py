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
