"""Real processes: 3 members + emulator; kill -9 the stream holder and a partition owner."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from .procs import TTL, Members, appended, assert_exactly_once, audit_lines, status, wait_for

EVENTS = 2000


def test_kill_9_of_the_holder_and_of_a_partition_owner_loses_and_repeats_nothing(
    make_emulator: Any, redis_url: str, tmp_path: Path
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/9"
    emu = make_emulator(rate=0, max_events=EVENTS, ring_size=EVENTS * 2, seed=3)
    members = Members(emu, url, tmp_path)
    product = emu.product_id
    try:
        for name in ("m0", "m1", "m2"):
            members.start(name)
        st = wait_for(lambda: (s := status(url, product)) and s.holder and s, 30, "a holder")
        # A third of the way: kill -9 the stream holder; another member takes over.
        wait_for(lambda: appended(url, product) >= EVENTS // 3, 60, "a third of the events")
        holder = status(url, product).holder  # type: ignore[union-attr]
        assert holder is not None
        members.kill9(holder)
        killed_at = time.monotonic()
        new = wait_for(
            lambda: (s := status(url, product)) and s.holder not in (None, holder) and s.holder,
            TTL + 10,
            "a new holder",
        )
        takeover = time.monotonic() - killed_at
        assert takeover <= TTL + 2, takeover
        members.start(holder)
        # Two thirds: kill -9 a member owning partitions but not the stream.
        wait_for(lambda: appended(url, product) >= 2 * EVENTS // 3, 60, "two thirds")
        st = status(url, product)
        assert st is not None
        owner = next(p.owner for p in st.partitions if p.owner and p.owner != st.holder)
        members.kill9(owner)
        time.sleep(0.5)
        members.start(owner)
        # The end: everything appended is applied and sent.
        wait_for(
            lambda: (s := status(url, product)) and s.checkpoint == str(EVENTS) and s.idle,
            60,
            "the group to catch up",
        )
        assert new
    finally:
        members.stop_all()
    audit = audit_lines(tmp_path / "audit")
    assert_exactly_once(audit, EVENTS)  # whoever applied it
    per_session: dict[str, list[int]] = defaultdict(list)
    for a in sorted(audit, key=lambda a: int(a["event_id"])):
        per_session[a["session_id"]].append(int(a["event_id"]))
    assert len(per_session) > 50
    assert {a["member"] for a in audit} >= {"m0", "m1", "m2"} - {None}
    deliveries = members.deliveries()
    assert deliveries, "the personas make offers"
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in deliveries:
        by_id[d["id"]].append(d)
    for copies in by_id.values():
        # A duplicate (sent, then its owner died before the outbox forgot it) is identical.
        assert all(
            {k: v for k, v in c.items() if k != "created_at"}
            == {k: v for k, v in copies[0].items() if k != "created_at"}
            for c in copies
        )
