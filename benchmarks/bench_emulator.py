"""Events per second `autoplay emulate` serves to its subscribers (figure in BENCHMARKS.md).

Starts ``autoplay emulate --rate 0 --max-events N`` in its own process and reads the
stream with raw sockets (in this process, one thread per subscriber), counting
``id:`` lines, so the client costs next to nothing. Usage::

    python benchmarks/bench_emulator.py [--events 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit


def read_stream(url: str, token: str, events: int, out: dict[str, float]) -> None:
    """Read until *events* frames with an id arrived; record timing, bytes and reads."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
                "Last-Event-ID: 0\r\n\r\n"
            ).encode()
        )
        seen = reads = size = 0
        tail = b""
        first = 0.0
        while seen < events:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError(f"stream closed after {seen} events")
            if not first:
                first = time.perf_counter()
            reads += 1
            size += len(chunk)
            window = tail + chunk
            seen += window.count(b"\nid: ")
            tail = window[-4:]
        out.update(seconds=time.perf_counter() - first, bytes=size, reads=reads, events=seen)


def run(events: int, subscribers: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoplay_cli",
            "emulate",
            "--json",
            "--rate",
            "0",
            "--max-events",
            str(events),
            "--heartbeat",
            "60",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        results: list[dict[str, float]] = [{} for _ in range(subscribers)]
        threads = [
            threading.Thread(
                target=read_stream, args=(info["stream_url"], info["token"], events, r)
            )
            for r in results
        ]
        for t in threads:  # Last-Event-ID: 0, so a later subscriber still gets id 1 on
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    slowest = max(r["seconds"] for r in results)
    return {
        "events_per_s": events / slowest,
        "mb_per_s": results[0]["bytes"] / slowest / 1e6,
        "avg_event_bytes": results[0]["bytes"] / events,
        "events_per_read": events / results[0]["reads"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| subscribers | events | events/s (median) | MB/s | bytes/event | events per read |")
    print("|---|---|---|---|---|---|")
    for subscribers in (1, 2):
        runs = [run(args.events, subscribers) for _ in range(args.repeat)]
        med = statistics.median(r["events_per_s"] for r in runs)
        best = next(r for r in runs if r["events_per_s"] == med)
        print(
            f"| {subscribers} | {args.events:,} | {med:,.0f} | {best['mb_per_s']:.1f} "
            f"| {best['avg_event_bytes']:.0f} | {best['events_per_read']:.0f} |"
        )


if __name__ == "__main__":
    main()
