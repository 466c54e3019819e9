"""A relay group makes the same deliveries as one relay process on the same recording."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from autoplay_cli.emulator.traffic import generate_sessions, interleave

from ..conftest import EXAMPLES, relay_file, write_recording
from .harness import run_group

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
    assert sorted(key(d) for d in three) == expected
