"""`autoplay relay` on the command line: live from the emulator, early failures, exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_USAGE

from .conftest import EXAMPLES

runner = CliRunner()
TRIGGERS = EXAMPLES / "simulate" / "triggers.toml"


def relay(emu: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(
        app,
        ["relay", "--connector-url", emu.url, "--product-id", emu.product_id, *args],
        env={"AUTOPLAY_TOKEN": emu.token, **(env or {})},
    )


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_live_stream_to_stdout_with_malformed_frames_counted_and_skipped(
    make_emulator: Any, tmp_path: Path
) -> None:
    emu = make_emulator(rate=0, max_events=120, malformed_every=10, retry_ms=10)
    result = relay(
        emu,
        "--to",
        "-",
        "-c",
        str(TRIGGERS),
        "--count",
        "108",
        "--max-time",
        "30",
        "--listen",
        "off",
    )
    assert result.exit_code == 0, result.stderr
    deliveries = [json.loads(x) for x in result.stdout.splitlines()]
    assert deliveries, "the emulator's personas trigger offers"
    assert {d["type"] for d in deliveries} <= {"proactive_offer", "note"}
    assert all(d["product_id"] == emu.product_id and d["event_ids"] for d in deliveries)
    assert len({d["id"] for d in deliveries}) == len(deliveries)
    assert "108 events" in result.stderr and "12 malformed" in result.stderr
    assert "--count 108 reached" in result.stderr
    assert emu.token not in result.stderr + result.stdout


def test_a_bad_trigger_file_fails_before_connecting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[triggers.nope]\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["relay", "--connector-url", f"http://127.0.0.1:{_dead_port()}", "--product-id", "p",
         "-c", str(bad), "--max-retries", "0"],
        env={"AUTOPLAY_TOKEN": "uk_test_0123456789"},
    )  # fmt: skip
    # Exit 3 (config), not 6 (the dead connector would have been noticed first otherwise).
    assert result.exit_code == EXIT_CONFIG, result.stderr
    assert "bad.toml" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("store", "code", "text"),
    [
        ("mysql://db", EXIT_USAGE, "expected 'memory' or a redis:// URL"),
        ("redis://127.0.0.1:6379/zero", EXIT_CONFIG, "not a number"),
    ],
)
def test_a_bad_store_url_fails_before_connecting(store: str, code: int, text: str) -> None:
    result = runner.invoke(
        app,
        ["relay", "--connector-url", f"http://127.0.0.1:{_dead_port()}", "--product-id", "p",
         "--store", store, "--max-retries", "0"],
        env={"AUTOPLAY_TOKEN": "uk_test_0123456789"},
    )  # fmt: skip
    assert result.exit_code == code, result.stderr
    assert text in result.stderr


def test_an_unreachable_redis_fails_before_the_stream_is_touched(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=5)
    result = relay(emu, "--store", f"redis://:s3cretpass@127.0.0.1:{_dead_port()}/0")
    assert result.exit_code == EXIT_UNAVAILABLE, result.stderr
    assert "redis" in result.stderr and "s3cretpass" not in result.stderr
    assert "connected to" not in result.stderr


def test_missing_connection_settings_name_the_flag() -> None:
    result = runner.invoke(app, ["relay", "--to", "-"])
    assert result.exit_code == EXIT_CONFIG
    assert "--connector-url" in result.stderr


def test_webhook_without_secret_is_a_usage_error(tmp_path: Path) -> None:
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    result = runner.invoke(app, ["relay", "--replay", str(rec), "--to", "http://127.0.0.1:9/x"])
    assert result.exit_code == EXIT_USAGE
    assert "AUTOPLAY_RELAY_SECRET" in result.stderr


def test_dry_run_prints_deliveries_instead_of_posting(tmp_path: Path) -> None:
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    result = runner.invoke(
        app,
        ["relay", "--replay", str(rec), "-c", str(TRIGGERS), "--dry-run",
         "--to", f"http://127.0.0.1:{_dead_port()}/hook"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [json.loads(x)["type"] for x in result.stdout.splitlines()] == [
        "proactive_offer",
        "proactive_offer",
    ]


def test_help_ends_with_examples() -> None:
    result = runner.invoke(app, ["relay", "--help"])
    assert result.exit_code == 0
    assert "autoplay relay --replay recording.ndjson --to -" in result.stdout


def _relay_process(emu: Any, tmp_path: Path, *extra: str) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "AUTOPLAY_TOKEN": emu.token, "AUTOPLAY_DATA_DIR": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "relay", "--connector-url", emu.url,
         "--product-id", emu.product_id, "--listen", "off", "--to", "-", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize(("signum", "code"), [("SIGINT", 130), ("SIGTERM", 0)])
def test_a_signal_drains_and_exits_130_or_0(
    signum: str, code: int, make_emulator: Any, tmp_path: Path
) -> None:
    import signal

    emu = make_emulator(rate=50, retry_ms=10)
    process = _relay_process(emu, tmp_path, "-c", str(TRIGGERS), "--json")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # a delivery: the relay is running
        assert json.loads(first)["type"] in ("proactive_offer", "note")
        process.send_signal(getattr(signal, signum))
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, err
    logs = [json.loads(line) for line in err.splitlines()]  # --json: NDJSON on stderr
    assert any(f"{signum} received" in r["message"] for r in logs)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in logs)
    assert emu.token not in err
    for line in out.splitlines():
        json.loads(line)  # every delivery line is whole: nothing cut by the stop


def test_status_line_reports_rates_sessions_offers_and_deliveries() -> None:
    import asyncio

    from autoplay_cli.cli.relay_render import Status
    from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay

    summary = RelaySummary()
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    options = RelayOptions(replay=rec, config=TRIGGERS)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        asyncio.run(run_relay(options, summary, install_signals=False))
    status = Status(tty=False)
    status.line(summary, 100.0)  # the first reading sets the baseline
    line = status.line(summary, 101.0)
    assert line.startswith("relay: 0 events/s · 2 sessions · offers 2 made, 1 blocked")
    assert "deliveries 2 ok, 0 retrying, 0 dead" in line


def test_the_collector_is_tuned_for_the_run_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import autoplay_cli.relay

    def state() -> tuple[object, ...]:
        return gc.get_threshold(), gc.get_freeze_count() > 0

    during: list[tuple[object, ...]] = []
    real = autoplay_cli.relay.run_relay

    def spying(*args: Any, **kwargs: Any) -> Any:
        during.append(state())
        return real(*args, **kwargs)

    monkeypatch.setattr(autoplay_cli.relay, "run_relay", spying)
    before = state()
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    result = runner.invoke(app, ["relay", "--replay", str(rec), "--to", "-"])
    assert result.exit_code == 0, result.output
    assert state() == before
    assert during and during[0][0] != before[0] and during[0][1] is True
