"""Simulated action events per second over generated sessions, in memory and through Redis.

Usage: python benchmarks/bench_simulate.py [--sessions 10000] [--seed 1] [--redis-url URL]
Without --redis-url a throw-away redis-server is started on a free loopback port.
Target (issue 6): >= 100k action events/s in memory; the Redis figure is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoplay_cli.cli.tuning import quiet_collector
from autoplay_cli.emulator.traffic import generate_sessions
from autoplay_cli.session import MemorySessionStore
from autoplay_cli.simulate import (
    Report,
    SimulationInput,
    VirtualClock,
    load_inputs,
    simulate,
    simulate_async,
)
from autoplay_cli.triggers import TriggerConfig
from tests.support.local_redis import given_or_local_redis


def timed(
    label: str, events: int, fn: Callable[[], Report], repeat: int
) -> tuple[str, float, float, Report]:
    """Best of *repeat* runs: (label, wall seconds, CPU seconds, report)."""
    best: tuple[float, float] | None = None
    report = None
    for _ in range(repeat):
        report = None
        with quiet_collector():  # as `autoplay simulate` does once its inputs are loaded
            wall, cpu = time.perf_counter(), time.process_time()
            report = fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu)
    assert report is not None and best is not None
    assert report.overall()["action_events"] == events, label
    return label, best[0], best[1], report


def snapshot_store_run(inputs: SimulationInput, config: TriggerConfig) -> Report:
    store = MemorySessionStore(clock=VirtualClock(inputs.start))
    return asyncio.run(simulate_async(inputs, config, store=store))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per mode")
    args = parser.parse_args()

    t0 = time.perf_counter()
    sessions = generate_sessions(args.sessions, seed=args.seed)
    inputs = load_inputs([], sessions)
    generation = time.perf_counter() - t0
    events = sum(len(b.actions) for s in sessions for b in s.batches)
    batches = sum(len(s.batches) for s in sessions)
    config = TriggerConfig()
    print(
        f"{args.sessions} sessions (seed {args.seed}): {events} action events in {batches} "
        f"batches; generated and loaded in {generation:.1f} s (not timed below)\n"
    )

    runs = [
        timed(
            "memory, summary only (--summary-only)",
            events,
            lambda: simulate(inputs, config, keep_steps=False, snapshots=False),
            args.repeat,
        ),
        timed(
            "memory, timeline + snapshots (--json)",
            events,
            lambda: simulate(inputs, config),
            args.repeat,
        ),
        timed(
            "MemorySessionStore (JSON snapshots)",
            events,
            lambda: snapshot_store_run(inputs, config),
            args.repeat,
        ),
    ]
    if not args.skip_redis:
        with given_or_local_redis(args.redis_url) as url:
            runs.append(
                timed(
                    "Redis store (--store redis://)",
                    events,
                    lambda: simulate(inputs, config, store_url=url),
                    1,
                )
            )
    reference = runs[1][3]
    print(f"{'mode':<40} {'wall s':>7} {'CPU s':>7} {'events/s (wall)':>16} {'events/s (CPU)':>15}")
    for label, wall, cpu, report in runs:
        print(
            f"{label:<40} {wall:>7.2f} {cpu:>7.2f} {events / wall:>16,.0f} {events / cpu:>15,.0f}"
        )
        if report.keep_steps and report is not reference:
            same = [s.to_json(0) for s in report.steps] == [s.to_json(0) for s in reference.steps]
            print(f"{'':<40} identical to the in-memory timeline: {same}")


if __name__ == "__main__":
    main()
