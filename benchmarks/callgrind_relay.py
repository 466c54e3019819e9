"""Instructions per event through the relay, counted by valgrind's callgrind (load-independent).

Usage: python benchmarks/callgrind_relay.py [--sessions 1000] [--seed 1] [--stores memory,redis]
Needs valgrind. For each store, two processes run under callgrind: both load everything and
make one warm-up run, then one makes one measured run and the other two; the difference of
their totals is the cost of one warm run, start-up and warm-up excluded. The redis-server
(a throw-away one on a free port) is not counted: only the relay's own process.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.local_redis import given_or_local_redis


def inner(recording: Path, store: str, runs: int, events: int, dead: Path) -> None:
    """The process valgrind runs: one warm-up run, then *runs* measured runs."""
    import gc

    from bench_relay import relay_once, stdout_to_devnull

    from autoplay_cli.cli.tuning import HOT_LOOP_YOUNG, quiet_collector

    for _ in range(1 + runs):
        gc.collect()  # a run must not pay for freeing the garbage of the one before
        with quiet_collector(HOT_LOOP_YOUNG), stdout_to_devnull():  # as the command does
            relay_once(recording, store, events, dead)


def instructions(out_file: Path) -> int:
    text = out_file.read_text()
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no totals in {out_file}")
    return int(found.group(1))


def measure(recording: Path, store: str, events: int, tmp: Path) -> float:
    # Bytecode cached outside the tree, and filled by a first run without valgrind: both
    # measured processes load the same cached modules (none compiles while counted).
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    args = [sys.executable, __file__, "--inner", str(recording), store]
    subprocess.run([*args, "0", str(events)], check=True, env=env)
    totals = []
    for runs in (1, 2):
        out = tmp / f"callgrind.{runs}.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args]
        subprocess.run(
            [*cmd, str(runs), str(events)], check=True, env=env, stderr=subprocess.DEVNULL
        )
        totals.append(instructions(out))
    return (totals[1] - totals[0]) / events


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        path, target, runs, count = sys.argv[2:6]
        with tempfile.TemporaryDirectory() as dead_dir:
            inner(Path(path), target, int(runs), int(count), Path(dead_dir) / "dead.ndjson")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stores", default="memory,redis", help="memory, redis or both")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    from bench_relay import write_recording

    with tempfile.TemporaryDirectory() as scratch, given_or_local_redis(args.redis_url) as url:
        tmp = Path(scratch)
        recording = tmp / "recording.ndjson"
        events = write_recording(recording, args.sessions, args.seed)
        print(f"{args.sessions} sessions, seed {args.seed}: {events} stream events (tidy)")
        for name in args.stores.split(","):
            store = url if name == "redis" else name
            per_event = measure(recording, store, events, tmp)
            print(f"relay --store {name} --to -: {per_event:,.0f} instructions per event")


if __name__ == "__main__":
    main()
