"""A group member's inbound HTTP on real loopback: live activity from Redis on any member,
a chatbot link applied by the session's partition owner, /healthz following Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from autoplay_cli.relay.group.keys import partition_of
from autoplay_cli.relay.group.run import MemberSummary, serve_inbound
from autoplay_cli.relay.runner import RelayOptions
from autoplay_cli.relay.signing import sign
from autoplay_cli.wire import ActionsPayload, SlimAction
from tests.support.local_redis import _free_port

from ..conftest import write_recording
from .harness import Lines, make_member, wait_idle
from .procs import wait_for
from .test_pause_and_outage import OwnRedis, own_redis  # noqa: F401  (the fixture)

SECRET = "whsec_group_inbound_0123456789"
API_KEY = "ak_group_inbound_0123456789abcdef"
PARTITIONS = 2


def _recording(path: Path, sessions: int = 6) -> Path:
    """Two pageview batches per session, a minute ago (inside live activity's 24 h)."""
    start = time.time() - 60
    payloads = []
    for step in range(2):
        for n in range(sessions):
            t = start + step * 5 + n * 0.1
            url = f"/s{n}/page{step}"
            action = SlimAction(
                type="pageview", description=f"Opened {url}", canonical_url=url,
                timestamp_start=t, timestamp_end=t,
            )  # fmt: skip
            payload = ActionsPayload(
                product_id="demo", session_id=f"sess{n}", user_id=f"user{n}", actions=[action]
            )
            payloads.append((t, payload))
    return write_recording(path, payloads)


def test_any_member_answers_live_activity_and_links_go_to_the_owner(
    redis_url: str, tmp_path: Path
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/12"
    recording = _recording(tmp_path / "rec.ndjson")
    sinks = {"a": Lines(), "b": Lines()}
    options = RelayOptions(listen="127.0.0.1:0", to_secret=SECRET, api_key=API_KEY)
    out: dict[str, Any] = {}

    async def main() -> None:
        members = {
            n: make_member(url, recording, None, n, sinks[n], partitions=PARTITIONS, lease_ttl=1.0)
            for n in sinks
        }
        summaries = {n: MemberSummary() for n in members}
        served = [await serve_inbound(options, m, summaries[n]) for n, m in members.items()]
        stops = {n: asyncio.Event() for n in members}
        tasks = [asyncio.create_task(m.run(stops[n])) for n, m in members.items()]
        try:
            await wait_idle(url, "demo", list(members.values()), 30, tasks)
            # The group may be idle before it has rebalanced: the share still comes.
            async with asyncio.timeout(30):
                while not all(m.owned for m in members.values()):
                    await asyncio.sleep(0.05)
            owner = {k: n for n, m in members.items() for k in m.owned}
            assert len(owner) == PARTITIONS and set(owner.values()) == {"a", "b"}
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
                # Every user asked of the member that does not own its session's partition.
                for n in range(6):
                    k = partition_of(f"sess{n}", PARTITIONS)
                    other = "a" if owner[k] == "b" else "b"
                    r = await http.get(
                        f"{summaries[other].listening}/users/demo/user{n}/live-activity"
                    )
                    assert r.status_code == 200, r.text
                    out.setdefault("activity", {})[n] = r.json()
                # A link posted to the member that does not own the session.
                k = partition_of("sess0", PARTITIONS)
                other = "a" if owner[k] == "b" else "b"
                out["owner"], out["other"] = owner[k], other
                body = json.dumps({"session_id": "sess0", "conversation_id": "conv_9"}).encode()
                hook = f"{summaries[other].listening}/chatbot-webhook/demo"
                bad = await http.post(hook, content=body, headers={"X-Autoplay-Signature": "x"})
                assert bad.status_code == 401
                r = await http.post(
                    hook,
                    content=body,
                    headers={"X-Autoplay-Signature": sign(SECRET, body)},
                )
                assert r.status_code == 202, r.text
                async with asyncio.timeout(15):
                    while not any(d["type"] == "note" for d in sinks[owner[k]].deliveries()):
                        await asyncio.sleep(0.1)
        finally:
            for stop in stops.values():
                stop.set()
            await asyncio.gather(*tasks)
            for store, (server, task, _contacts) in served:
                server.should_exit = True
                await task
                await store.aclose()

    asyncio.run(main())
    for n, envelope in out["activity"].items():
        assert envelope["count"] == 2, envelope
        assert [a["canonical_url"] for a in envelope["actions"]] == [
            f"/s{n}/page0",
            f"/s{n}/page1",
        ]
    notes = [d for d in sinks[out["owner"]].deliveries() if d["type"] == "note"]
    assert len(notes) == 1
    assert notes[0]["session_id"] == "sess0" and notes[0]["conversation_id"] == "conv_9"
    assert "/s0/page0" in notes[0]["body"] and "/s0/page1" in notes[0]["body"]
    assert not [d for d in sinks[out["other"]].deliveries() if d["type"] == "note"]


def test_healthz_is_503_while_redis_is_down_and_200_when_it_is_back(
    own_redis: OwnRedis,  # noqa: F811
    tmp_path: Path,
) -> None:
    recording = _recording(tmp_path / "rec.ndjson", sessions=2)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "relay", "--group", "--member", "h0",
         "--replay", str(recording), "--store", own_redis.url, "--to", "-",
         "--listen", f"127.0.0.1:{port}", "--partitions", "2", "--lease-ttl", "1",
         "--max-time", "180"],  # a safety net only: the test stops it
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "AUTOPLAY_RELAY_SECRET": SECRET, "AUTOPLAY_RELAY_API_KEY": API_KEY},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/healthz"

    def code() -> int | None:
        # The member answers within its 2 s store timeout; a loaded machine may add more.
        try:
            return httpx.get(health, timeout=10).status_code
        except httpx.HTTPError:
            return None

    def said(what: str) -> str:
        state = "running" if proc.poll() is None else f"exited ({proc.returncode})"
        if proc.poll() is None:
            return f"{what}; the member is {state}"
        return f"{what}; the member {state}: {_err(proc)}"

    try:
        wait_for(lambda: code() == 200, 20, "a healthy member")
        own_redis.shutdown(save=True)
        try:
            wait_for(lambda: code() == 503, 30, "503 while redis is down")
        except AssertionError as exc:
            raise AssertionError(said(str(exc))) from None
        try:
            body = httpx.get(health, timeout=3).json()
        except httpx.HTTPError:
            body = None
        if body is None or proc.poll() is not None:  # it exited: its log says why
            proc.wait(timeout=10)
            raise AssertionError(
                f"the member exited ({proc.returncode}) while redis was down: {_err(proc)}"
            )
        assert body["healthy"] is False and body["store_reachable"] is False
        # The other endpoints say so too, cleanly, and a link is not taken for queued.
        auth = {"Authorization": f"Bearer {API_KEY}"}
        r = httpx.get(f"{base}/users/demo/user0/live-activity", headers=auth, timeout=5)
        assert r.status_code == 503, r.text
        link = json.dumps({"session_id": "sess0", "conversation_id": "c"}).encode()
        signed = {"X-Autoplay-Signature": sign(SECRET, link)}
        r = httpx.post(f"{base}/chatbot-webhook/demo", content=link, headers=signed, timeout=5)
        assert r.status_code == 503, r.text
        own_redis.start()
        wait_for(lambda: code() == 200, 15, "200 once redis is back")
        assert proc.poll() is None, "the member gave up"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err.decode()


def _err(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stderr is not None
    return proc.stderr.read().decode(errors="replace")[-3000:]
