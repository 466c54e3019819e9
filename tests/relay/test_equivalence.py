"""One decision path: `relay --replay REC --to -` makes exactly the offers `simulate REC` shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.emulator.traffic import generate_sessions, interleave
from autoplay_cli.simulate.runner import RunOptions, run
from autoplay_cli.wire import ActionsPayload

from .conftest import EXAMPLES, relay_file, write_recording

SIM = EXAMPLES / "simulate"
CASES = {
    "demo": (SIM / "demo.ndjson", None),
    "combined": (SIM / "combined.ndjson", None),
    "recording": (SIM / "recording.ndjson", SIM / "triggers.toml"),
    "recording-criteria": (SIM / "recording.ndjson", SIM / "criteria.json"),
    "recording-defaults": (SIM / "recording.ndjson", None),
    "checkout": (EXAMPLES / "scenario-checkout.toml", SIM / "triggers.toml"),
    "stuck": (EXAMPLES / "scenario-stuck.json", None),
}


def simulated_offers(path: Path, config: Path | None) -> list[tuple[Any, ...]]:
    report = run(RunOptions(files=[path], config=config))
    return [
        (
            s.session_id,
            s.trigger,
            round(s.time, 6),
            s.offer.body,
            [c.to_dict() for c in s.offer.chips],
        )
        for s in report.steps
        if s.decision == "offer" and s.offer is not None
    ]


def relayed_offers(deliveries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (d["session_id"], d["trigger_id"], round(d["created_at"], 6), d["body"], d["chips"])
        for d in deliveries
        if d["type"] == "proactive_offer"
    ]


@pytest.mark.parametrize("name", CASES)
def test_bundled_examples_make_the_same_offers(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path, config = CASES[name]
    expected = simulated_offers(path, config)
    deliveries, _ = relay_file(path, monkeypatch, config=config)
    assert relayed_offers(deliveries) == expected
    if name in ("demo", "combined", "recording"):
        assert expected, "the example should make at least one offer"


def test_every_bundled_example_is_covered() -> None:
    examples = {p for p in SIM.glob("*.ndjson")} | set(EXAMPLES.glob("scenario-*"))
    assert examples == {path for path, _ in CASES.values()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_sessions_make_the_same_offers(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = generate_sessions(60, seed=seed)
    payloads = [(p.forwarded_at, p) for p in interleave(sessions)]
    recording = write_recording(tmp_path / f"gen-{seed}.ndjson", payloads)
    config = SIM / "triggers.toml"
    expected = simulated_offers(recording, config)
    deliveries, summary = relay_file(recording, monkeypatch, config=config)
    assert expected and relayed_offers(deliveries) == expected
    assert summary.relay is not None
    assert sum(summary.relay.counters.events.values()) == len(payloads)


URLS = st.sampled_from(["/a", "/b", "/c", "/settings", "/billing"])
BATCH = st.tuples(
    st.sampled_from(["s1", "s2", "s3"]),
    st.floats(min_value=0.5, max_value=90, allow_nan=False),  # gap before this batch
    st.lists(URLS, min_size=1, max_size=4),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(BATCH, min_size=1, max_size=25))
def test_random_timelines_make_the_same_offers(
    batches: list[tuple[str, float, list[str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = 1_767_225_600.0
    payloads = []
    index: dict[str, int] = {}
    for sid, gap, urls in batches:
        t += gap
        actions = []
        for k, url in enumerate(urls):
            at = t - (len(urls) - 1 - k)
            actions.append(
                {
                    "index": index.get(sid, 0) + k,
                    "type": "pageview",
                    "canonical_url": url,
                    "raw_url": url,
                    "timestamp_start": at,
                    "timestamp_end": at,
                }
            )
        index[sid] = index.get(sid, 0) + len(urls)
        payloads.append((t, ActionsPayload(session_id=sid, actions=actions, forwarded_at=t)))  # type: ignore[arg-type]
    recording = write_recording(tmp_path / "random.ndjson", payloads)
    expected = simulated_offers(recording, None)
    deliveries, _ = relay_file(recording, monkeypatch)
    assert relayed_offers(deliveries) == expected


def test_the_commands_agree_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SIM)
    runner = CliRunner()
    sim = runner.invoke(app, ["simulate", "recording.ndjson", "-c", "triggers.toml", "--json"])
    rel = runner.invoke(
        app, ["relay", "--replay", "recording.ndjson", "-c", "triggers.toml", "--to", "-"]
    )
    assert sim.exit_code == 0 and rel.exit_code == 0, rel.output
    steps = [json.loads(x) for x in sim.stdout.splitlines()]
    offers = [
        (s["session"], s["trigger"], s["offer"]["body"])
        for s in steps
        if s.get("type") == "step" and s["decision"] == "offer"
    ]
    deliveries = [json.loads(x) for x in rel.stdout.splitlines()]
    assert offers and offers == [
        (d["session_id"], d["trigger_id"], d["body"])
        for d in deliveries
        if d["type"] == "proactive_offer"
    ]
    assert "relay:" in rel.stderr and "relay:" not in rel.stdout
