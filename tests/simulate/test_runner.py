"""From command-line choices to a report: config precedence, inputs, the bundled demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoplay_cli.errors import UsageError
from autoplay_cli.simulate.runner import RunOptions, demo_files, resolve_config, run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "simulate"


def test_config_precedence() -> None:
    from_scenario = resolve_config(RunOptions(), str(EXAMPLES / "triggers.toml"))
    assert from_scenario.source.endswith("triggers.toml")
    flag = resolve_config(
        RunOptions(config=EXAMPLES / "criteria.json"), str(EXAMPLES / "triggers.toml")
    )
    assert [t.id for t in flag.active()] == ["lost_user"]
    assert resolve_config(RunOptions(), None).source == "<defaults>"
    overridden = resolve_config(
        RunOptions(
            cooldown_period_s=0,
            toggles=["user_page_dwell=off"],
            sets=["canonical_url_ping_pong.min_cycles=3"],
        ),
        None,
    )
    (ping,) = overridden.active()
    assert ping.cooldown_period_s == 0 and ping.evaluator.min_cycles == 3  # type: ignore[attr-defined]


def test_demo_plus_generated_sessions() -> None:
    report = run(RunOptions(demo=True, generate=3, seed=2))
    assert len(report.sessions) == 6
    assert report.names[0] == "demo" and report.names[-1] == "generated: 3 sessions, seed 2"
    scenario, config = demo_files()
    assert scenario.exists() and config.exists()


def test_bundled_demo_is_a_copy_of_the_examples() -> None:
    # `--demo` and the README's `examples/simulate/demo.ndjson` must show the same timeline.
    scenario, config = demo_files()
    assert scenario.read_bytes() == (EXAMPLES / "demo.ndjson").read_bytes()
    assert config.read_bytes() == (EXAMPLES / "triggers.toml").read_bytes()


def test_keep_steps_false_keeps_the_summary() -> None:
    full = run(RunOptions(files=[EXAMPLES / "demo.ndjson"]))
    lean = run(RunOptions(files=[EXAMPLES / "demo.ndjson"], keep_steps=False))
    assert lean.steps == [] and lean.overall() == full.overall()


def test_negative_cooldown_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="`cooldown_period_s` must be ≥ 0") as caught:
        resolve_config(RunOptions(cooldown_period_s=-1), None)
    assert caught.value.setting == "cooldown_period_s"
