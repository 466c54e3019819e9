"""``autoplay emulate`` as users run it: a real process, real HTTP, Ctrl-C to stop."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.wire import PayloadEvent, parse_event

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def emulate(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``autoplay emulate ARGS``; yield the process and its first stdout line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def read_lines(proc: subprocess.Popen[str], count: int, timeout: float = 10) -> list[str]:
    """Up to *count* more stdout lines, whatever arrived within *timeout* seconds.

    A reader thread, so that fewer lines than expected fail the test instead of hanging it
    (the thread ends when the process is killed).
    """
    got: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for _ in range(count):
            got.put(proc.stdout.readline())

    threading.Thread(target=reader, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with contextlib.suppress(queue.Empty):
        while len(lines) < count:
            lines.append(got.get(timeout=max(0.0, deadline - time.monotonic())))
    return lines


def stream_events(url: str, token: str, count: int) -> list[tuple[str, str, str]]:
    events: list[tuple[str, str, str]] = []
    fields: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    give_up = time.monotonic() + 30  # keep-alives arrive forever: fail rather than hang
    with httpx.stream("GET", url, headers=headers, timeout=10) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            assert time.monotonic() < give_up, f"only {len(events)} of {count} events"
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "id" in fields:
                events.append((fields["id"], fields.get("event", ""), fields.get("data", "")))
                if len(events) == count:
                    break
            fields = {}
    return events


def test_json_then_stream_then_ctrl_c_exits_130_quietly() -> None:
    with emulate(
        "--json",
        "--rate",
        "0",
        "--max-events",
        "5",
        "--seed",
        "3",
        "--product-id",
        "acme",
        "--token",
        "uk_test_key_123",
        "--webhook-secret",
        "whsec_test_secret_123",
    ) as (proc, first):
        info = json.loads(first)
        assert info["product_id"] == "acme" and info["token"] == "uk_test_key_123"
        assert info["fake"] is True and info["stream_url"] == f"{info['url']}/stream/acme"
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["webhook_url"] == f"{info['url']}/webhook/acme"
        assert info["webhook_secret"] == "whsec_test_secret_123"
        events = stream_events(info["stream_url"], info["token"], 5)
        assert [e[0] for e in events] == ["1", "2", "3", "4", "5"]
        assert all(isinstance(parse_event(e[1], e[2], e[0]), PayloadEvent) for e in events)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert "Traceback" not in err


def test_env_form_prints_export_lines_usable_by_a_shell(tmp_path: Path) -> None:
    token = "uk_$HOME'quoted\"key"  # shell-special, yet a valid header value
    with emulate("--env", "--token", token) as (proc, first):
        assert proc.stdout is not None
        lines = [first, *read_lines(proc, 7)]
        env_file = tmp_path / "emulator.env"
        env_file.write_text("".join(lines), encoding="utf-8")
        # What the README does: source the file, then post an event with curl's variables.
        shown = subprocess.run(
            ["bash", "-c", f". {env_file} && env"],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": os.environ["PATH"]},
        ).stdout
        exports = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        posted = httpx.post(
            exports["AUTOPLAY_WEBHOOK_URL"],
            json={"event": "$pageview", "distinct_id": "u1", "properties": {"$session_id": "s"}},
            headers={"X-PostHog-Secret": exports["AUTOPLAY_WEBHOOK_SECRET"]},
        )
    assert posted.status_code == 202, posted.text
    assert exports["AUTOPLAY_TOKEN"] == token
    assert exports["AUTOPLAY_PRODUCT_ID"] == "demo"
    assert exports["AUTOPLAY_CONNECTOR_URL"].startswith("http://127.0.0.1:")
    assert exports["UNKEY_SERVER_URL"] == exports["AUTOPLAY_CONNECTOR_URL"]
    assert exports["AUTOPLAY_WEBHOOK_URL"] == exports["AUTOPLAY_CONNECTOR_URL"] + "/webhook/demo"
    assert {"UNKEY_ROOT_KEY", "UNKEY_API_ID"} <= exports.keys()


def test_human_form_names_url_product_and_key() -> None:
    with emulate(
        "--token", "uk_visible_key", "--scenario", str(EXAMPLES / "scenario-checkout.toml")
    ) as (proc, first):
        assert proc.stdout is not None
        text = first + "".join(proc.stdout.readline() for _ in range(6))
    assert "FAKE connector" in text and "uk_visible_key" in text and "/stream/demo" in text
    assert "/webhook/demo  (X-PostHog-Secret whsec_local_" in text
    assert "scenario-checkout.toml" in text and "5 events/s" in text


def test_human_form_of_an_unpaced_stream() -> None:
    with emulate("--rate", "0") as (proc, first):
        assert proc.stdout is not None
        text = first + "".join(proc.stdout.readline() for _ in range(6))
    assert "as fast as read" in text and "0 events/s" not in text


@pytest.mark.parametrize("name", ["scenario-checkout.toml", "scenario-stuck.json"])
def test_example_scenarios_stream_their_sessions(name: str) -> None:
    with emulate("--json", "--rate", "0", "--scenario", str(EXAMPLES / name)) as (_, first):
        info = json.loads(first)
        events = stream_events(info["stream_url"], info["token"], 2)
    first_session = {
        "scenario-checkout.toml": None,  # the anonymous visitor comes first
        "scenario-stuck.json": "sess_team_invite_stuck",
    }[name]
    assert json.loads(events[0][2])["session_id"] == first_session


runner = CliRunner()
NO_BIND = ["--host", "192.0.2.1"]  # a documentation address: binding it fails at once


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--json", "--env"], 2, "--json and --env cannot be combined"),
        (["--rate", "-1"], 2, "--rate must be ≥ 0"),
        (["--drop-every", "0"], 2, "--drop-every must be a positive number"),
        (["--rate", "nan"], 2, "--rate must be a finite number"),
        (["--latency-ms", "inf"], 2, "--latency-ms must be a finite number"),
        (["--webhook-secret", "short"], 2, "--webhook-secret must be at least 16 characters"),
        (["--product-id", "has space"], 2, "--product-id must be"),
        # Checked before binding; the unbindable --host only keeps a regression from
        # serving forever (it would fail with the bind error instead).
        (["--token", "a b", *NO_BIND], 2, "the stream key contains spaces, line breaks or"),
        (["--token", "uk_caf\u00e9", *NO_BIND], 2, "check --token"),
        (["--webhook-secret", "whsec with a space", *NO_BIND], 2, "check --webhook-secret"),
        (["--admin-key", "adm\nin", *NO_BIND], 2, "check --admin-key"),
        (["--scenario", "nope"], 8, "scenario 'nope' is neither a built-in name nor a file"),
    ],
)
def test_bad_options_are_one_error_line(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["emulate", *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.stderr


def test_bad_scenario_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sessions]]\n[[sessions.batches]]\nactions = [{ type = "click" }]\n')
    result = runner.invoke(app, ["emulate", "--scenario", str(bad)])
    assert result.exit_code == 8
    assert (
        "bad.toml:3: sessions[0].batches[0].actions[0]: missing 'raw_url' (the page's URL)"
        in result.stderr
    )
    bad.write_text("sessions = [")
    result = runner.invoke(app, ["emulate", "--scenario", str(bad)])
    assert result.exit_code == 8 and "bad.toml: not valid TOML" in result.stderr


def test_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["emulate", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "pick another --port" in result.stderr


def test_an_address_not_on_this_machine_names_host_not_port() -> None:
    # 192.0.2.1 is a documentation address: binding fails at once, nothing is sent.
    result = runner.invoke(app, ["emulate", "--host", "192.0.2.1"])
    assert result.exit_code == 2
    assert "cannot listen on 192.0.2.1:0" in result.stderr
    assert "pick an address of this machine for --host" in result.stderr
    assert "Warning" not in result.stderr  # nothing was bound, so nothing is reachable


def test_a_host_name_that_does_not_resolve_fails_without_a_warning() -> None:
    result = runner.invoke(app, ["emulate", "--host", "nosuchhost.invalid"])
    assert result.exit_code == 2
    assert "cannot listen on nosuchhost.invalid:0" in result.stderr
    assert "reachable from other machines" not in result.stderr


def _stderr_until_serving(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    seen = ""
    while "Serving" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    return seen


def test_binding_every_interface_warns_and_localhost_does_not() -> None:
    with emulate("--host", "0.0.0.0") as (proc, first):
        err = _stderr_until_serving(proc)
    assert "FAKE connector" in first
    assert "Warning: bound to 0.0.0.0: the fake connector and its keys are reachable" in err
    with emulate("--host", "localhost") as (proc, first):
        err = _stderr_until_serving(proc)
    assert "http://127.0.0.1:" in first and "Warning" not in err


def test_help_names_every_value_and_gives_examples() -> None:
    result = runner.invoke(app, ["emulate", "--help"])
    assert result.exit_code == 0
    assert not re.search(r"<(str|int|float)>", result.stdout), result.stdout
    for shown in (
        "--port PORT",
        "--rate EVENTS_PER_S",
        "--scenario NAME|FILE",
        "--heartbeat SECONDS",
    ):
        assert shown in result.stdout
    assert "mixed (default), hesitant, stuck, confident, anonymous" in " ".join(
        result.stdout.split()
    )
    block = result.stdout.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert 2 <= len(block) <= 3 and all(
        line.strip().startswith("autoplay emulate") for line in block
    )
