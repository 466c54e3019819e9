"""Stream events per second through the whole relay, from a recording to ``--to -``.

Usage: python benchmarks/bench_relay.py [--sessions 10000] [--seed 1] [--repeat 3]
       [--redis-url URL] [--shapes tidy,shaped]
The same recording is also run through ``simulate`` (its loader and engine) in the
same process, so each relay figure is reported as a ratio against simulate on the
same input. Without --redis-url a throw-away redis-server is started on a free port.
Two input shapes: ``tidy`` is the generator's own output (compact, envelope fields in
the usual order); ``shaped`` is the same traffic spelled as other recorders and
connectors do: envelope fields reordered, numeric ids, unknown fields in envelopes,
payloads and actions, nulls in optional fields, compact separators, and every
tenth batch with a null ``canonical_url`` (which the fast views leave to the models).
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoplay_cli.cli.tuning import HOT_LOOP_YOUNG, quiet_collector
from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.recording import envelope
from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay
from autoplay_cli.simulate.runner import RunOptions, run
from tests.support.local_redis import given_or_local_redis


def write_recording(path: Path, sessions: int, seed: int, shape: str = "tidy") -> int:
    payloads = interleave(generate_sessions(sessions, seed=seed))
    with path.open("w", encoding="utf-8") as fh:
        for n, p in enumerate(payloads, start=1):
            env = envelope(str(n), p, p.forwarded_at)
            if shape == "tidy":
                fh.write(json.dumps(env) + "\n")
            else:
                fh.write(json.dumps(shaped(env, n), separators=(",", ":")) + "\n")
    return len(payloads)


def shaped(env: dict[str, Any], n: int) -> dict[str, Any]:
    """*env* as another recorder might spell it (same meaning, see the module docstring)."""
    payload = dict(reversed(env["payload"].items()))
    if n % 3 == 0:
        payload["x_connector"] = {"version": "2.4.1", "region": None}
        for key in ("email", "conversation_id"):
            if payload.get(key) is None:
                payload[key] = None
    actions = payload.get("actions") or []
    for i, action in enumerate(actions):
        action = dict(reversed(action.items()))
        if n % 3 == 0:
            action.update(title=None, x_rank=i, conversation_id=None)
        if n % 10 == 0 and i == 0:
            action["canonical_url"] = None
        actions[i] = action
    return {
        "payload": payload,
        "x_hop": n % 4,
        "received_at": env["received_at"],
        "event": env["event"],
        "id": n if n % 2 else env["id"],
    }


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


def timed(fn: Callable[[], object], repeat: int, young: int | None) -> tuple[float, float]:
    """Best of *repeat* runs: (wall seconds, CPU seconds), the collector tuned as the
    command does (*young*: see ``quiet_collector``)."""
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        with quiet_collector(young), stdout_to_devnull():
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
    parser.add_argument("--shapes", default="tidy,shaped", help="tidy, shaped or both")
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    rows = []
    counts = {}
    with tempfile.TemporaryDirectory() as tmp, given_or_local_redis(args.redis_url) as url:
        dead = Path(tmp) / "dead.ndjson"
        for shape in shapes:
            path = Path(tmp) / f"recording-{shape}.ndjson"
            events = counts[shape] = write_recording(path, args.sessions, args.seed, shape)
            sim = timed(
                lambda p=path: run(RunOptions(files=[p], keep_steps=False)),  # type: ignore[misc]
                args.repeat,
                None,  # `autoplay simulate` freezes its inputs, as here
            )
            rows.append((shape, "simulate (same recording, summary only)", events, sim, sim))
            for label, store in (("memory", "memory"), ("redis://", url)):
                got = timed(
                    lambda p=path, s=store, n=events: relay_once(p, s, n, dead),  # type: ignore[misc]
                    args.repeat,
                    HOT_LOOP_YOUNG,  # as `autoplay relay` tunes the collector
                )
                rows.append((shape, f"relay --store {label} --to -", events, got, sim))
    print(
        f"{args.sessions} sessions, seed {args.seed}: "
        + ", ".join(f"{counts[s]} stream events ({s})" for s in shapes)
    )
    print(
        "| input | mode | wall s | CPU s | events/s (wall) | events/s (CPU) "
        "| × simulate (wall) | × simulate (CPU) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for shape, label, events, (wall, cpu), (sim_wall, sim_cpu) in rows:
        print(
            f"| {shape} | {label} | {wall:.2f} | {cpu:.2f} | {events / wall:,.0f} "
            f"| {events / cpu:,.0f} | {sim_wall / wall:.2f} | {sim_cpu / cpu:.2f} |"
        )


if __name__ == "__main__":
    main()
