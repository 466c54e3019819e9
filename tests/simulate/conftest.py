"""Helpers for the simulation tests: write a scenario, run it, look at its steps."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from autoplay_cli.simulate import Report, load_inputs, simulate
from autoplay_cli.triggers import TriggerConfig

Run = Callable[..., Report]


@pytest.fixture
def run_lines(tmp_path: Path) -> Run:
    """Write *lines* (dicts or raw strings) as a scenario and simulate it."""

    def run(
        *lines: dict[str, object] | str,
        config: TriggerConfig | None = None,
        pulse_s: float = 1.0,
        store_url: str | None = None,
    ) -> Report:
        path = tmp_path / "scenario.ndjson"
        path.write_text(
            "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines), encoding="utf-8"
        )
        return simulate(
            load_inputs([path]), config or TriggerConfig(), pulse_s=pulse_s, store_url=store_url
        )

    return run


def rows(report: Report) -> list[tuple[float, str | None, str, str, str | None]]:
    """(offset, session, event, decision, state after) per step."""
    return [
        (round(s.time - report.start, 3), s.session_id, s.event, s.decision, s.state)
        for s in report.steps
    ]


def bounce(at: float, session: str = "s", *urls: str) -> dict[str, object]:
    """An actions step whose URLs ping-pong (default /a → /b → /a)."""
    urls = urls or ("/a", "/b", "/a")
    return {
        "at": at,
        "session": session,
        "event": "actions",
        "actions": [{"type": "pageview", "url": u} for u in urls],
    }
