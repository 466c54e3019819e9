"""Helpers for the relay tests: run the relay on a file, read its deliveries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.recording import envelope
from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Dead letters (and any other user data) under a temp dir."""
    folder = tmp_path / "data"
    monkeypatch.setenv("AUTOPLAY_DATA_DIR", str(folder))
    return folder


class Captured:
    """A stdout stand-in the relay's stdout destination writes deliveries to."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.extend(x for x in text.splitlines() if x)
        return len(text)

    def flush(self) -> None:
        pass

    def deliveries(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.lines]


def relay_file(
    path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[list[dict[str, Any]], RelaySummary]:
    """Replay *path* through the relay to ``--to -``; its deliveries and summary."""
    captured = Captured()
    monkeypatch.setattr("sys.stdout", captured)
    summary = RelaySummary()
    asyncio.run(run_relay(RelayOptions(replay=path, **options), summary, install_signals=False))
    monkeypatch.undo()
    return captured.deliveries(), summary


def write_recording(path: Path, payloads: list[tuple[float, Any]], first_id: int = 1) -> Path:
    """An NDJSON recording of *payloads* (received_at, model), ids counting from *first_id*."""
    with path.open("w", encoding="utf-8") as fh:
        for n, (t, payload) in enumerate(payloads, start=first_id):
            fh.write(json.dumps(envelope(str(n), payload, t)) + "\n")
    return path


RelayFile = Callable[..., tuple[list[dict[str, Any]], RelaySummary]]
