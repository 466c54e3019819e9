"""A worker process for the multi-process Redis concurrency test (run as a script).

Usage: redis_worker.py URL PREFIX WORKER_ID WORKERS TASKS UPDATES SESSION_ID...
Each of TASKS asyncio tasks applies UPDATES counted updates to every session.
"""

from __future__ import annotations

import asyncio
import sys


async def main(
    url: str,
    prefix: str,
    worker: str,
    workers: int,
    tasks: int,
    updates: int,
    session_ids: list[str],
) -> None:
    import redis.asyncio as aioredis

    from autoplay_cli.session import AgentState, RedisSessionStore, SessionState

    # Start together, so the workers really contend.
    raw = aioredis.Redis.from_url(url)
    await raw.incr(prefix + "ready")
    while int(await raw.get(prefix + "ready") or 0) < workers:
        await asyncio.sleep(0.01)
    await raw.aclose()

    def bump(state: SessionState) -> None:
        meta = state.metadata
        meta["total"] = meta.get("total", 0) + 1
        meta[worker] = meta.get(worker, 0) + 1
        # Exercise the FSM too: the chat opens (once: it is refused when already open),
        # the user interacts.
        if state.current_state is AgentState.THINKING:
            state.transition_to_reactive()
        state.record_user_interaction()

    async with RedisSessionStore(url, key_prefix=prefix + "session:") as store:

        async def run() -> None:
            for _ in range(updates):
                for sid in session_ids:
                    await store.update(sid, bump)

        await asyncio.gather(*(run() for _ in range(tasks)))


if __name__ == "__main__":
    url, prefix, worker, workers, tasks, updates, *sids = sys.argv[1:]
    asyncio.run(main(url, prefix, worker, int(workers), int(tasks), int(updates), sids))
