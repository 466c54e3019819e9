"""Output helpers: diagnostics are never folded, JSON is one line, colour follows the rules."""

from __future__ import annotations

import io
import json

import pytest

from autoplay_cli.cli import output


def test_a_long_warning_stays_on_one_line_when_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = io.StringIO()
    monkeypatch.setattr("sys.stderr", fake)
    message = " ".join(["the stream went quiet"] * 12)
    output.warn(message)
    lines = fake.getvalue().splitlines()
    assert len(lines) == 1 and lines[0] == f"Warning: {message}"


def test_emit_json_writes_exactly_one_compact_line(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.StringIO()
    monkeypatch.setattr("sys.stdout", fake)
    output.emit_json({"text": "two\nlines", "n": 1, "ü": "é"})
    assert fake.getvalue().count("\n") == 1
    assert json.loads(fake.getvalue()) == {"text": "two\nlines", "n": 1, "ü": "é"}


def test_colour_is_off_for_no_color_and_for_pipes(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert output.color_enabled(Tty()) is True
    assert output.color_enabled(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert output.color_enabled(Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    assert output.Output(no_color=True).color_enabled(Tty()) is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert output.color_enabled(io.StringIO()) is True
    assert output.Output(no_color=True).color_enabled(Tty()) is False


def test_a_cli_run_leaves_no_process_wide_state() -> None:
    import logging

    from typer.testing import CliRunner

    from autoplay_cli.cli.app import app

    runner = CliRunner()
    logger = logging.getLogger("autoplay_cli")
    before = (logger.level, list(logger.handlers), logger.propagate)
    coloured = {"FORCE_COLOR": "1", "COLUMNS": "200"}
    result = runner.invoke(app, ["--debug", "--no-color", "config", "show"], env=coloured)
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" not in result.stdout  # --no-color was in force during the run ...
    assert (logger.level, list(logger.handlers), logger.propagate) == before
    assert output.current().debug is False and output.current().no_color is False
    # ... and the next run, without it, is not affected.
    result = runner.invoke(app, ["config", "show"], env=coloured)
    assert result.exit_code == 0 and "\x1b[" in result.stdout
