"""Intercom notifications without the session id: the relay reads the contact.

respx stands in for Intercom's REST API (``GET /contacts/{id}``): its answers, error
codes included, cannot be produced by a real peer in tests. The relay itself runs on
real loopback HTTP; requests to 127.0.0.1 pass through respx untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
import pytest
import respx

from autoplay_cli.relay.intercom import INTERCOM_VERSION, ContactLookup, IntercomContacts
from autoplay_cli.relay.runner import RelayOptions
from autoplay_cli.stream.client import StreamConfig

from .running import relay_running

TOKEN = "dG9rOmludGVyY29tX2NvbnRhY3RfdG9rZW5fOTg3"
API = "https://api.intercom.io"
CONTACT = f"{API}/contacts/6329bd9ffe4e2e91dac76188"
CLIENT_SECRET = "intercom_client_secret_contacts_0123"


def _lookup(
    contact_id: str = "6329bd9ffe4e2e91dac76188", **kw: Any
) -> tuple[ContactLookup, list[float]]:
    waits: list[float] = []

    async def run() -> ContactLookup:
        async def sleep(s: float) -> None:
            waits.append(s)

        contacts = IntercomContacts(TOKEN, sleep=sleep, **kw)
        try:
            return await contacts.session_id(contact_id)
        finally:
            await contacts.aclose()

    return asyncio.run(run()), waits


def _contact(attrs: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "contact", "id": "6329bd9ffe4e2e91dac76188", "role": "user",
            "custom_attributes": attrs}  # fmt: skip


@respx.mock
def test_the_lookup_is_a_get_of_the_contact_with_the_token_and_the_pinned_version() -> None:
    route = respx.get(CONTACT).mock(
        return_value=httpx.Response(200, json=_contact({"autoplay_session_id": "sess_7"}))
    )
    result, waits = _lookup()
    assert result == ContactLookup("sess_7") and not waits
    request = route.calls.last.request
    assert request.method == "GET" and request.content == b""
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Intercom-Version"] == INTERCOM_VERSION
    assert request.headers["Accept"] == "application/json"


@respx.mock
def test_a_contact_id_is_escaped_in_the_path() -> None:
    route = respx.get(f"{API}/contacts/a%2Fb%3Fc").mock(
        return_value=httpx.Response(200, json=_contact({"autoplay_session_id": "s"}))
    )
    assert _lookup("a/b?c")[0].session_id == "s" and route.call_count == 1


@pytest.mark.parametrize("attrs", [{}, None, {"autoplay_session_id": "  "}, {"other": "x"}])
@respx.mock
def test_a_contact_without_the_attribute_is_final(attrs: dict[str, Any] | None) -> None:
    respx.get(CONTACT).mock(return_value=httpx.Response(200, json=_contact(attrs)))
    result, _ = _lookup()
    assert result.session_id is None and result.retry_after is None
    assert "autoplay_session_id" in result.problem


@pytest.mark.parametrize("status", [400, 401, 403, 404])
@respx.mock
def test_client_errors_are_final_and_never_name_the_token(status: int) -> None:
    route = respx.get(CONTACT).mock(
        return_value=httpx.Response(
            status, json={"type": "error.list", "errors": [{"message": f"bad {TOKEN}"}]}
        )
    )
    result, waits = _lookup()
    assert route.call_count == 1 and not waits
    assert result.session_id is None and result.retry_after is None
    assert f"HTTP {status}" in result.problem and TOKEN not in result.problem
    if status in (401, 403):
        assert "INTERCOM_ACCESS_TOKEN" in result.problem


@respx.mock
def test_a_rate_limit_waits_its_retry_after_then_reads_the_contact() -> None:
    route = respx.get(CONTACT).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json=_contact({"autoplay_session_id": "sess_9"})),
        ]
    )
    result, waits = _lookup()
    assert result.session_id == "sess_9" and waits == [2.0] and route.call_count == 2


@respx.mock
def test_a_retry_after_beyond_the_budget_is_handed_back_without_waiting() -> None:
    route = respx.get(CONTACT).mock(return_value=httpx.Response(429, headers={"Retry-After": "60"}))
    result, waits = _lookup()
    assert route.call_count == 1 and not waits
    assert result.session_id is None and result.retry_after == 60.0 and "429" in result.problem


@respx.mock
def test_server_errors_and_timeouts_are_retried_within_the_attempts() -> None:
    route = respx.get(CONTACT).mock(
        side_effect=[httpx.Response(502), httpx.ReadTimeout("slow"),
                     httpx.Response(200, json=_contact({"autoplay_session_id": "sess_3"}))]
    )  # fmt: skip
    result, waits = _lookup()
    assert result.session_id == "sess_3" and route.call_count == 3 and len(waits) == 2


@respx.mock
def test_a_lookup_failing_every_attempt_asks_for_a_later_retry() -> None:
    route = respx.get(CONTACT).mock(side_effect=httpx.ConnectError(f"refused {TOKEN}"))
    result, waits = _lookup(attempts=3)
    assert route.call_count == 3 and len(waits) == 2
    assert result.session_id is None and result.retry_after is not None
    assert result.retry_after >= 1 and TOKEN not in result.problem


# -- through the relay's chatbot webhook --------------------------------------------------


def _notification(topic: str, contact: dict[str, Any], conversation: str = "9001") -> bytes:
    item = {"type": "conversation", "id": conversation,
            "source": {"author": {"type": "user", "id": contact["id"]}},
            "contacts": {"type": "contact.list", "contacts": [contact]}}  # fmt: skip
    data = {"type": "notification_event_data", "item": item}
    return json.dumps({"type": "notification_event", "topic": topic, "data": data}).encode()


def _hub(body: bytes) -> dict[str, str]:
    digest = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}


def test_the_webhook_fetches_the_contact_when_the_notification_leaves_it_out(
    make_emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    emu = make_emulator(rate=0, max_events=0, retry_ms=10)
    options = RelayOptions(
        stream=StreamConfig(emu.url, emu.product_id, emu.token),
        listen="127.0.0.1:0",
        intercom_client_secret=CLIENT_SECRET,
        dead_letter=tmp_path / "dead.ndjson",
    )
    ref = {"type": "contact", "id": "6329bd9ffe4e2e91dac76188", "external_id": "usr_1"}
    with respx.mock(assert_all_called=False) as api:
        api.route(host="127.0.0.1").pass_through()
        contact = api.get(CONTACT).mock(
            side_effect=[
                httpx.Response(200, json=_contact({"autoplay_session_id": "sess_ic"})),
                httpx.Response(404, json={"errors": [{"message": "Contact Not Found"}]}),
                httpx.Response(503, headers={"Retry-After": "30"}),
            ]
        )
        with caplog.at_level(logging.WARNING), relay_running(options) as summary:
            relay = summary.relay
            assert relay is not None
            url = f"{summary.listening}/chatbot-webhook/{emu.product_id}"
            body = _notification("conversation.user.created", ref)
            r = httpx.post(url, content=body, headers=_hub(body))
            assert r.status_code == 200, r.text
            assert r.json() == {"session_id": "sess_ic", "conversation_id": "9001", "linked": True}
            state = relay.store.sessions.peek("sess_ic")
            assert state is not None and state.conversation_id == "9001"

            gone = _notification("conversation.user.replied", ref, "9002")
            r = httpx.post(url, content=gone, headers=_hub(gone))
            assert r.status_code == 202 and "does not exist" in r.json()["ignored"]

            later = _notification("conversation.user.replied", ref, "9003")
            r = httpx.post(url, content=later, headers=_hub(later))
            assert r.status_code == 503 and r.headers["retry-after"] == "30"
            assert relay.counters.links_received == 1
            # A topic that links nothing costs no lookup.
            closed = _notification("conversation.admin.closed", ref, "9004")
            assert httpx.post(url, content=closed, headers=_hub(closed)).status_code == 202
        assert contact.call_count == 3
    assert TOKEN not in caplog.text and "answered 503" in caplog.text


def test_without_a_token_the_webhook_acknowledges_and_links_nothing(
    make_emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERCOM_ACCESS_TOKEN", raising=False)
    emu = make_emulator(rate=0, max_events=0, retry_ms=10)
    options = RelayOptions(
        stream=StreamConfig(emu.url, emu.product_id, emu.token),
        listen="127.0.0.1:0",
        intercom_client_secret=CLIENT_SECRET,
        dead_letter=tmp_path / "dead.ndjson",
    )
    with relay_running(options) as summary:
        url = f"{summary.listening}/chatbot-webhook/{emu.product_id}"
        body = _notification("conversation.user.created", {"type": "contact", "id": "c1"})
        r = httpx.post(url, content=body, headers=_hub(body))
        assert r.status_code == 202 and "autoplay_session_id" in r.json()["ignored"]
        assert summary.relay is not None and summary.relay.counters.links_received == 0
