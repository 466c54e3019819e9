"""Stream events per second through the whole relay, from a recording to ``--to -``.

Usage: python benchmarks/bench_relay.py [--sessions 10000] [--seed 1] [--repeat 3]
       [--redis-url URL]
The same recording is also run through ``simulate`` (its loader and engine) in the
same process, so each relay figure is reported as a ratio against simulate on the
same input. Without --redis-url a throw-away redis-server is started on a free port.
Targets (issue 13): memory store >= 50,000 events/s; Redis >= 10,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoplay_cli.cli.simulate import frozen_heap
from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.recording import envelope
from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay
from autoplay_cli.simulate.runner import RunOptions, run
from tests.support.local_redis import given_or_local_redis


def write_recording(path: Path, sessions: int, seed: int) -> int:
    payloads = interleave(generate_sessions(sessions, seed=seed))
    with path.open("w", encoding="utf-8") as fh:
        for n, p in enumerate(payloads, start=1):
            fh.write(json.dumps(envelope(str(n), p, p.forwarded_at)) + "\n")
    return len(payloads)


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """The deliveries go to stdout, as with ``--to -``; here to /dev/null."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best of *repeat* runs: (wall seconds, CPU seconds)."""
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        with frozen_heap(), stdout_to_devnull():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu)
    assert best is not None
    return best


def relay_once(path: Path, store: str, events: int, dead: Path) -> None:
    summary = RelaySummary()
    options = RelayOptions(
        replay=path, store=store, product_id=f"bench-{uuid.uuid4().hex[:8]}", dead_letter=dead
    )
    asyncio.run(run_relay(options, summary, install_signals=False))
    assert summary.relay is not None
    assert sum(summary.relay.counters.events.values()) == events, summary.describe()
    assert summary.sender is not None and summary.sender.stats.dead == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.ndjson"
        events = write_recording(path, args.sessions, args.seed)
        dead = Path(tmp) / "dead.ndjson"
        rows = []
        sim = timed(lambda: run(RunOptions(files=[path], keep_steps=False)), args.repeat)
        rows.append(("simulate (same recording, summary only)", *sim))
        rows.append(
            (
                "relay --store memory --to -",
                *timed(lambda: relay_once(path, "memory", events, dead), args.repeat),
            )
        )
        with given_or_local_redis(args.redis_url) as url:
            rows.append(
                (
                    "relay --store redis:// --to -",
                    *timed(lambda: relay_once(path, url, events, dead), args.repeat),
                )
            )
    print(f"{args.sessions} sessions, seed {args.seed}: {events} stream events")
    print("| mode | wall s | CPU s | events/s (wall) | events/s (CPU) | × simulate (wall) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, wall, cpu in rows:
        print(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {events / wall:,.0f} | {events / cpu:,.0f} "
            f"| {sim[0] / wall:.2f} |"
        )


if __name__ == "__main__":
    main()
