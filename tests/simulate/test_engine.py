"""The engine: the FSM gate on offers, timeouts on the pulse, chat events, rejections, stores."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoplay_cli.emulator.traffic import generate_sessions
from autoplay_cli.errors import InputError
from autoplay_cli.session import MemorySessionStore
from autoplay_cli.simulate import VirtualClock, load_inputs, simulate, simulate_async
from autoplay_cli.simulate.inputs import DEFAULT_START, SimEvent, SimulationInput
from autoplay_cli.triggers import TriggerConfig, config_from_dict, load_trigger_config
from autoplay_cli.wire import ActionsPayload

from .conftest import Run, bounce, rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "simulate"
T, P, R = "thinking", "proactive_assistance", "reactive_assistance"


def test_offer_block_timeout_cooldown_and_offer_again(run_lines: Run) -> None:
    report = run_lines(bounce(0), bounce(5), bounce(30), bounce(81), bounce(90))
    assert rows(report) == [
        (0, "s", "actions", "offer", P),
        (5, "s", "actions", "blocked", P),
        # The first pulse strictly more than 20 s after the offer (the SDK's `>`).
        (21, "s", "timeout", "timeout", T),
        (30, "s", "actions", "blocked", T),
        (81, "s", "actions", "offer", P),  # the 60 s cooldown ended at 81
        (90, "s", "actions", "blocked", P),  # a blocked offer is not an interaction...
        (102, "s", "timeout", "timeout", T),  # ...so the timeout still counts from 81
    ]
    blocked_by_state, _, by_cooldown = report.steps[1], report.steps[2], report.steps[3]
    assert blocked_by_state.reason == "v2_state_proactive_assistance"
    assert by_cooldown.reason == "v2_cooldown_active"
    assert by_cooldown.cooldown_remaining_s == 51.0
    offer = report.steps[0].offer
    assert offer is not None and offer.body == "Need my expert help?"
    assert report.steps[0].snapshot["last_trigger_id"] == "canonical_url_ping_pong"
    summary = report.sessions["s"]
    assert (summary.offers, dict(summary.blocked)) == (
        2,
        {"v2_state_proactive_assistance": 2, "v2_cooldown_active": 1},
    )
    assert summary.time_in == {T: 60.0, P: 42.0, R: 0.0}


def test_rejected_transitions_are_recorded_and_the_run_goes_on(run_lines: Run) -> None:
    report = run_lines(
        bounce(0),
        {"at": 2, "session": "s", "event": "open_chat"},
        {"at": 25, "session": "s", "event": "tour_start", "tour": "t"},
        {"at": 26, "session": "s", "event": "open_chat"},
    )
    assert rows(report) == [
        (0, "s", "actions", "offer", P),
        (2, "s", "open_chat", "rejected", P),
        (21, "s", "timeout", "timeout", T),
        (25, "s", "tour_start", "rejected", T),
        (26, "s", "open_chat", "applied", R),  # never blocked by cooldown, clears it
        (47, "s", "timeout", "timeout", T),  # the run drains: open sessions time out
    ]
    assert "cannot go from proactive_assistance to reactive_assistance" in report.steps[1].reason
    assert "visual guidance can only change" in report.steps[3].reason
    assert report.steps[4].snapshot["cooldown_until"] is None
    assert report.sessions["s"].rejected == 2 and report.sessions["s"].went_reactive


def test_reactive_blocks_offers_and_interactions_keep_it_open(run_lines: Run) -> None:
    report = run_lines(
        {"at": 0, "session": "s", "event": "open_chat"},
        {"at": 15, "session": "s", "event": "message", "text": "hi"},
        {"at": 30, "session": "s", "event": "reaction", "emoji": "+1"},
        bounce(40),
        {"at": 45, "session": "s", "event": "tick"},
    )
    assert rows(report) == [
        (0, "s", "open_chat", "applied", R),
        (15, "s", "message", "applied", R),
        (30, "s", "reaction", "applied", R),
        (40, "s", "actions", "blocked", R),
        (45, "s", "tick", "no-op", R),
        (51, "s", "timeout", "timeout", T),
    ]
    assert report.steps[3].reason == "v2_state_reactive_assistance"


def test_pulse_spacing_and_exact_deadlines(run_lines: Run) -> None:
    lines = (bounce(0.5), {"at": 3.2, "session": "s", "event": "option_click", "chip": "x"})
    exact = run_lines(*lines, pulse_s=0)
    assert rows(exact)[-1] == (23.2, "s", "timeout", "timeout", T)
    coarse = run_lines(*lines, pulse_s=5)
    assert rows(coarse)[-1] == (25, "s", "timeout", "timeout", T)


def test_trigger_timings_and_tour_overrides() -> None:
    config = config_from_dict(
        {
            "interaction_timeout_s": 20,
            "tours": [
                {
                    "id": "t",
                    "provider_flow_id": "flow_t",
                    "interaction_timeout_s": 60,
                    "cooldown_period_s": 5,
                }
            ],
            "triggers": {
                "canonical_url_ping_pong": {"interaction_timeout_s": 10, "cooldown_period_s": 30}
            },
        }
    )
    inputs = _inputs(
        SimEvent(0, "a", "actions", "t:1", _batch("a", "/a", "/b", "/a")),
        SimEvent(0, "b", "actions", "t:2", _batch("b", "/a", "/b", "/a")),
        SimEvent(1, "b", "tour_start", "t:3", args={"tour": "flow_t"}),
        SimEvent(50, "b", "tour_step", "t:4", args={"step": 1}),
    )
    report = simulate(inputs, config)
    timeouts = [
        (s.session_id, s.time - DEFAULT_START, s.reason)
        for s in report.steps
        if s.event == "timeout"
    ]
    assert timeouts == [
        ("a", 11, "no interaction for 10 s; cooldown 30 s starts"),
        ("b", 111, "no interaction for 60 s; cooldown 5 s starts"),
    ]


def test_conversation_linking_new_inferred_reply_and_kept(run_lines: Run) -> None:
    report = run_lines(
        {"at": 0, "session": "a", "event": "link", "conversation": "c1"},
        {"at": 1, "session": "b", "event": "link", "conversation": "c1"},
        {"at": 2, "session": "a", "event": "link", "conversation": "c2", "link": "reply"},
        {"at": 3, "session": "a", "event": "link", "conversation": "c3", "link": "new"},
    )
    assert [s.detail for s in report.steps] == [
        "c1 (NEW)",
        "c1 (REPLY_EXISTING)",
        "c2 (REPLY_EXISTING, kept c1)",
        "c3 (NEW)",
    ]
    assert report.steps[-1].snapshot["conversation_id"] == "c3"


def test_anonymous_batches_and_summaries_are_counted_not_simulated() -> None:
    inputs = load_inputs([EXAMPLES / "recording.ndjson"])
    anon = _batch(None, "/a")
    inputs.events.insert(0, SimEvent(inputs.start, None, "actions", "x:1", anon))
    report = simulate(inputs, TriggerConfig())
    assert report.steps[0].decision == "skipped"
    overall = report.overall()
    assert (overall["skipped_anonymous_batches"], overall["summaries_ignored"]) == (1, 2)


def _batch(session: str | None, *urls: str) -> ActionsPayload:
    from autoplay_cli.wire import SlimAction

    return ActionsPayload(session_id=session, actions=[SlimAction(canonical_url=u) for u in urls])


def _inputs(*events: SimEvent) -> SimulationInput:
    for e in events:
        e.time += DEFAULT_START
    return SimulationInput(list(events), DEFAULT_START, ["test"])


def _everything(report: object) -> list[object]:
    return [s.to_json(report.start) for s in report.steps] + [report.summary_json()]  # type: ignore[attr-defined]


def _example_inputs() -> list[tuple[SimulationInput, TriggerConfig]]:
    demo = load_inputs([EXAMPLES / "demo.ndjson"])
    combined = load_inputs([EXAMPLES / "combined.ndjson"])
    generated = load_inputs([], generate_sessions(12, seed=3))
    return [
        (demo, load_trigger_config(demo.config)),  # type: ignore[arg-type]
        (combined, load_trigger_config(combined.config)),  # type: ignore[arg-type]
        (generated, TriggerConfig()),
    ]


def test_same_input_same_output() -> None:
    for inputs, config in _example_inputs():
        assert _everything(simulate(inputs, config)) == _everything(simulate(inputs, config))


def test_live_memory_and_redis_stores_give_identical_results(redis_url: str) -> None:
    for inputs, config in _example_inputs():
        live = _everything(simulate(inputs, config))
        clock = VirtualClock(inputs.start)
        store = MemorySessionStore(
            clock=clock,
            interaction_timeout_s=config.interaction_timeout_s,
            cooldown_period_s=config.cooldown_period_s,
        )
        memory = _everything(asyncio.run(simulate_async(inputs, config, store=store)))
        redis = _everything(simulate(inputs, config, store_url=redis_url))
        assert live == memory == redis
        # a second Redis run starts fresh: stale keys from the first do not leak in
        assert _everything(simulate(inputs, config, store_url=redis_url)) == redis


KINDS = [
    "actions",
    "open_chat",
    "message",
    "option_click",
    "reaction",
    "tour_start",
    "tour_step",
    "tour_end",
    "link",
    "tick",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(0, 40),
            st.sampled_from(["a", "b"]),
            st.sampled_from(KINDS),
            st.sampled_from(["/a", "/b", ""]),
        ),
        max_size=25,
    )
)
def test_random_timelines_keep_the_fsm_rules(items: list[tuple[float, str, str, str]]) -> None:
    events, t = [], 0.0
    for gap, sid, kind, url in items:
        t += gap
        args = {"conversation": f"c_{sid}"} if kind == "link" else {}
        payload = _batch(sid, url, "/b", url) if kind == "actions" else None
        events.append(SimEvent(t, sid, kind, "h", payload, args))
    report = simulate(_inputs(*events), TriggerConfig())
    for step in report.steps:
        assert {step.state_before, step.state} != {P, R}, step  # never directly
        if step.decision == "timeout":
            assert step.state == T and step.snapshot["cooldown_until"] is not None
            assert not step.snapshot["visual_guidance_active"]
        if step.decision == "offer":
            assert step.state_before == T and step.state == P
        if step.decision in ("blocked", "rejected", "no-op"):
            assert step.state_before == step.state
    # every session is back to thinking once the run has drained
    assert all(s.state == T for s in report.sessions.values())


def test_fractional_pulses_terminate_and_land_on_or_after_the_deadline(run_lines: Run) -> None:
    for pulse in (0.1, 0.3, 0.7, 1e-3):
        report = run_lines(
            bounce(0.35), {"at": 1.15, "session": "s", "event": "reaction"}, pulse_s=pulse
        )
        timeout = report.steps[-1]
        assert timeout.decision == "timeout"
        assert 21.15 - 1e-6 <= timeout.time - report.start < 21.15 + pulse + 1e-6


def test_exact_deadlines_terminate_where_a_microsecond_does_not_count(run_lines: Run) -> None:
    # Near the year 9999 a float's step is ~3e-5 s: the open chat's deadline, rounded, falls
    # a hair short of the timeout, and "now + 1 µs" is still "now". The pulse must move on.
    header = {"scenario": "far", "start": 253402300000}
    config = TriggerConfig(interaction_timeout_s=20.3)
    report = run_lines(
        header, {"at": 0.1, "session": "s", "event": "open_chat"}, config=config, pulse_s=0
    )
    assert [s.decision for s in report.steps] == ["applied", "timeout"]
    assert report.steps[-1].time - report.steps[0].time >= 20.3 - 1e-4


@pytest.mark.parametrize("pulse", [-1.0, 1e-300, 1e-4, 1e300, math.inf, math.nan])
def test_pulse_outside_its_range_is_refused(run_lines: Run, pulse: float) -> None:
    with pytest.raises(InputError, match=r"pulse must be 0 or 0\.001–86400 seconds"):
        run_lines({"at": 1, "session": "s", "event": "tick"}, pulse_s=pulse)
