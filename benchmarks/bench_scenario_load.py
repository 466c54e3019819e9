"""Lines per second through ``simulate``'s loader: scripted scenario steps and a recording.

Usage: python benchmarks/bench_scenario_load.py [--lines 60000] [--sessions 2000] [--repeat 3]
Writes a scripted scenario (half action batches of two actions, half chat steps, 500
sessions) and a recording of generated sessions, then times ``load_inputs`` on each
(reading, decoding, checking and building every event; no engine). Best of --repeat.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.recording import envelope
from autoplay_cli.simulate import load_inputs

CHAT = ("open_chat", "message", "option_click", "tick", "link")


def write_scripted(path: Path, lines: int) -> None:
    out = [json.dumps({"scenario": "bench", "start": 1000})]
    for i in range(lines):
        step: dict[str, object] = {"at": round(i * 0.01, 3), "session": f"s{i % 500}"}
        if i % 2 == 0:
            step["event"] = "actions"
            step["actions"] = [
                {"type": "click", "url": f"/p/{i % 37}", "duration": 1},
                {"type": "pageview", "url": "/x"},
            ]
        else:
            kind = CHAT[i % len(CHAT)]
            step["event"] = kind
            extra = {"message": ("text", "hi"), "option_click": ("chip", "c1")}.get(kind)
            if extra:
                step[extra[0]] = extra[1]
            if kind == "link":
                step["conversation"] = f"c{i % 500}"
        out.append(json.dumps(step))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_recording(path: Path, sessions: int) -> int:
    payloads = interleave(generate_sessions(sessions, seed=1))
    with path.open("w", encoding="utf-8") as fh:
        for n, p in enumerate(payloads, start=1):
            fh.write(json.dumps(envelope(str(n), p, p.forwarded_at)) + "\n")
    return len(payloads)


def best_cpu(path: Path, repeat: int) -> tuple[float, int]:
    best = None
    events = 0
    for _ in range(repeat):
        cpu = time.process_time()
        events = len(load_inputs([path]).events)
        cpu = time.process_time() - cpu
        best = cpu if best is None else min(best, cpu)
    assert best is not None
    return best, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scripted, recording = Path(tmp) / "scripted.ndjson", Path(tmp) / "recording.ndjson"
        write_scripted(scripted, args.lines)
        envelopes = write_recording(recording, args.sessions)
        print(f"{'input':<34} {'lines':>8} {'CPU s':>7} {'lines/s (CPU)':>14}")
        for label, path, lines in (
            ("scripted steps", scripted, args.lines),
            (f"recording ({args.sessions} sessions)", recording, envelopes),
        ):
            cpu, _ = best_cpu(path, args.repeat)
            print(f"{label:<34} {lines:>8} {cpu:>7.2f} {lines / cpu:>14,.0f}")


if __name__ == "__main__":
    main()
