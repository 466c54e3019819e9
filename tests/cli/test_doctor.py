"""``autoplay doctor``: one line per check, fixes for failures, --json, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_FAILURE, EXIT_USAGE

runner = CliRunner()


def test_healthy_emulator_exits_0_with_a_tick_per_check(emulator: Any, redis_url: str) -> None:
    env = {**emulator.env(), "AUTOPLAY_REDIS_URL": redis_url}
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        "✓ configuration resolved",
        "✓ connector reachable",
        "✓ stream key accepted",
        "✓ stream key valid in Unkey",
        "✓ Redis reachable",
    ]
    assert "All 5 checks passed" in result.stderr
    assert emulator.token not in result.stdout + result.stderr
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_wrong_key_fails_with_fixes_and_one_error_line(emulator: Any) -> None:
    wrong = "uk_local_wrong-key-0123456789"
    result = runner.invoke(app, ["doctor", "--token", wrong], env=emulator.env())
    assert result.exit_code == EXIT_FAILURE
    assert "✗ stream key accepted" in result.stdout and "✗ stream key valid in Unkey" in (
        result.stdout
    )
    assert result.stdout.count("    fix: ") >= 2
    assert "- Redis reachable" in result.stdout and "(skipped)" in result.stdout
    assert result.stderr.strip() == (
        "Error: 2 of 5 checks failed (stream, unkey) — apply the fixes shown and run "
        "`autoplay doctor` again"
    )
    assert wrong not in result.stdout + result.stderr


def test_closed_port_json(closed_port: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoplay_cli",
            "doctor",
            "--json",
            "--connector-url",
            closed_port,
            "--product-id",
            "acme",
            "--token",
            "uk_live_token-0123456789",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == EXIT_FAILURE
    (line,) = proc.stdout.splitlines()
    data = json.loads(line)
    assert data["ok"] is False
    assert [(c["id"], c["status"]) for c in data["checks"]] == [
        ("config", "pass"),
        ("connector", "fail"),
        ("stream", "skip"),
        ("unkey", "skip"),
        ("redis", "skip"),
    ]
    assert data["checks"][1]["fix"]
    assert proc.stderr.startswith("Error: 1 of 5 checks failed (connector)")
    assert "uk_live_token-0123456789" not in proc.stdout + proc.stderr


def test_nothing_configured_points_at_each_setting() -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == EXIT_FAILURE
    assert "✗ configuration resolved: missing connector_url, product_id, token" in result.stdout
    assert "fix: pass --connector-url" in result.stdout


def test_timeout_must_be_positive() -> None:
    result = runner.invoke(app, ["doctor", "--timeout", "0"])
    assert result.exit_code == EXIT_USAGE


@pytest.fixture
def closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _doctor_proc(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "doctor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_timeout_bounds_each_check_against_a_trickling_connector(raw_http_server: Any) -> None:
    url = raw_http_server("trickle")
    proc = _doctor_proc(
        "--connector-url",
        url,
        "--product-id",
        "acme",
        "--token",
        "uk_123456789012",
        "--timeout",
        "1",
        "--json",
    )
    out, err = proc.communicate(timeout=60)  # before the fix: never returned
    assert proc.returncode == EXIT_FAILURE, err
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["connector"]["status"] == "fail"
    assert "timed out" in checks["connector"]["detail"]


def test_a_url_without_a_connector_is_not_reachable_as_one(raw_http_server: Any) -> None:
    url = raw_http_server(404)
    result = runner.invoke(
        app, ["doctor", "--connector-url", url, "--product-id", "a", "--token", "uk_1234567890"]
    )
    assert result.exit_code == EXIT_FAILURE
    line = next(ln for ln in result.stdout.splitlines() if "connector reachable" in ln)
    assert line.startswith("✗") and "HTTP 404" in line and "no connector there" in line


def test_a_closed_pipe_after_the_first_line_exits_0_quietly(emulator: Any) -> None:
    # `autoplay doctor | head -1`
    proc = _doctor_proc(env=emulator.env())
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert first.startswith("✓ configuration resolved")
    assert err == ""
