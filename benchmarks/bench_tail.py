"""Events/s of ``autoplay tail`` vs the SDK's client, whole processes, on every stream shape.

A raw asyncio HTTP/1.1 server in this process (not the emulator) streams N frames of
~1.2 KB ``actions`` payloads, in one of several valid SSE shapes (``SHAPES``: ``id:``
first, ``event:`` first, CRLF line ends, ``data:`` without the space, comment lines
between frames, and one payload in ten with null optional fields and unknown extra
fields). On each shape, in the same run, it times whole processes (interpreter
start-up included, spawn to exit):

- ``autoplay tail --json --count N > /dev/null`` and ``autoplay-sdk==0.7.9``'s
  ``ConnectorClient`` with a counting callback;
- ``autoplay tail --text --count N > /dev/null`` and the SDK client writing each
  payload's ``to_text()`` to stdout (/dev/null);
- the default human view, ``autoplay tail --count N > FILE``.

The SDK lives only in this benchmark's own venv (``--sdk-venv``, created with pip on
first use; never a dependency of the project). Rounds alternate between the clients;
the best of ``--rounds`` is kept. The CPU time of each client process is reported per
event too: it moves much less with the machine's load than the wall-clock rate.
``--memory-events`` adds a run sampling the RSS of ``tail --json``.

    python benchmarks/bench_tail.py [--events 200000] [--human-events N] [--shapes all]
        [--modes json,text,human] [--rounds 1] [--breakdown] [--memory-events 0]
        [--instructions SMALL,LARGE]

``--instructions 1000,5000`` counts instead, with valgrind's callgrind, the instructions
of the ``--json`` client process and of the SDK's at two stream lengths, and prints the
start-up, the cost per event and the ratio both predict at 200,000 frames: figures that
do not move with the machine's load.
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
from collections.abc import Callable
from pathlib import Path

SDK = "autoplay-sdk==0.7.9"
TOKEN = "uk_bench_token_0000000000"
PRODUCT = "bench"


def payloads(variants: int = 64) -> list[str]:
    """Distinct ~1.2 KB actions batches (3 actions each), rendered once."""
    out = []
    for v in range(variants):
        out.append(json.dumps(_batch(v), separators=(",", ":")))
    return out


def _batch(v: int) -> dict[str, object]:
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
    return {
        "type": "actions",
        "product_id": PRODUCT,
        "session_id": sid,
        "user_id": uid,
        "email": f"user{v}@example.com",
        "actions": actions,
        "count": 3,
        "forwarded_at": 1767225700.0 + v,
    }


def payloads_with_nulls(variants: int = 64) -> list[str]:
    """The same batches, every tenth with null optional fields and unknown extra fields."""
    out = []
    for v in range(variants):
        batch = _batch(v)
        if v % 10 == 0:
            batch["conversation_id"] = None
            batch["email"] = None
            batch["x_experiment"] = {"arm": "b", "weight": 0.5}  # unknown to every client
            for action in batch["actions"]:  # type: ignore[attr-defined]
                action.update(title=None, description=None, user_id=None, x_rank=3)
        out.append(json.dumps(batch, separators=(",", ":")))
    return out


Shape = Callable[[int, str], str]

#: The stream shapes: one valid SSE spelling each (frame number, payload -> frame text).
SHAPES: dict[str, tuple[Shape, Callable[[], list[str]]]] = {
    "id first": (lambda i, d: f"id: {i}\nevent: actions\ndata: {d}\n\n", payloads),
    "event first": (lambda i, d: f"event: actions\nid: {i}\ndata: {d}\n\n", payloads),
    "CRLF": (lambda i, d: f"id: {i}\r\nevent: actions\r\ndata: {d}\r\n\r\n", payloads),
    "no space": (lambda i, d: f"id:{i}\nevent:actions\ndata:{d}\n\n", payloads),
    "comments": (
        lambda i, d: f": keep-alive {i}\nid: {i}\nevent: actions\ndata: {d}\n\n: ping\n\n",
        payloads,
    ),
    "10% nulls+extras": (
        lambda i, d: f"id: {i}\nevent: actions\ndata: {d}\n\n",
        payloads_with_nulls,
    ),
}


class Source:
    """A raw asyncio HTTP/1.1 server that streams ``events`` SSE frames per connection."""

    def __init__(self, events: int, shape: str = "id first") -> None:
        self.events = events
        self.frame, make = SHAPES[shape]
        self.data = make()
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
        data, n, block, frame = self.data, len(self.data), 256, self.frame
        try:
            for start in range(1, self.events + 1, block):
                stop = min(start + block, self.events + 1)
                writer.write("".join(frame(i, data[i % n]) for i in range(start, stop)).encode())
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
n = int(sys.argv[2]); text = sys.argv[4] == "text"; seen = 0; done = threading.Event()
write = sys.stdout.write
def on_actions(payload):
    global seen
    seen += 1
    if text:
        write(payload.to_text() + "\\n\\n")
    if seen + client.dropped_count >= n:
        done.set()
client = ConnectorClient(url=sys.argv[1], token=sys.argv[3], max_retries=0)
client.on_actions(on_actions).run_in_background()
done.wait()
sys.stdout.flush()
print(seen, client.dropped_count, file=sys.stderr, flush=True)
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


MODE_FLAGS = {"json": ["--json"], "text": ["--text"], "human": []}


def run_tail(
    events: int,
    mode: str = "json",
    shape: str = "id first",
    sample: bool = False,
    prefix: tuple[str, ...] = (),
) -> tuple[float, float, list[tuple[float, int]]]:
    """Events/s (whole process, spawn to exit), CPU seconds of the client, RSS samples.

    ``json`` and ``text`` write to /dev/null; ``human`` (the default view) to a file.
    """
    source = Source(events, shape)
    cpu = children_cpu()
    env = {**os.environ, "AUTOPLAY_TOKEN": TOKEN}
    with tempfile.TemporaryFile() as out_file:
        out = out_file if mode == "human" else subprocess.DEVNULL
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "autoplay_cli",
                "tail",
                *MODE_FLAGS[mode],
                "--count",
                str(events),
                "--connector-url",
                source.url,
                "--product-id",
                PRODUCT,
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
        )
        samples: list[tuple[float, int]] = []
        while sample and proc.poll() is None:
            samples.append((time.perf_counter() - start, rss_kib(proc.pid)))
            time.sleep(0.25)
        proc.wait()  # not a sleep loop: the exit time must be exact
        end = time.perf_counter()
        written = out_file.tell() if mode == "human" else None
    cpu = children_cpu() - cpu
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0 or f"{events} events shown" not in stderr:
        raise SystemExit(f"autoplay tail {mode} failed ({proc.returncode}): {stderr}")
    if written == 0:
        raise SystemExit("autoplay tail (human view) wrote nothing")
    return events / (end - start), cpu, samples


def run_reference(
    python: Path,
    events: int,
    mode: str = "json",
    shape: str = "id first",
    prefix: tuple[str, ...] = (),
) -> tuple[float, float, int]:
    """Events/s (whole process, spawn to exit), CPU seconds of the client, events it dropped."""
    source = Source(events, shape)
    cpu = children_cpu()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(REFERENCE)
    try:
        start = time.perf_counter()
        out = subprocess.run(
            [
                *prefix,
                str(python),
                fh.name,
                f"{source.url}/stream/{PRODUCT}",
                str(events),
                TOKEN,
                mode,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
            timeout=600,
        )
        end = time.perf_counter()
    finally:
        os.unlink(fh.name)
    cpu = children_cpu() - cpu
    # The last line of two numbers: the SDK may log after it (say, a reconnect notice).
    counts = [ln.split() for ln in out.stderr.splitlines()]
    pairs = [c for c in counts if len(c) == 2 and all(x.isdigit() for x in c)]
    if not pairs:
        raise SystemExit(f"the SDK client printed no counts; its stderr:\n{out.stderr}")
    seen, dropped = (int(x) for x in pairs[-1])
    return seen / (end - start), cpu, dropped


def breakdown(shape: str, events: int = 20_000, rounds: int = 3) -> list[tuple[str, float]]:
    """In-process CPU cost per event of each stage of ``tail --json``, in µs (best of N)."""
    import httpx

    from autoplay_cli.recording import dumps_envelope
    from autoplay_cli.stream.sse import SSEDecoder
    from autoplay_cli.wire import PayloadEvent, parse_event, warm_up

    warm_up()
    frame, make = SHAPES[shape]
    data = make()
    blob = "".join(frame(i, data[i % len(data)]) for i in range(events)).encode()
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
            # CPU time of this thread: preemption on a loaded machine does not count.
            t0 = time.thread_time()
            fn()
            times.append(time.thread_time() - t0)
        return min(times) * 1e6 / events

    frames = [f for f in ours() if f[1]]
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
        stages.append(("(httpx-sse decoding, for scale)", best(lambda: asyncio.run(oracle()))))
    return stages


def _print_breakdown(shapes: list[str]) -> None:
    stages = {shape: breakdown(shape) for shape in shapes}
    print("\nWhere `tail --json` spends its CPU time, in-process, µs per event:\n")
    print("| stage | " + " | ".join(shapes) + " |")
    print("|---|" + "---:|" * len(shapes))
    for i, (name, _) in enumerate(stages[shapes[0]]):
        print(f"| {name} | " + " | ".join(f"{stages[s][i][1]:.1f}" for s in shapes) + " |")


def instructions(python: Path, client: str, events: int, shape: str, out: Path) -> int:
    """Instructions executed by one client process (``tail`` or ``SDK``), per callgrind."""
    prefix = ("valgrind", "-q", "--tool=callgrind", f"--callgrind-out-file={out}")
    if client == "SDK":
        run_reference(python, events, "json", shape, prefix)
    else:
        run_tail(events, "json", shape, prefix=prefix)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no instruction total in {out}")


def _print_instructions(python: Path, shapes: list[str], small: int, large: int) -> None:
    """Start-up and per-event instruction counts of ``tail --json`` and the SDK per shape:
    independent of the machine's load, unlike the rates."""
    print(
        f"\nInstructions (callgrind, whole client process, {small:,} and {large:,} frames; "
        "start-up = the count at 0 frames):\n"
    )
    print("| stream | client | start-up | per event | at 200,000 frames | SDK ÷ ours |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        for shape in shapes:
            ours = 0.0
            for client in ("tail", "SDK"):
                a, b = (instructions(python, client, n, shape, out) for n in (small, large))
                per = (b - a) / (large - small)
                start = a - per * small
                total = start + per * 200_000
                ratio = f"{total / ours:.2f}x" if client == "SDK" else ""
                ours = total
                print(
                    f"| {shape} | {'tail --json' if client == 'tail' else 'SDK 0.7.9'} "
                    f"| {start / 1e9:.2f} G | {per:,.0f} | {total / 1e9:.2f} G | {ratio} |",
                    flush=True,
                )


def write_bytecode() -> None:
    """Compile the package's bytecode first, as pip does at install time: where
    PYTHONDONTWRITEBYTECODE is set (this machine), every timed process would otherwise
    compile each module it imports, which no installed copy does."""
    import autoplay_cli

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = str(Path(autoplay_cli.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--shapes", default="all", help="comma-separated names of SHAPES")
    parser.add_argument("--modes", default="json,text,human")
    parser.add_argument("--human-events", type=int, help="frames for the human view (--events)")
    parser.add_argument("--memory-events", type=int, default=0)
    parser.add_argument("--sdk-venv", type=Path, default=Path("/tmp/bench-sdk-venv"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--breakdown", action="store_true", help="in-process cost per stage")
    parser.add_argument("--breakdown-only", action="store_true", help="no processes")
    parser.add_argument(
        "--instructions",
        metavar="SMALL,LARGE",
        help="only count instructions with valgrind (e.g. 1000,5000 frames per run)",
    )
    args = parser.parse_args()
    shapes = list(SHAPES) if args.shapes == "all" else args.shapes.split(",")
    modes = args.modes.split(",")
    n = args.events
    if args.breakdown_only:
        _print_breakdown(shapes)
        return
    write_bytecode()
    python = ensure_sdk_venv(args.sdk_venv)
    if args.instructions:
        small, large = (int(x) for x in args.instructions.split(","))
        _print_instructions(python, shapes, small, large)
        return

    print(
        f"{n:,} frames of ~{len(payloads()[0])} B per stream; whole processes (start-up "
        f"included), best of {args.rounds}; events/s (CPU µs/event)\n"
    )
    head = ["stream"]
    for mode in modes:
        if mode == "human":
            head.append("human view > file")
        else:
            head += [f"tail --{mode}", f"SDK ({mode})", "ratio"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" + "---:|" * (len(head) - 1))
    for shape in shapes:
        cells = [shape]
        for mode in modes:
            ours: list[tuple[float, float]] = []
            refs: list[tuple[float, float, int]] = []
            count = args.human_events or n if mode == "human" else n
            for _ in range(args.rounds):  # interleaved, so load changes hit both alike
                ours.append(run_tail(count, mode, shape)[:2])
                if mode != "human":
                    refs.append(run_reference(python, n, mode, shape))
            rate, cpu = max(ours)
            cells.append(f"{rate:,.0f} ({cpu / count * 1e6:.1f})")
            if mode != "human":
                ref_rate, ref_cpu, dropped = max(refs)
                note = f", {dropped} dropped" if dropped else ""
                cells.append(f"{ref_rate:,.0f} ({ref_cpu / n * 1e6:.1f}{note})")
                cells.append(f"**{rate / ref_rate:.2f}x**")
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

    if args.breakdown:
        _print_breakdown(shapes)

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
