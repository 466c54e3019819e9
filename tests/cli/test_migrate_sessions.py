"""``autoplay migrate-sessions``: SDK keys written by plain redis-py, upgraded by the command."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_USAGE

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--no-color", "migrate-sessions", *args])
    return result.exit_code, result.stdout, result.stderr


def sdk_json(session_id: str) -> str:
    """A session as autoplay-sdk 0.7.9's Redis store writes it (json.dumps of to_dict())."""
    return json.dumps(
        {
            "_v": 1,
            "session_id": session_id,
            "metadata": {"user_id": "u1"},
            "current_state": "reactive_assistance",
            "last_interaction_at": 1234.5,
            "interaction_timeout_s": 20.0,
            "cooldown_period_s": 60.0,
            "visual_guidance_active": False,
            "active_tour_id": None,
            "conversation_linked": True,
            "conversation_id": f"conv-{session_id}",
            "thinking": {
                "cooldown_active": False,
                "cooldown_started_at": 0.0,
                "active_cooldown_period_s": None,
            },
            "proactive": {
                "user_clicked_option": False,
                "time_since_last_interaction_s": 0.0,
                "last_message_at": 1234.5,
            },
            "reactive": {"time_since_last_interaction_s": 0.0, "last_message_at": 1234.5},
        }
    )


@pytest.fixture
def keys(redis_url: str) -> Any:
    """A fresh prefix with three SDK keys in it, written by plain redis-py."""
    import redis

    prefix = f"autoplay-test:{uuid.uuid4().hex}:session_state:"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for sid in ("a", "b", "c"):
        client.set(prefix + sid, sdk_json(sid), ex=3600)
    yield prefix, client
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_dry_run_counts_and_writes_nothing(redis_url: str, keys: Any) -> None:
    prefix, client = keys
    code, out, _ = cli("--redis", redis_url, "--key-prefix", prefix, "--dry-run")
    assert code == 0
    assert "3 session keys scanned" in out and "would upgrade 3, already current 0" in out
    assert all(client.type(prefix + sid) == "string" for sid in "abc")


def test_upgrades_every_key_then_finds_them_current(redis_url: str, keys: Any) -> None:
    prefix, client = keys
    code, out, _ = cli("--redis", redis_url, "--key-prefix", prefix)
    assert code == 0 and "upgraded 3, already current 0, unreadable 0" in out
    for sid in "abc":
        stored = client.hgetall(prefix + sid)
        snapshot = json.loads(stored["snapshot"])
        assert snapshot["version"] == 1 and snapshot["current_state"] == "reactive_assistance"
        assert snapshot["conversation_id"] == f"conv-{sid}"  # never reset
        assert 0 < client.ttl(prefix + sid) <= 3600
    code, out, _ = cli("--redis", redis_url, "--key-prefix", prefix, "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["scanned"], summary["upgraded"], summary["current"]) == (3, 0, 3)


def test_unreadable_keys_are_named_left_alone_and_exit_9(redis_url: str, keys: Any) -> None:
    prefix, client = keys
    client.set(prefix + "junk", "not json at all")
    code, out, err = cli("--redis", redis_url, "--key-prefix", prefix)
    assert code == EXIT_PARTIAL
    assert "upgraded 3" in out and "unreadable 1" in out
    assert f"{prefix}junk" in err and "1 key could not be read" in err
    assert client.get(prefix + "junk") == "not json at all"


def test_unreachable_redis_exits_6_with_the_password_masked() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = cli("--redis", f"redis://:s3cretpass@127.0.0.1:{port}/0")
    assert code == EXIT_UNAVAILABLE and "s3cretpass" not in err and "****" in err


def test_a_url_that_is_not_redis_is_a_usage_error() -> None:
    code, _, err = cli("--redis", "http://127.0.0.1:6379")
    assert code == EXIT_USAGE and "expected a redis:// URL" in err


def test_help_ends_with_examples() -> None:
    result = runner.invoke(app, ["migrate-sessions", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "--dry-run" in result.stdout and "URL" in result.stdout
