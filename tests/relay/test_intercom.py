"""`--to intercom`: request shapes (as the chatbot-intercom skill documents) and error codes.

respx stands in for Intercom: its API cannot be reached from tests, and the error
answers (401, 404, 429 with Retry-After, 5xx) are what is checked.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_CONFIG, ConfigError
from autoplay_cli.relay.delivery import NOTE, PROACTIVE_OFFER, Delivery
from autoplay_cli.relay.intercom import INTERCOM_VERSION, IntercomDestination
from autoplay_cli.relay.sender import RetryPolicy, Sender

from .conftest import EXAMPLES

TOKEN = "dG9rOmludGVyY29tX3Rlc3RfdG9rZW5fMDEyMzQ1"
API = "https://api.intercom.io"


def _note(**kw: object) -> Delivery:
    args: dict[str, object] = {
        "product_id": "p", "session_id": "s", "body": "Session s — 1 actions\n[0] click: <b> — /x",
        "created_at": 1.0, "event_ids": ["1"], "conversation_id": "215",
    }  # fmt: skip
    args.update(kw)
    return Delivery.make(NOTE, **args)  # type: ignore[arg-type]


def _offer(**kw: object) -> Delivery:
    args: dict[str, object] = {
        "product_id": "p", "session_id": "s", "body": "Need my expert help?", "created_at": 1.0,
        "event_ids": ["2"], "user_id": "usr_1", "email": "ann@acme.example", "trigger_id": "t",
        "chips": ({"id": "help", "label": "Yes, help me"},),
    }  # fmt: skip
    args.update(kw)
    return Delivery.make(PROACTIVE_OFFER, **args)  # type: ignore[arg-type]


def _send(*deliveries: Delivery, policy: RetryPolicy | None = None) -> Sender:
    async def run() -> Sender:
        destination = IntercomDestination("admin_7", TOKEN)

        async def no_wait(_: float) -> None:
            pass

        sender = Sender(None, destination, policy=policy, sleep=no_wait)
        for d in deliveries:
            await sender.deliver(d)
        await destination.aclose()
        return sender

    return asyncio.run(run())


@respx.mock
def test_a_note_is_an_admin_note_on_the_linked_conversation() -> None:
    route = respx.post(f"{API}/conversations/215/reply").mock(return_value=httpx.Response(200))
    assert _send(_note()).stats.delivered == 1
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "message_type": "note",
        "type": "admin",
        "admin_id": "admin_7",
        "body": "<p>Session s — 1 actions</p><p>[0] click: &lt;b&gt; — /x</p>",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Intercom-Version"] == INTERCOM_VERSION


@respx.mock
def test_an_offer_is_an_admin_initiated_message_to_the_user() -> None:
    route = respx.post(f"{API}/messages").mock(return_value=httpx.Response(200))
    _send(_offer(), _offer(user_id=None, event_ids=["3"]))
    first, second = (json.loads(c.request.content) for c in route.calls)
    assert first == {
        "message_type": "inapp",
        "body": "<p>Need my expert help?</p><ul><li>Yes, help me</li></ul>",
        "from": {"type": "admin", "id": "admin_7"},
        "to": {"type": "user", "user_id": "usr_1"},
    }
    assert second["to"] == {"type": "user", "email": "ann@acme.example"}


@respx.mock
def test_what_cannot_be_addressed_is_dead_lettered_without_a_request() -> None:
    sender = _send(_offer(user_id=None, email=None), _note(conversation_id=None))
    assert sender.stats.dead == 2 and not respx.calls


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
@respx.mock
def test_client_errors_are_final(status: int) -> None:
    route = respx.post(f"{API}/conversations/215/reply").mock(
        return_value=httpx.Response(status, json={"errors": [{"message": "nope"}]})
    )
    sender = _send(_note())
    assert route.call_count == 1 and sender.stats.dead == 1


@respx.mock
def test_rate_limits_and_server_errors_are_retried() -> None:
    route = respx.post(f"{API}/messages").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503),
            httpx.ConnectError("down"),
            httpx.Response(200),
        ]
    )
    sender = _send(_offer())
    assert route.call_count == 4 and sender.stats.delivered == 1 and sender.stats.retries == 3


@respx.mock
def test_the_relay_sends_a_replay_to_intercom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    notes = respx.post(url__regex=rf"{API}/conversations/.+/reply").mock(
        return_value=httpx.Response(200)
    )
    messages = respx.post(f"{API}/messages").mock(return_value=httpx.Response(200))
    combined = EXAMPLES / "simulate" / "combined.ndjson"
    result = CliRunner().invoke(
        app,
        ["relay", "--replay", str(combined), "--to", "intercom", "--intercom-admin-id", "a1"],
    )
    assert result.exit_code == 0, result.stderr
    expected = [
        json.loads(x)
        for x in CliRunner().invoke(app, ["relay", "--replay", str(combined)]).stdout.splitlines()
    ]
    assert notes.call_count == sum(d["type"] == "note" for d in expected) >= 2
    assert messages.call_count == sum(d["type"] == "proactive_offer" for d in expected) >= 1
    assert TOKEN not in result.stderr


def test_missing_token_or_admin_fails_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="INTERCOM_ACCESS_TOKEN"):
        IntercomDestination("a1", "")
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    result = CliRunner().invoke(app, ["relay", "--replay", str(rec), "--to", "intercom"])
    assert result.exit_code == EXIT_CONFIG and "--intercom-admin-id" in result.stderr
