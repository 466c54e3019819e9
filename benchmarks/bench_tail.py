"""Events per second consumed by ``autoplay tail --json > /dev/null`` vs the reference client.

A raw asyncio SSE source in this process writes pre-rendered ~1 KB ``actions``
frames as fast as the reader takes them. Both clients run as subprocesses on the
same stream: ``autoplay tail --json --count N`` (stdout to /dev/null), then
``autoplay-sdk==0.7.9``'s ``ConnectorClient`` with a counting callback, installed
only in this benchmark's own venv (``--sdk-venv``, created on first use; never a
dependency of the project). The rate is N / (exit - connection accepted), so
interpreter start-up is excluded for both; rounds alternate between the two
clients. The CPU time of each client process (start-up CPU, measured with N=1,
subtracted) is reported per event too: it depends far less on the machine's load
than the wall-clock rate. A last run samples the RSS of ``autoplay tail`` over
``--memory-events`` events.

    python benchmarks/bench_tail.py [--events 200000] [--memory-events 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SDK = "autoplay-sdk==0.7.9"
TOKEN = "uk_bench_token_0000000000"
PRODUCT = "bench"


def payloads(variants: int = 64) -> list[str]:
    """Distinct ~1 KB actions batches (3 actions each), rendered once."""
    out = []
    for v in range(variants):
        sid, uid = f"sess_{v:012x}", f"usr_{v:08x}"
        actions = [
            {
                "index": i,
                "type": ("pageview", "click", "click")[i],
                "title": f"Projects board {i}",
                "description": f"User opened card {v}-{i} on board",
                "timestamp_start": 1767225600.0 + v + i,
                "timestamp_end": 1767225600.5 + v + i,
                "raw_url": f"https://app.example.com/projects/{4000 + v}/board",
                "canonical_url": "/projects/:id/board",
                "session_id": sid,
                "user_id": uid,
                "email": f"user{v}@example.com",
            }
            for i in range(3)
        ]
        out.append(
            json.dumps(
                {
                    "type": "actions",
                    "product_id": PRODUCT,
                    "session_id": sid,
                    "user_id": uid,
                    "email": f"user{v}@example.com",
                    "actions": actions,
                    "count": 3,
                    "forwarded_at": 1767225700.0 + v,
                },
                separators=(",", ":"),
            )
        )
    return out


class Source:
    """A raw asyncio HTTP/1.1 server that streams ``events`` SSE frames per connection."""

    def __init__(self, events: int) -> None:
        self.events = events
        self.data = payloads()
        self.accepted_at: float | None = None
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        self.accepted_at = time.perf_counter()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-store\r\nconnection: close\r\n\r\n: bench\n\n"
        )
        data, n, block = self.data, len(self.data), 256
        try:
            for start in range(1, self.events + 1, block):
                stop = min(start + block, self.events + 1)
                writer.write(
                    "".join(
                        f"id: {i}\nevent: actions\ndata: {data[i % n]}\n\n"
                        for i in range(start, stop)
                    ).encode()
                )
                await writer.drain()
            await reader.read()  # hold the stream open until the client leaves
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


REFERENCE = """
import os, sys, threading
from autoplay_sdk import ConnectorClient
n = int(sys.argv[2]); seen = 0; done = threading.Event()
def on_actions(payload):
    global seen
    seen += 1
    if seen + client.dropped_count >= n:
        done.set()
client = ConnectorClient(url=sys.argv[1], token=sys.argv[3], max_retries=0)
client.on_actions(on_actions).run_in_background()
done.wait()
print(seen, client.dropped_count, flush=True)
os._exit(0)
"""


def ensure_sdk_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with {SDK} (benchmark only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SDK], check=True)
    return python


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_cpu() -> float:
    """CPU seconds (user + system) of the waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tail(events: int, sample: bool = False) -> tuple[float, float, list[tuple[float, int]]]:
    """Events/s (wall, start-up excluded), CPU seconds of the client, RSS samples."""
    source = Source(events)
    cpu = children_cpu()
    env = {**os.environ, "AUTOPLAY_TOKEN": TOKEN}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoplay_cli",
            "tail",
            "--json",
            "--count",
            str(events),
            "--connector-url",
            source.url,
            "--product-id",
            PRODUCT,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    samples: list[tuple[float, int]] = []
    while sample and proc.poll() is None:
        samples.append((time.perf_counter() - start, rss_kib(proc.pid)))
        time.sleep(0.25)
    proc.wait()  # not a sleep loop: the exit time must be exact
    end = time.perf_counter()
    cpu = children_cpu() - cpu
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0 or f"{events} events shown" not in stderr:
        raise SystemExit(f"autoplay tail failed ({proc.returncode}): {stderr}")
    assert source.accepted_at is not None
    return events / (end - source.accepted_at), cpu, samples


def run_reference(python: Path, events: int) -> tuple[float, float, int]:
    """Events/s (wall, start-up excluded), CPU seconds of the client, events it dropped."""
    source = Source(events)
    cpu = children_cpu()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(REFERENCE)
    try:
        out = subprocess.run(
            [str(python), fh.name, f"{source.url}/stream/{PRODUCT}", str(events), TOKEN],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(fh.name)
    end = time.perf_counter()
    cpu = children_cpu() - cpu
    seen, dropped = (int(x) for x in out.stdout.split())
    assert source.accepted_at is not None
    return seen / (end - source.accepted_at), cpu, dropped


def breakdown(events: int = 20_000, rounds: int = 3) -> list[tuple[str, float]]:
    """In-process cost per event of each stage of ``tail --json``, in microseconds (best of N)."""
    import gc

    import httpx

    from autoplay_cli.recording import dumps_envelope
    from autoplay_cli.stream.sse import SSEDecoder
    from autoplay_cli.wire import PayloadEvent, parse_event, warm_up

    warm_up()
    gc.freeze()  # as `autoplay tail` does before streaming
    data = payloads()
    blob = "".join(
        f"id: {i}\nevent: actions\ndata: {data[i % len(data)]}\n\n" for i in range(events)
    ).encode()
    chunks = [blob[i : i + 65536] for i in range(0, len(blob), 65536)]

    def ours() -> list[tuple[str, str, str]]:
        decoder = SSEDecoder()
        return [f for chunk in chunks for f in decoder.feed(chunk)]

    async def body():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    async def oracle() -> int:
        from httpx_sse import EventSource  # test extra: the decoder `tail` used before

        response = httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body()
        )
        return sum([1 async for _ in EventSource(response).aiter_sse()])

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) * 1e6 / events

    frames = ours()
    parsed = [parse_event(*f) for f in frames]

    def parse_all() -> None:
        for f in frames:  # results are dropped at once, as in the live pipeline
            parse_event(*f)

    def dump_all() -> None:
        for p in parsed:
            assert isinstance(p, PayloadEvent)
            p.received_at = 1767225600.5
            dumps_envelope(p)

    stages = [
        ("SSE decoding (`stream.sse.SSEDecoder`)", best(ours)),
        ("`wire.parse_event`", best(parse_all)),
        ("`recording.dumps_envelope`", best(dump_all)),
    ]
    with contextlib.suppress(ImportError):
        stages.append(
            ("(httpx-sse decoding, the previous decoder)", best(lambda: asyncio.run(oracle())))
        )
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--memory-events", type=int, default=1_000_000)
    parser.add_argument("--sdk-venv", type=Path, default=Path("/tmp/bench-sdk-venv"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    python = ensure_sdk_venv(args.sdk_venv)

    # Start-up CPU (interpreter, imports, connect), subtracted from the per-event CPU figure.
    ours_startup = min(run_tail(1)[1] for _ in range(2))
    ref_startup = min(run_reference(python, 1)[1] for _ in range(2))
    ours, refs = [], []
    for _ in range(args.rounds):  # interleaved, so load changes hit both clients alike
        ours.append(run_tail(args.events)[:2])
        refs.append(run_reference(python, args.events))
    best_ours, best_ref = max(r for r, _ in ours), max(r for r, _, _ in refs)
    cpu_ours = (min(c for _, c in ours) - ours_startup) / args.events * 1e6
    cpu_ref = (min(c for _, c, _ in refs) - ref_startup) / args.events * 1e6
    dropped = max(d for _, _, d in refs)
    print(f"{args.events} frames of ~{len(payloads()[0])} B, best of {args.rounds}\n")
    print("| client | events/s (wall) | CPU µs/event | note |")
    print("|---|---:|---:|---|")
    print(
        f"| `autoplay tail --json > /dev/null` | {best_ours:,.0f} | {cpu_ours:.1f} | every "
        "frame validated; envelopes carry the frame's payload text |"
    )
    print(
        f"| `{SDK}` `ConnectorClient` | {best_ref:,.0f} | {cpu_ref:.1f} | counting callback; "
        f"{dropped} dropped by its queue |"
    )
    print(
        f"| ratio | {best_ours / best_ref:.2f}x | {cpu_ref / cpu_ours:.2f}x "
        "| target >= 3x (events/s) |"
    )

    print("\nWhere `tail --json` spends its time, in-process, per event:")
    print("| stage | µs/event |")
    print("|---|---:|")
    for stage, micros in breakdown():
        print(f"| {stage} | {micros:.1f} |")
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

    if args.memory_events:
        rate, _, samples = run_tail(args.memory_events, sample=True)
        steady = [kib for t, kib in samples if t > 2.0] or [kib for _, kib in samples]
        print(
            f"\nRSS of `autoplay tail --json` over {args.memory_events:,} events "
            f"({rate:,.0f} events/s):"
        )
        print("| after | RSS MiB |")
        print("|---|---:|")
        step = max(1, len(samples) // 8)
        for t, kib in samples[::step] + samples[-1:]:
            print(f"| {t:5.1f} s | {kib / 1024:.1f} |")
        print(f"| steady min..max | {min(steady) / 1024:.1f}..{max(steady) / 1024:.1f} |")


if __name__ == "__main__":
    main()
