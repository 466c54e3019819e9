"""Golden timelines: each example scenario's exact output, text and JSON.

Regenerate after an intended change with
``AUTOPLAY_UPDATE_GOLDEN=1 pytest tests/simulate/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("AUTOPLAY_UPDATE_GOLDEN") == "1"

CASES = {
    "demo": ["examples/simulate/demo.ndjson"],
    "combined": ["examples/simulate/combined.ndjson"],
    "recording-criteria": [
        "examples/simulate/recording.ndjson",
        "--config",
        "examples/simulate/criteria.json",
    ],
}


def test_every_example_scenario_has_a_golden_case() -> None:
    scenarios = {
        f"examples/simulate/{p.name}" for p in (ROOT / "examples" / "simulate").glob("*.ndjson")
    }
    covered = {arg for args in CASES.values() for arg in args if arg.endswith(".ndjson")}
    assert scenarios == covered


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fmt", ["txt", "ndjson"])
def test_golden_output(name: str, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in the output are as given: relative to the repo
    args = ["--no-color", "simulate", *CASES[name], *(["--json"] if fmt == "ndjson" else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"{name}.{fmt}"
    if UPDATE:
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if the change is intended, regenerate with "
        "AUTOPLAY_UPDATE_GOLDEN=1 and review the diff"
    )
