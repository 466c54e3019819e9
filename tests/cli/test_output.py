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
    monkeypatch.setattr(output.OPTIONS, "no_color", True)
    assert output.color_enabled(Tty()) is False
