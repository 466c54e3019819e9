"""Crash safety with a Redis store: kill -9 the relay mid-stream, restart it, lose nothing.

Real processes and peers: the emulator (HTTP, in this process's threads), the relay
as a child process, a real redis-server, and a receiver that checks signatures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis

from autoplay_cli.relay.store import product_tag
from autoplay_cli.stream.client import StreamClient, StreamConfig
from autoplay_cli.wire import PayloadEvent

from .conftest import EXAMPLES
from .receiver import Receiver, running
from .running import wait_for

SECRET = "whsec_crash_test_0123456789"


def _start(emu: Any, redis_url: str, receiver: Receiver, tmp: Path, name: str) -> Any:
    env = {
        **os.environ,
        "AUTOPLAY_TOKEN": emu.token,
        "AUTOPLAY_RELAY_SECRET": SECRET,
        "AUTOPLAY_DATA_DIR": str(tmp),
    }
    args = [
        sys.executable, "-m", "autoplay_cli", "relay",
        "--connector-url", emu.url, "--product-id", emu.product_id,
        "--to", receiver.url, "--store", redis_url, "--listen", "off",
        "-c", str(EXAMPLES / "simulate" / "triggers.toml"),
        "--dead-letter", str(tmp / "dead.ndjson"),
    ]  # fmt: skip
    log = (tmp / f"{name}.log").open("w")
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _stream(emu: Any, last_id: str) -> list[PayloadEvent]:
    """Every payload event the emulator produced, read back from its ring buffer."""
    client = StreamClient(StreamConfig(emu.url, emu.product_id, emu.token, last_event_id="0"))
    events: list[PayloadEvent] = []
    for event in client.iter_events():
        if type(event) is PayloadEvent:
            events.append(event)
            if event.id == last_id:
                return events
    raise AssertionError("stream ended early")  # pragma: no cover


def test_kill_9_mid_stream_then_restart_loses_no_delivery(
    make_emulator: Any, redis_url: str, tmp_path: Path
) -> None:
    total = 1200
    product = f"crash-{uuid.uuid4().hex[:8]}"
    emu = make_emulator(rate=150, max_events=total, product_id=product, retry_ms=10)
    checkpoint_key = f"autoplay:relay:{product_tag(product)}:checkpoint"
    store = redis.Redis.from_url(redis_url)
    with running(Receiver(SECRET)) as receiver:
        first = _start(emu, redis_url, receiver, tmp_path, "first")
        try:
            wait_for(lambda: int(store.get(checkpoint_key) or 0) >= total // 3, timeout=60)  # type: ignore[arg-type]
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        killed_at = int(store.get(checkpoint_key) or 0)  # type: ignore[arg-type]
        assert killed_at < total, "the relay was killed after the end of the stream"
        second = _start(emu, redis_url, receiver, tmp_path, "second")
        try:
            wait_for(lambda: int(store.get(checkpoint_key) or 0) >= total, timeout=90)  # type: ignore[arg-type]
            second.send_signal(signal.SIGTERM)  # a clean stop: drain, then exit 0
            assert second.wait(30) == 0, (tmp_path / "second.log").read_text()
        finally:
            if second.poll() is None:
                second.kill()
    log = (tmp_path / "second.log").read_text()
    assert "SIGTERM received" in log

    # Duplicates only with the same id, and then identical.
    by_id: dict[str, dict[str, Any]] = {}
    for delivery in receiver.accepted:
        assert by_id.setdefault(delivery["id"], delivery) == delivery
    # A request cut off by the kill is not a bad signature; at most the one in flight.
    assert receiver.bad_signatures == 0 and receiver.cut_off <= 1
    # Every event of a linked session is in exactly one note: none missing, none twice.
    events = _stream(emu, str(total))
    linked = {e.view.session_id for e in events if getattr(e.view, "conversation_id", None)}
    expected = {e.id for e in events if e.view.session_id in linked}
    covered: dict[str, str] = {}
    for delivery in by_id.values():
        if delivery["type"] != "note":
            continue
        for event_id in delivery["event_ids"]:
            assert covered.setdefault(event_id, delivery["id"]) == delivery["id"], event_id
    assert linked and expected
    assert set(covered) == expected
    # Offers: at most one per triggering event, each delivered.
    offers = defaultdict(list)
    for d in by_id.values():
        if d["type"] == "proactive_offer":
            offers[d["event_ids"][0]].append(d["id"])
    assert offers and all(len(ids) == 1 for ids in offers.values())
    # The outbox is empty once the second run has drained it.
    assert store.xlen(f"autoplay:relay:{product_tag(product)}:outbox") == 0
