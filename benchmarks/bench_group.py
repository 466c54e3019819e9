"""Relay group throughput: 1, 2 and 3 member processes replaying one recording through Redis.

Prints events/s from the first member's start to the group being idle (everything
applied and sent to /dev/null), Redis commands and network bytes per event, and
Redis memory per session. Usage: python benchmarks/bench_group.py [SESSIONS] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.relay.group.status import read_status
from autoplay_cli.session._redis import RedisConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the tests' redis-server helper
from tests.support.local_redis import given_or_local_redis  # noqa: E402


def write(path: Path, sessions: int) -> int:
    import json

    from autoplay_cli.recording import envelope

    payloads = interleave(generate_sessions(sessions, seed=11, product_id="bench"))
    with path.open("w") as fh:
        for n, p in enumerate(payloads, 1):
            fh.write(json.dumps(envelope(str(n), p, p.forwarded_at)) + "\n")
    return len(payloads)


async def info(url: str) -> tuple[int, int, int, int]:
    conn = RedisConnection(url)
    c = conn.client()
    stats = await c.info("stats")
    mem = await c.info("memory")
    keys = await c.dbsize()
    await conn.aclose()
    return (
        int(stats["total_commands_processed"]),
        int(stats["total_net_input_bytes"]) + int(stats["total_net_output_bytes"]),
        int(mem["used_memory"]),
        keys,
    )


async def idle(url: str, last: int) -> bool:
    conn = RedisConnection(url)
    try:
        st = await read_status(conn, "bench")
        return st.checkpoint == str(last) and st.idle
    except Exception:
        return False
    finally:
        await conn.aclose()


async def gate(url: str, close: bool) -> None:
    """Hold the stream lease for the bench (members settle first), or let it go."""
    conn = RedisConnection(url)
    key = "autoplay:relay:{bench}:group:lease:stream"
    if close:
        await conn.client().set(key, "0:bench-gate", px=300_000)
    else:
        await conn.client().delete(key)
    await conn.aclose()


async def settled(url: str, members: int) -> bool:
    conn = RedisConnection(url)
    try:
        st = await read_status(conn, "bench")
    except Exception:
        return False
    finally:
        await conn.aclose()
    owners = [p.owner for p in st.partitions]
    counts = {o: owners.count(o) for o in set(owners)}
    return (
        None not in counts and len(counts) == members and max(counts.values()) <= 16 // members + 1
    )


def run(url: str, rec: Path, members: int, events: int) -> None:
    asyncio.run(_flush(url))
    asyncio.run(gate(url, close=True))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autoplay_cli",
                "relay",
                "--group",
                "--replay",
                str(rec),
                "--store",
                url,
                "--to",
                "-",
                "--member",
                f"b{i}",
                "--partitions",
                "16",
                "--max-time",
                "600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(members)
    ]
    try:
        # Members join and share the partitions before any event flows; then the
        # gate opens and one of them takes the stream.
        while not asyncio.run(settled(url, members)):
            time.sleep(0.2)
        before = asyncio.run(info(url))
        started = time.monotonic()
        asyncio.run(gate(url, close=False))
        while not asyncio.run(idle(url, events)):
            time.sleep(0.2)
        took = time.monotonic() - started
        after = asyncio.run(info(url))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    cmds, net = after[0] - before[0], after[1] - before[1]
    print(
        f"{members} member(s): {events / took:8.0f} events/s ({took:.1f} s), "
        f"{cmds / events:.1f} redis commands/event, {net / events:.0f} bytes/event, "
        f"redis memory {(after[2] - before[2]) / 2**20:.1f} MiB for {after[3]} keys"
    )


async def memory_per_key(url: str) -> None:
    """Average MEMORY USAGE of a session hash and of a user's activity list (sampled)."""
    conn = RedisConnection(url)
    c = conn.client()
    for kind in ("session", "activity"):
        sizes = []
        async for key in c.scan_iter(match=f"autoplay:relay:*:{kind}:*", count=500):
            sizes.append(await c.memory_usage(key))
            if len(sizes) >= 300:
                break
        if sizes:
            print(
                f"  {kind} key: {sum(sizes) / len(sizes):.0f} bytes on average"
                f" ({len(sizes)} sampled)"
            )
    await conn.aclose()


async def _flush(url: str) -> None:
    conn = RedisConnection(url)
    await conn.client().flushdb()
    await conn.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sessions", nargs="?", type=int, default=400)
    ap.add_argument("--redis", default=None)
    ap.add_argument("--members", default="1,2,3")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, given_or_local_redis(args.redis) as url:
        rec = Path(tmp) / "rec.ndjson"
        events = write(rec, args.sessions)
        print(f"{events} events over {args.sessions} sessions")
        for n in (int(x) for x in args.members.split(",")):
            run(url, rec, n, events)
        asyncio.run(memory_per_key(url))


if __name__ == "__main__":
    main()
