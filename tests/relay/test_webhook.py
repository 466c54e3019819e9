"""Webhook deliveries on real loopback HTTP: signatures, retries, dead letters, resending."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_PARTIAL
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.destinations import WebhookDestination, retry_after_seconds
from autoplay_cli.relay.sender import DeadLetters, RetryPolicy, Sender, read_dead_letters
from autoplay_cli.relay.signing import SignatureError, sign, verify

from .conftest import EXAMPLES
from .receiver import Receiver, running

runner = CliRunner()
SECRET = "whsec_relay_test_0123456789abcdef"
COMBINED = EXAMPLES / "simulate" / "combined.ndjson"


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def _relay(*args: str) -> object:
    return runner.invoke(
        app,
        ["relay", "--replay", str(COMBINED), *args],
        env={"AUTOPLAY_RELAY_SECRET": SECRET},
    )


def _expected() -> list[dict[str, object]]:
    result = runner.invoke(app, ["relay", "--replay", str(COMBINED), "--to", "-"])
    assert result.exit_code == 0  # type: ignore[attr-defined]
    return [json.loads(x) for x in result.stdout.splitlines()]  # type: ignore[attr-defined]


def test_signed_deliveries_arrive_in_order(tmp_path: Path) -> None:
    expected = _expected()
    assert [d["type"] for d in expected].count("note") >= 2
    with running(Receiver(SECRET)) as receiver:
        result = _relay("--to", receiver.url, "--dead-letter", str(tmp_path / "dl.ndjson"))
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert receiver.accepted == expected and receiver.bad_signatures == 0
    assert SECRET not in result.stderr  # type: ignore[attr-defined]


def test_a_500_then_200_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    expected = _expected()
    script = [(500, {}), (503, {"Retry-After": "1"}), (200, {}), (429, {}), (200, {})]
    with running(Receiver(SECRET, script)) as receiver:
        started = time.monotonic()
        result = _relay("--to", receiver.url, "--dead-letter", str(tmp_path / "dl.ndjson"))
        took = time.monotonic() - started
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert receiver.accepted == expected
    # The first delivery was tried three times, the second twice, all with the same id.
    assert [d["id"] for d in receiver.attempts[:3]] == [expected[0]["id"]] * 3
    assert receiver.attempts[3]["id"] == receiver.attempts[4]["id"] == expected[1]["id"]
    assert took >= 1.0  # the 503's Retry-After was honoured
    assert "retries 3, dead letters 0" in result.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "dl.ndjson").exists()


def test_a_4xx_is_final_and_dead_lettered_at_once(tmp_path: Path) -> None:
    dead = tmp_path / "dl.ndjson"
    with running(Receiver(SECRET, [(400, {})])) as receiver:
        result = _relay("--to", receiver.url, "--dead-letter", str(dead))
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert len(receiver.attempts) == len(receiver.accepted) + 1  # not retried
    (letter,) = [json.loads(x) for x in dead.read_text().splitlines()]
    assert letter["reason"] == "HTTP 400" and letter["attempts"] == 1
    assert letter["delivery"]["id"] == receiver.attempts[0]["id"]


def test_a_receiver_down_for_the_whole_run_then_resent(tmp_path: Path) -> None:
    expected = _expected()
    dead = tmp_path / "dl.ndjson"
    result = _relay("--to", _dead_url(), "--dead-letter", str(dead), "--max-attempts", "2")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    letters = [json.loads(x) for x in dead.read_text().splitlines()]
    assert [x["delivery"] for x in letters] == expected
    assert all("gave up after 2 attempts" in x["reason"] for x in letters)
    assert f"dead letters {len(expected)}" in result.stderr  # type: ignore[attr-defined]
    with running(Receiver(SECRET)) as receiver:
        resent = runner.invoke(
            app,
            ["relay", "--resend-dead-letters", str(dead), "--to", receiver.url],
            env={"AUTOPLAY_RELAY_SECRET": SECRET},
        )
    assert resent.exit_code == 0, resent.stderr
    assert receiver.accepted == expected
    assert not dead.exists()  # nothing failed again


def test_resend_keeps_what_fails_again(tmp_path: Path) -> None:
    expected = _expected()
    dead = tmp_path / "dl.ndjson"
    letters = DeadLetters(dead)
    for d in expected:
        letters.append(Delivery.from_dict(d), "HTTP 500", 6, "x")
    with running(Receiver(SECRET, [(410, {})])) as receiver:
        resent = runner.invoke(
            app,
            ["relay", "--resend-dead-letters", str(dead), "--to", receiver.url],
            env={"AUTOPLAY_RELAY_SECRET": SECRET},
        )
    assert resent.exit_code == EXIT_PARTIAL
    assert [d.id for d in read_dead_letters(dead)] == [expected[0]["id"]]
    assert receiver.accepted == expected[1:]


def test_sender_waits_with_backoff_and_jitter_between_attempts() -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    async def scenario() -> None:
        destination = WebhookDestination(_dead_url(), SECRET)
        sender = Sender(
            None, destination, policy=RetryPolicy(max_attempts=5, initial_delay_s=1), sleep=sleep
        )
        d = Delivery.make(
            "note", product_id="p", session_id="s", body="b", created_at=0, event_ids=["1"]
        )
        assert await sender.deliver(d) is False
        await destination.aclose()

    asyncio.run(scenario())
    assert len(waits) == 4
    for n, wait in enumerate(waits):
        assert 2**n / 2 <= wait <= 2**n


def test_retry_after_forms() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("100000") == 300  # capped
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_verify_accepts_good_and_refuses_bad_signatures() -> None:
    body = b'{"id":"dlv_1"}'
    now = 1_767_225_600
    header = sign(SECRET, body, now)
    assert verify(SECRET, body, header, now=now + 10) == now
    assert verify(SECRET, body, f"t={now},v1=00,{header.split(',')[1]}", now=now) == now
    for bad_body, bad_header, message in [
        (body + b" ", header, "does not match"),
        (body, sign("other-secret", body, now), "does not match"),
        (body, None, "missing"),
        (body, "v1=abc", "must look like"),
        (body, "t=x,v1=abc", "bad timestamp"),
    ]:
        with pytest.raises(SignatureError, match=message):
            verify(SECRET, bad_body, bad_header, now=now)
    # A replay of an old request is refused even though its HMAC is right.
    with pytest.raises(SignatureError, match="away from now"):
        verify(SECRET, body, header, now=now + 301)
    with pytest.raises(SignatureError, match="away from now"):
        verify(SECRET, body, header, now=now + 61, tolerance_s=60)


def test_the_sender_keeps_going_after_a_store_failure() -> None:
    from autoplay_cli.errors import StoreUnavailableError
    from autoplay_cli.relay.destinations import StdoutDestination

    class FlakyStore:
        def __init__(self) -> None:
            self.calls = 0
            self.acked: list[int] = []

        async def outbox_peek(self, limit: int, after: object = None) -> list[tuple[int, Delivery]]:
            self.calls += 1
            if self.calls == 1:
                raise StoreUnavailableError("redis at x is unavailable")
            if after is not None:
                return []
            d = Delivery.make("note", product_id="p", session_id="s", body="b",
                              created_at=0, event_ids=["1"])  # fmt: skip
            return [(1, d)]

        async def outbox_ack(self, ids: list[int]) -> None:
            self.acked.extend(ids)

    class Sink:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def write(self, text: str) -> None:
            self.lines.append(text)

        def flush(self) -> None:
            pass

    async def scenario() -> tuple[FlakyStore, Sender]:
        store = FlakyStore()
        sender = Sender(store, StdoutDestination(Sink()))  # type: ignore[arg-type]
        task = asyncio.create_task(sender.run())
        sender.wake()
        await asyncio.sleep(0.05)
        sender.wake()
        for _ in range(100):
            if store.acked:
                break
            await asyncio.sleep(0.05)
        sender.stop()
        await task
        return store, sender

    store, sender = asyncio.run(scenario())
    assert store.acked == [1] and sender.stats.stalls == 1 and sender.stats.delivered == 1
