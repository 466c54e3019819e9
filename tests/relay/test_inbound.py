"""The relay's inbound HTTP on real loopback: chatbot webhook, live activity, gate, health,
metrics and MCP, against a live emulator stream and a signature-checking receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from autoplay_cli.relay.runner import RelayOptions, RelaySummary
from autoplay_cli.relay.signing import sign
from autoplay_cli.stream.client import StreamConfig

from .conftest import EXAMPLES
from .receiver import Receiver, running
from .running import relay_running, wait_for

SECRET = "whsec_inbound_test_0123456789"
API_KEY = "ak_inbound_test_0123456789abcdef"
TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


@pytest.fixture
def live(make_emulator: Any, tmp_path: Any) -> Iterator[tuple[RelaySummary, Receiver, Any]]:
    emu = make_emulator(rate=40, retry_ms=10)
    with running(Receiver(SECRET)) as receiver:
        options = RelayOptions(
            to=receiver.url,
            to_secret=SECRET,
            config=TRIGGERS,
            stream=StreamConfig(emu.url, emu.product_id, emu.token),
            listen="127.0.0.1:0",
            api_key=API_KEY,
            dead_letter=tmp_path / "dead.ndjson",
        )
        with relay_running(options) as summary:
            assert summary.relay is not None
            wait_for(lambda: len(summary.relay.activity) >= 2)  # type: ignore[union-attr]
            yield summary, receiver, emu


def _auth(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Autoplay-Signature": sign(secret, body), "Content-Type": "application/json"}


def _pageview(session: str, path: str) -> dict[str, Any]:
    return {
        "event": "$pageview",
        "distinct_id": "usr_chat",
        "properties": {"$session_id": session, "$current_url": f"https://app.example{path}"},
    }


def test_link_via_the_chatbot_webhook_then_notes_arrive_in_order(
    make_emulator: Any, tmp_path: Any
) -> None:
    emu = make_emulator(rate=0, max_events=0, retry_ms=10)  # only what the test posts
    hook = {"X-PostHog-Secret": emu.webhook_secret}

    def visit(*paths: str) -> None:
        for path in paths:
            r = httpx.post(emu.webhook_url, json=_pageview("chat-1", path), headers=hook)
            assert r.status_code == 202, r.text

    with running(Receiver(SECRET)) as receiver:
        options = RelayOptions(
            to=receiver.url,
            to_secret=SECRET,
            stream=StreamConfig(emu.url, emu.product_id, emu.token),
            listen="127.0.0.1:0",
            api_key=API_KEY,
            dead_letter=tmp_path / "dead.ndjson",
        )
        with relay_running(options) as summary:
            sessions = summary.relay.store.sessions  # type: ignore[union-attr]
            url = f"{summary.listening}/chatbot-webhook/{emu.product_id}"
            # Events posted before the stream is subscribed would not be sent to it.
            wait_for(lambda: summary.health.stream_connected)
            visit("/a", "/b")
            wait_for(lambda: summary.relay.notes.pending("chat-1") == 2)  # type: ignore[union-attr]
            # Unsigned, badly signed, or signed with another secret: 401, nothing changes.
            body = json.dumps(
                {"session_id": "chat-1", "conversation_id": "conv_1", "event": "NEW",
                 "metadata": {"plan": "pro"}}
            ).encode()  # fmt: skip
            for headers in ({}, {"X-Autoplay-Signature": "t=1,v1=00"}, _signed(body, "x" * 20)):
                r = httpx.post(url, content=body, headers=headers)
                assert r.status_code == 401 and SECRET not in r.text
            assert not sessions.peek("chat-1").conversation_linked
            r = httpx.post(url, content=body, headers=_signed(body))
            assert r.status_code == 200, r.text
            assert r.json() == {"session_id": "chat-1", "conversation_id": "conv_1", "linked": True}
            assert sessions.peek("chat-1").metadata["plan"] == "pro"
            wait_for(lambda: len(receiver.accepted) == 1)  # the pre-link buffer: one note
            visit("/c")
            wait_for(lambda: len(receiver.accepted) == 2)
            visit("/d", "/e")
            wait_for(lambda: sum(len(d["event_ids"]) for d in receiver.accepted) == 5)
    notes = receiver.accepted
    assert {d["type"] for d in notes} == {"note"}
    assert all(d["conversation_id"] == "conv_1" and d["session_id"] == "chat-1" for d in notes)
    assert notes[0]["event_ids"] == ["1", "2"] and notes[1]["event_ids"] == ["3"]
    ids = [int(i) for d in notes for i in d["event_ids"]]
    assert ids == [1, 2, 3, 4, 5]  # in order, none twice, none lost
    assert "/a" in notes[0]["body"] and "/b" in notes[0]["body"]
    assert receiver.bad_signatures == 0


def test_webhook_rejects_bad_requests_without_changing_anything(live: Any) -> None:
    summary, _, emu = live
    url = f"{summary.listening}/chatbot-webhook/{emu.product_id}"
    big = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    assert httpx.post(url, content=big, headers=_signed(big)).status_code == 413
    bad = b"{not json"
    assert httpx.post(url, content=bad, headers=_signed(bad)).status_code == 400
    missing = json.dumps({"session_id": "s"}).encode()
    r = httpx.post(url, content=missing, headers=_signed(missing))
    assert r.status_code == 400 and "conversation_id" in r.json()["error"]
    other = json.dumps({"session_id": "s", "conversation_id": "c"}).encode()
    r = httpx.post(
        f"{summary.listening}/chatbot-webhook/other", content=other, headers=_signed(other)
    )
    assert r.status_code == 404
    assert summary.relay.store.sessions.peek("s") is None
    assert summary.relay.counters.links_received == 0


def test_live_activity_with_good_wrong_and_other_product_keys(live: Any) -> None:
    summary, _, emu = live
    user = summary.relay.activity.keys()[0]
    url = f"{summary.listening}/users/{emu.product_id}/{user}/live-activity"
    r = httpx.get(url, headers=_auth(), params={"limit": 3})
    assert r.status_code == 200, r.text
    env = r.json()
    assert set(env) == {"product_id", "user_id", "count", "as_of", "actions"}
    assert env["product_id"] == emu.product_id and env["user_id"] == user
    assert 1 <= env["count"] == len(env["actions"]) <= 3
    times = [a["timestamp_end"] or a["timestamp_start"] for a in env["actions"]]
    assert times == sorted(times)  # newest last
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=_auth("wrong-key-0123456789")).status_code == 401
    other = f"{summary.listening}/users/other-product/{user}/live-activity"
    assert httpx.get(other, headers=_auth()).status_code == 403
    assert httpx.get(url, headers=_auth(), params={"limit": 0}).status_code == 400
    assert httpx.get(url, headers=_auth(), params={"limit": 51}).status_code == 400


def test_gate_health_and_metrics(live: Any) -> None:
    summary, _, _ = live
    sid = summary.relay.store.sessions.ids()[0]
    r = httpx.get(f"{summary.listening}/sessions/{sid}/proactive", headers=_auth())
    assert r.status_code == 200 and set(r.json()) == {"session_id", "allowed", "reason"}
    state = summary.relay.store.sessions.peek(sid)
    assert (r.json()["allowed"], r.json()["reason"]) == state.can_deliver_proactive()
    assert httpx.get(f"{summary.listening}/sessions/{sid}/proactive").status_code == 401
    health = httpx.get(f"{summary.listening}/healthz")
    assert health.status_code == 200, health.text
    h = health.json()
    assert h["healthy"] and h["stream_connected"] and h["store_reachable"] and h["last_event_id"]

    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{summary.listening}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "autoplay_relay_events", "autoplay_relay_deliveries",
        "autoplay_relay_delivery_latency_seconds",
        "autoplay_relay_delivery_retries", "autoplay_relay_dead_letters",
        "autoplay_relay_stream_reconnects", "autoplay_relay_stream_gaps",
        "autoplay_relay_offers_blocked", "autoplay_relay_active_sessions",
        "autoplay_relay_stream_lag_seconds",
    ):  # fmt: skip
        assert name in families, name
    events = {
        s.labels["type"]: s.value
        for s in families["autoplay_relay_events"].samples
        if s.name.endswith("_total")
    }
    assert events.get("actions", 0) > 0
    assert families["autoplay_relay_active_sessions"].samples[0].value >= 1


def test_mcp_tool_with_the_sdk_client(live: Any) -> None:
    summary, _, emu = live
    user = summary.relay.activity.keys()[0]

    async def call(key: str, product: str) -> Any:
        import httpx2
        from mcp.client.client import Client
        from mcp.client.streamable_http import streamable_http_client

        async with httpx2.AsyncClient(headers=_auth(key)) as http:
            transport = streamable_http_client(f"{summary.listening}/mcp", http_client=http)
            async with Client(transport) as client:
                return await client.call_tool(
                    "get_live_user_activity", {"product_id": product, "user_id": user, "limit": 5}
                )

    result = asyncio.run(call(API_KEY, emu.product_id))
    assert not result.is_error
    envelope = result.structured_content
    assert envelope["user_id"] == user and envelope["product_id"] == emu.product_id
    assert 1 <= envelope["count"] <= 5
    other = asyncio.run(call(API_KEY, "other-product"))
    assert other.is_error and "another product" in str(other.content)
    with pytest.raises(Exception):  # noqa: B017 - the SDK's HTTP error for a 401
        asyncio.run(call("wrong-key-0123456789", emu.product_id))
    # What that error stands for: the endpoint refuses a missing or wrong key itself.
    for headers in ({}, _auth("wrong-key-0123456789")):
        r = httpx.post(f"{summary.listening}/mcp", json={}, headers=headers)
        assert r.status_code == 401 and API_KEY not in r.text


def test_listen_addresses_are_parsed_and_checked() -> None:
    from autoplay_cli.errors import UsageError
    from autoplay_cli.relay.inbound import parse_listen

    assert parse_listen("127.0.0.1:8788") == ("127.0.0.1", 8788)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("8788", "host:", "host:port", ":80", "h:70000"):
        with pytest.raises(UsageError, match="HOST:PORT"):
            parse_listen(bad)


def test_a_listener_beyond_loopback_is_warned_about(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    logger = logging.getLogger("autoplay_cli.relay.runner")
    logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.INFO)
    logger.setLevel(logging.INFO)
    try:
        options = RelayOptions(
            replay=EXAMPLES / "simulate" / "recording.ndjson",
            listen="0.0.0.0:0",
            dead_letter=tmp_path / "d",
        )
        with relay_running(options, wait_listening=False) as summary:
            wait_for(lambda: summary.stop_reason != "interrupted")
    finally:
        logger.removeHandler(caplog.handler)
    assert any("reachable from other machines" in r.getMessage() for r in caplog.records)


def test_intercom_notifications_link_sessions_when_signed(
    make_emulator: Any, tmp_path: Any
) -> None:
    import hashlib
    import hmac

    emu = make_emulator(rate=0, max_events=0, retry_ms=10)
    client_secret = "intercom_client_secret_0123456789"
    options = RelayOptions(
        stream=StreamConfig(emu.url, emu.product_id, emu.token),
        listen="127.0.0.1:0",
        intercom_client_secret=client_secret,
        dead_letter=tmp_path / "dead.ndjson",
    )

    def notification(topic: str, attrs: dict[str, Any]) -> bytes:
        item = {"type": "conversation", "id": "9001",
                "contacts": {"contacts": [{"id": "c1", "custom_attributes": attrs}]}}  # fmt: skip
        return json.dumps({"type": "notification_event", "topic": topic,
                           "data": {"item": item}}).encode()  # fmt: skip

    def hub(body: bytes, secret: str = client_secret) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}

    with relay_running(options) as summary:
        url = f"{summary.listening}/chatbot-webhook/{emu.product_id}"
        body = notification("conversation.user.created", {"autoplay_session_id": "sess_ic"})
        assert httpx.post(url, content=body, headers=hub(body, "wrong")).status_code == 401
        assert (
            httpx.post(url, content=body, headers={"X-Hub-Signature": "sha1=00"}).status_code == 401
        )
        assert summary.relay.store.sessions.peek("sess_ic") is None  # type: ignore[union-attr]
        r = httpx.post(url, content=body, headers=hub(body))
        assert r.status_code == 200, r.text
        assert r.json() == {"session_id": "sess_ic", "conversation_id": "9001", "linked": True}
        other = notification("conversation.admin.closed", {"autoplay_session_id": "sess_ic"})
        assert httpx.post(url, content=other, headers=hub(other)).status_code == 202
        anonymous = notification("conversation.user.replied", {})
        r = httpx.post(url, content=anonymous, headers=hub(anonymous))
        assert r.status_code == 202 and "autoplay_session_id" in r.json()["ignored"]
        assert summary.relay.counters.links_received == 1  # type: ignore[union-attr]
