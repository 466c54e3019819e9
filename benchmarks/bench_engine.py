"""The decision engine's cost per event, alone or inside `relay` and `simulate`.

Usage: python benchmarks/bench_engine.py [--mode engine|relay|simulate] [--sessions 1000]
       [--seed 1] [--runs 3]
It writes a recording of generated sessions (tidy, as ``bench_relay.py``), runs the
chosen mode once to warm up, then ``--runs`` more times, and prints the best CPU time per
event. ``engine`` is the engine as the relay drives it (the stream's fast views, a live
session store, no report, a listener that does nothing); ``relay`` is the whole relay
from the recording to ``--to -`` with the memory store; ``simulate`` is ``autoplay
simulate --summary-only`` on the recording.

On a shared machine, count instructions instead of timing: run the same command under
``valgrind --tool=callgrind`` with ``--runs 1`` and ``--runs 2``; the difference of the
two totals, divided by the events, is one warm run's instructions per event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_relay import relay_once, stdout_to_devnull, write_recording

from autoplay_cli.relay.runner import replay_input
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.engine import Engine
from autoplay_cli.simulate.live_store import LiveSessionStore
from autoplay_cli.simulate.runner import RunOptions, run
from autoplay_cli.triggers.config import TriggerConfig


def engine_runner(path: Path) -> Callable[[], None]:
    """One pass of the engine over the recording's events (read once, up front)."""
    replay = replay_input(path)
    events = list(replay.events)
    config = TriggerConfig()

    async def once() -> None:
        clock = VirtualClock(replay.start)
        store = LiveSessionStore(
            clock=clock,
            interaction_timeout_s=config.interaction_timeout_s,
            cooldown_period_s=config.cooldown_period_s,
        )
        engine = Engine(
            config,
            store,
            clock,
            keep_steps=False,
            snapshots=False,
            record=False,
            on_step=lambda step, state, event: None,
        )
        for event in events:
            await engine.advance(event.time)
            await engine.apply(event)
        await engine.finish()

    return lambda: asyncio.run(once())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("engine", "relay", "simulate"), default="engine")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.ndjson"
        events = write_recording(path, args.sessions, args.seed)
        once: Callable[[], object]
        if args.mode == "engine":
            once = engine_runner(path)
        elif args.mode == "relay":
            dead = Path(tmp) / "dead.ndjson"

            def once() -> None:
                with stdout_to_devnull():
                    relay_once(path, "memory", events, dead)
        else:

            def once() -> None:
                run(RunOptions(files=[path], keep_steps=False))

        once()  # warm-up: imports, caches
        best = None
        for _ in range(args.runs):
            cpu = time.process_time()
            once()
            cpu = time.process_time() - cpu
            best = cpu if best is None else min(best, cpu)
    if best:
        print(
            f"{args.mode}: {events} events, best of {args.runs}: {best:.3f} s CPU, "
            f"{events / best:,.0f} events/s, {best / events * 1e6:.2f} µs/event"
        )


if __name__ == "__main__":
    main()
