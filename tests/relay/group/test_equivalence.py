"""A relay group makes the same deliveries as one relay process on the same recording."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from autoplay_cli.emulator.traffic import generate_sessions, interleave

from ..conftest import EXAMPLES, relay_file, write_recording
from .harness import Lines, make_member, run_group, wait_idle

TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


def db(url: str, n: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{n}"


def key(d: dict) -> tuple:
    return (d["id"], d["type"], d["session_id"], d["body"], tuple(d["event_ids"]))


@pytest.mark.parametrize("seed", [7])
def test_one_member_and_three_members_deliver_what_one_process_does(
    seed: int, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = generate_sessions(120, seed=seed, product_id="demo")
    payloads = [(p.forwarded_at, p) for p in interleave(sessions)]
    recording = write_recording(tmp_path / "rec.ndjson", payloads)
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    assert single, "the recording should make deliveries"
    one = asyncio.run(run_group(db(redis_url, 3), recording, TRIGGERS, ["m1"]))
    three = asyncio.run(run_group(db(redis_url, 4), recording, TRIGGERS, ["a", "b", "c"]))
    expected = sorted(key(d) for d in single)
    assert sorted(key(d) for d in one) == expected
    got = sorted(key(d) for d in three)
    missing = [x for x in expected if x not in got]
    assert got == expected, f"missing {missing}, extra {[x for x in got if x not in expected]}"


def test_a_member_joining_mid_run_gets_partitions_and_nothing_changes(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = generate_sessions(300, seed=9, product_id="demo")
    items = interleave(sessions)
    recording = write_recording(tmp_path / "rec.ndjson", [(p.forwarded_at, p) for p in items])
    single, _ = relay_file(recording, monkeypatch, config=TRIGGERS)
    url = db(redis_url, 7)
    sink = Lines()
    audit = tmp_path / "audit"

    async def main() -> None:
        first = make_member(url, recording, TRIGGERS, "first", sink, audit_dir=audit)
        late = make_member(url, recording, TRIGGERS, "late", sink, audit_dir=audit)
        stops = [asyncio.Event(), asyncio.Event()]
        a = asyncio.create_task(first.run(stops[0]))
        async with asyncio.timeout(30):
            while first.health.applied < 50:
                await asyncio.sleep(0.01)
        b = asyncio.create_task(late.run(stops[1]))
        try:
            await wait_idle(url, "demo", [first, late], 60, [a, b])
            # The group may finish the recording before the rebalance: it still comes.
            async with asyncio.timeout(30):
                while not late.owned or len(first.owned) + len(late.owned) != 8:
                    await asyncio.sleep(0.05)
        finally:
            for stop in stops:
                stop.set()
            await asyncio.gather(a, b)

    asyncio.run(main())
    assert sorted(key(d) for d in sink.deliveries()) == sorted(key(d) for d in single)
    lines = [json.loads(x) for f in audit.glob("*.ndjson") for x in f.read_text().splitlines()]
    # Who applied what depends on timing; that every event was applied once does not.
    assert {x["member"] for x in lines} <= {"first", "late"}
    ids = [x["event_id"] for x in lines]
    assert len(ids) == len(set(ids)) == len(items)
