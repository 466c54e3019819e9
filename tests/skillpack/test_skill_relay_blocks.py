"""The `autoplay-core` skill's relay code runs: its receiver and its link helper, executed
as written, against a real relay on loopback fed by the emulator's stream."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoplay_cli.relay import sign
from autoplay_cli.relay.runner import RelayOptions
from autoplay_cli.stream.client import StreamConfig

from ..relay.receiver import Receiver, running
from ..relay.running import relay_running, wait_for
from .test_skill_content import _blocks

CORE = Path(__file__).resolve().parents[2] / "skills" / "autoplay-core" / "SKILL.md"
SECRET = "whsec_skill_blocks_0123456789"


def core_block(defines: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run the one Python block of `autoplay-core` that defines *defines*; its globals."""
    blocks = [c for lang, c, _ in _blocks(CORE) if lang == "python" and f"def {defines}(" in c]
    assert len(blocks) == 1, f"one block defining {defines}"
    monkeypatch.setenv("AUTOPLAY_RELAY_SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "skill_block"}
    exec(compile(blocks[0], f"autoplay-core:{defines}", "exec"), namespace)
    return namespace


def _delivery(delivery_id: str) -> bytes:
    return json.dumps(
        {"id": delivery_id, "type": "note", "body": "x", "conversation_id": "c"}
    ).encode()


def test_the_receiver_block_verifies_signatures_and_drops_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns = core_block("handle_delivery", monkeypatch)
    handle = ns["handle_delivery"]
    body = _delivery("dlv_1")
    assert handle(body, {"X-Autoplay-Signature": sign("whsec_someone_else_0123", body)}) == 401
    assert handle(body, {}) == 401
    old = sign(SECRET, body, time.time() - 3600)  # a replayed capture
    assert handle(body, {"X-Autoplay-Signature": old}) == 401
    assert ns["seen"] == set()
    tampered = body.replace(b'"x"', b'"y"')
    assert handle(tampered, {"X-Autoplay-Signature": sign(SECRET, body)}) == 401
    assert handle(body, {"x-autoplay-signature": sign(SECRET, body)}) == 204
    assert handle(body, {"X-Autoplay-Signature": sign(SECRET, body)}) == 204  # re-sent
    assert ns["seen"] == {"dlv_1"}


class SkillReceiver(Receiver):
    """The test receiver's HTTP server, answering with the skill's own handler."""

    def __init__(self, handle: Any) -> None:
        super().__init__(SECRET)
        self.skill_handle = handle

    def handle(self, body: bytes, headers: Any) -> tuple[int, dict[str, str]]:
        with self.lock:
            status = self.skill_handle(body, dict(headers.items()))
            if status == 204:
                self.accepted.append(json.loads(body))
            return status, {}


def _pageview(session: str, path: str) -> dict[str, Any]:
    return {
        "event": "$pageview",
        "distinct_id": "usr_skill",
        "properties": {"$session_id": session, "$current_url": f"https://app.example{path}"},
    }


def test_link_helper_and_receiver_work_against_a_live_relay(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOPLAY_DATA_DIR", str(tmp_path / "data"))
    receiver_ns = core_block("handle_delivery", monkeypatch)
    link_ns = core_block("link_in_relay", monkeypatch)
    emu = make_emulator(rate=0, max_events=0, retry_ms=10)  # only what the test posts
    hook = {"X-PostHog-Secret": emu.webhook_secret}

    def visit(*paths: str) -> None:
        for path in paths:
            r = httpx.post(emu.webhook_url, json=_pageview("skill-1", path), headers=hook)
            assert r.status_code == 202, r.text

    with running(SkillReceiver(receiver_ns["handle_delivery"])) as receiver:
        options = RelayOptions(
            to=receiver.url,
            to_secret=SECRET,
            stream=StreamConfig(emu.url, emu.product_id, emu.token),
            listen="127.0.0.1:0",
            dead_letter=tmp_path / "dead.ndjson",
        )
        with relay_running(options) as summary:
            assert summary.relay is not None and summary.listening is not None
            link_ns["RELAY_URL"] = summary.listening  # the block's default is 127.0.0.1:8788
            wait_for(lambda: summary.health.stream_connected)
            visit("/a", "/b")
            wait_for(lambda: summary.relay.notes.pending("skill-1") == 2)  # type: ignore[union-attr]
            assert receiver.accepted == []  # not linked yet: nothing to deliver
            link = link_ns["link_in_relay"]
            with pytest.raises(httpx.HTTPStatusError) as excinfo:
                asyncio.run(link("another-product", "skill-1", "conv_9", "NEW"))
            assert excinfo.value.response.status_code == 404
            asyncio.run(link(emu.product_id, "skill-1", "conv_9", "NEW"))
            state = summary.relay.store.sessions.peek("skill-1")
            assert state is not None and state.conversation_id == "conv_9"
            wait_for(lambda: len(receiver.accepted) == 1)  # the pre-link buffer, one note
            visit("/c")
            wait_for(lambda: len(receiver.accepted) == 2)
    notes = receiver.accepted
    assert [d["type"] for d in notes] == ["note", "note"]
    assert all(d["conversation_id"] == "conv_9" for d in notes)
    assert [d["event_ids"] for d in notes] == [["1", "2"], ["3"]]
    assert receiver_ns["seen"] == {d["id"] for d in notes}
