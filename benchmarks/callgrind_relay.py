"""Instruction counts of one relay run (memory store, ``--to -``), independent of the load.

Usage: valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=OUT \\
           python benchmarks/callgrind_relay.py [SESSIONS]
then ``callgrind_annotate OUT``; the total divided by the events printed is the cost per
event. A warm-up run, then ``gc.collect()`` (so the measured run does not free the warm-up
run's garbage) and one run under the ``frozen_heap`` bench_relay.py times with; callgrind
counts only that run (``callgrind_control -i on/off`` around it).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_relay import relay_once, stdout_to_devnull, write_recording

from autoplay_cli.cli.simulate import frozen_heap


def instrument(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        path, dead = Path(tmp) / "recording.ndjson", Path(tmp) / "dead.ndjson"
        events = write_recording(path, sessions, seed=1)
        with stdout_to_devnull():
            with frozen_heap():
                relay_once(path, "memory", events, dead)
            gc.collect()
            with frozen_heap():
                instrument(True)
                relay_once(path, "memory", events, dead)
                instrument(False)
    print(f"{sessions} sessions, {events} events measured", file=sys.stderr)


if __name__ == "__main__":
    main()
