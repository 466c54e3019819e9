"""The session state machine: every transition, every reason string, tours, snapshots."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import AutoplayError, InputError, SnapshotError
from autoplay_cli.session import (
    AgentState,
    ConversationEventType,
    ConversationLink,
    InvalidTransitionError,
    SessionState,
    TourDefinition,
    TourRegistry,
)

T, P, R = AgentState.THINKING, AgentState.PROACTIVE, AgentState.REACTIVE


@pytest.fixture
def s(clock: Any) -> SessionState:
    return SessionState("sess-1", {"user_id": "u1"}, clock=clock)


def proactive(s: SessionState) -> SessionState:
    assert s.transition_to_proactive("canonical_url_ping_pong") is True
    return s


def reactive(s: SessionState) -> SessionState:
    s.transition_to_reactive()
    return s


# -- construction -------------------------------------------------------------


def test_enum_values_are_the_wire_strings() -> None:
    assert [a.value for a in AgentState] == [
        "thinking",
        "proactive_assistance",
        "reactive_assistance",
    ]
    assert AgentState("proactive_assistance") is P
    assert str(R) == "reactive_assistance"


def test_defaults(s: SessionState, clock: Any) -> None:
    assert s.current_state is T
    assert s.interaction_timeout_s == 20.0
    assert s.cooldown_period_s == 60.0
    assert s.metadata == {"user_id": "u1"}
    assert not s.cooldown_active
    assert not s.visual_guidance_active and s.active_tour_id is None
    assert not s.conversation_linked and s.conversation_id is None
    assert s.state_entered_at == clock.t
    assert s.clock is clock


@pytest.mark.parametrize("bad", ["", "   ", None, 42])
def test_session_id_is_required_and_non_empty(bad: Any) -> None:
    with pytest.raises(InputError, match="session_id must be a non-empty string") as info:
        SessionState(bad)
    assert isinstance(info.value, ValueError)
    assert "get_or_create" in (info.value.hint or "")


def test_session_id_has_no_default() -> None:
    with pytest.raises(TypeError):
        SessionState()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "kw",
    [
        {"interaction_timeout_s": 0},
        {"interaction_timeout_s": -1},
        {"interaction_timeout_s": math.inf},
        {"cooldown_period_s": -0.5},
        {"cooldown_period_s": True},
    ],
)
def test_bad_periods_are_rejected(kw: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        SessionState("s", **kw)


def test_metadata_must_be_a_mapping() -> None:
    with pytest.raises(InputError, match="metadata must be a mapping"):
        SessionState("s", ["user"])  # type: ignore[arg-type]


def test_metadata_is_copied(clock: Any) -> None:
    meta = {"email": "a@example.com"}
    s = SessionState("s", meta, clock=clock)
    meta["email"] = "changed"
    assert s.metadata == {"email": "a@example.com"}


def test_default_clock_is_the_wall_clock_not_monotonic() -> None:
    s = SessionState("s")
    # time.monotonic() is seconds since boot; epoch seconds are > 1.6e9.
    assert s.state_entered_at > 1_600_000_000
    assert abs(s.state_entered_at - time.time()) < 3600


# -- THINKING -> PROACTIVE ------------------------------------------------------


def test_thinking_to_proactive_records_the_trigger(s: SessionState, clock: Any) -> None:
    clock.advance(5)
    assert s.transition_to_proactive("user_page_dwell") is True
    assert s.current_state is P
    assert s.last_trigger_id == "user_page_dwell"
    assert s.state_entered_at == clock.t
    assert s.last_interaction_at == clock.t


def test_proactive_blocked_by_cooldown_returns_false_unchanged(s: SessionState) -> None:
    s.start_cooldown()
    before = s.to_dict()
    assert s.transition_to_proactive("t") is False
    assert s.to_dict() == before


def test_proactive_allowed_again_once_the_cooldown_ends(s: SessionState, clock: Any) -> None:
    s.start_cooldown(10)
    clock.advance(9.999)
    assert s.transition_to_proactive("t") is False
    clock.advance(0.001)
    assert s.transition_to_proactive("t") is True


def test_proactive_while_proactive_raises_invalid_transition(s: SessionState) -> None:
    # As the SDK: only a cooldown makes it return False; being PROACTIVE already raises.
    proactive(s)
    before = s.to_dict()
    with pytest.raises(InvalidTransitionError) as info:
        s.transition_to_proactive("another")
    assert info.value.current is P and info.value.target == "proactive_assistance"
    assert "already" in info.value.message
    assert s.to_dict() == before


def test_proactive_returns_false_only_when_a_cooldown_blocks(s: SessionState) -> None:
    s.start_cooldown(5)
    assert s.transition_to_proactive("t") is False
    for enter in (proactive, reactive):
        other = SessionState("x", clock=s.clock)
        enter(other)
        with pytest.raises(InvalidTransitionError):
            other.transition_to_proactive("t")


def test_invalid_transition_error_is_a_value_error(s: SessionState) -> None:
    proactive(s)
    with pytest.raises(ValueError):  # ported `except ValueError:` still catches it
        s.transition_to_reactive()
    assert issubclass(InvalidTransitionError, ValueError)
    assert issubclass(InvalidTransitionError, AutoplayError)


def test_reactive_to_proactive_directly_is_invalid(s: SessionState) -> None:
    # docs/wire.md §5: PROACTIVE <-> REACTIVE directly never, in either direction.
    reactive(s)
    before = s.to_dict()
    with pytest.raises(InvalidTransitionError) as info:
        s.transition_to_proactive("another")
    assert info.value.current is R and info.value.target == "proactive_assistance"
    assert "reactive_assistance" in str(info.value) and info.value.hint
    assert s.to_dict() == before


# -- THINKING -> REACTIVE -------------------------------------------------------


def test_thinking_to_reactive_is_never_blocked_and_clears_the_cooldown(
    s: SessionState, clock: Any
) -> None:
    s.start_cooldown()
    assert s.cooldown_active
    clock.advance(1)
    s.transition_to_reactive()
    assert s.current_state is R
    assert not s.cooldown_active
    assert s.cooldown_until is None
    assert s.last_interaction_at == clock.t


def test_reactive_while_reactive_raises_invalid_transition(s: SessionState, clock: Any) -> None:
    reactive(s)
    clock.advance(15)
    before = s.to_dict()
    with pytest.raises(InvalidTransitionError) as info:
        s.transition_to_reactive()
    assert info.value.current is R and "record_user_interaction" in (info.value.hint or "")
    assert s.to_dict() == before  # not even an interaction: the timer is not extended


def test_proactive_to_reactive_directly_is_invalid(s: SessionState) -> None:
    proactive(s)
    before = s.to_dict()
    with pytest.raises(InvalidTransitionError) as info:
        s.transition_to_reactive()
    err = info.value
    assert isinstance(err, AutoplayError) and isinstance(err, ValueError)
    assert err.current is P and err.target == "reactive_assistance"
    assert "proactive_assistance" in str(err) and err.hint
    assert s.to_dict() == before


# -- timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("enter", [proactive, reactive])
def test_timeout_returns_to_thinking_with_cooldown_and_no_guidance(
    s: SessionState, clock: Any, enter: Any
) -> None:
    enter(s)
    entered = s.current_state
    s.set_visual_guidance(True, "flow-1")
    clock.advance(19.9)
    assert s.tick() is False and s.current_state is entered
    clock.advance(0.2)
    assert s.tick() is True
    assert s.current_state is T
    assert s.cooldown_active and s.cooldown_remaining_s == 60.0
    assert s.active_cooldown_period_s == 60.0
    assert not s.visual_guidance_active and s.active_tour_id is None
    assert s.state_entered_at == clock.t


def test_tick_in_thinking_does_nothing(s: SessionState, clock: Any) -> None:
    clock.advance(1000)
    before = s.to_dict()
    assert s.tick() is False
    assert s.to_dict() == before


RECORDERS = [
    "record_user_interaction",
    "record_option_click",
    "record_reaction",
    "record_tour_step",
]


@pytest.mark.parametrize("enter", [proactive, reactive])
def test_timeout_fires_only_when_strictly_greater_than_the_timeout(
    s: SessionState, clock: Any, enter: Any
) -> None:
    enter(s)
    state = s.current_state
    clock.advance(20.0)  # exactly the timeout: still in the conversation (the SDK's `>`)
    assert s.tick() is False and s.current_state is state
    clock.t = math.nextafter(clock.t, math.inf)
    assert s.tick() is True and s.current_state is T


@pytest.mark.parametrize("recorder", RECORDERS)
def test_interactions_reset_the_timer(s: SessionState, clock: Any, recorder: str) -> None:
    proactive(s)
    clock.advance(15)
    getattr(s, recorder)()
    clock.advance(15)
    assert s.tick() is False and s.current_state is P
    clock.advance(5.5)
    assert s.tick() is True


def test_starting_a_tour_resets_the_timer(s: SessionState, clock: Any) -> None:
    reactive(s)
    clock.advance(15)
    s.set_visual_guidance(True, "flow-1")
    clock.advance(15)
    assert s.tick() is False


def test_cooldown_is_measured_from_the_timeout(s: SessionState, clock: Any) -> None:
    proactive(s)
    clock.advance(25)  # the tick comes late; the cooldown starts when it runs
    s.tick()
    clock.advance(59)
    assert s.can_deliver_proactive() == (False, "v2_cooldown_active")
    clock.advance(1)
    assert s.can_deliver_proactive() == (True, "ok")


# -- reasons ------------------------------------------------------------------


def test_every_reason_string(s: SessionState, clock: Any) -> None:
    assert s.can_deliver_proactive() == (True, "ok")
    proactive(s)
    assert s.can_deliver_proactive() == (False, "v2_state_proactive_assistance")
    clock.advance(20.5)
    s.tick()
    assert s.can_deliver_proactive() == (False, "v2_cooldown_active")
    reactive(s)
    assert s.can_deliver_proactive() == (False, "v2_state_reactive_assistance")


def test_state_reason_wins_over_cooldown(s: SessionState) -> None:
    reactive(s)
    s.start_cooldown()
    assert s.can_deliver_proactive() == (False, "v2_state_reactive_assistance")


# -- cooldown -------------------------------------------------------------------


def test_start_cooldown_custom_and_default(s: SessionState, clock: Any) -> None:
    s.start_cooldown(5)
    assert s.cooldown_until == clock.t + 5 and s.active_cooldown_period_s == 5
    s.start_cooldown()
    assert s.cooldown_until == clock.t + 60
    s.start_cooldown(0)
    assert not s.cooldown_active
    with pytest.raises(InputError):
        s.start_cooldown(-1)


def test_cooldown_blocks_only_proactive(s: SessionState) -> None:
    s.start_cooldown()
    assert s.transition_to_proactive("t") is False
    s.transition_to_reactive()
    assert s.current_state is R


# -- visual guidance and tours ---------------------------------------------------


def test_visual_guidance_in_thinking_raises_invalid_transition(s: SessionState) -> None:
    before = s.to_dict()
    for active in (True, False):  # as the SDK: starting or stopping, THINKING refuses
        with pytest.raises(InvalidTransitionError, match="visual guidance"):
            s.set_visual_guidance(active, "flow-1")
    assert s.to_dict() == before


def test_visual_guidance_only_in_proactive_or_reactive(s: SessionState) -> None:
    reactive(s)
    s.set_visual_guidance(True, "flow-1")
    assert s.visual_guidance_active and s.active_tour_id == "flow-1"
    s.set_visual_guidance(False)
    assert not s.visual_guidance_active and s.active_tour_id is None


REGISTRY = TourRegistry(
    [
        TourDefinition("onboarding", "flow-1", interaction_timeout_s=90, cooldown_period_s=5),
        TourDefinition("billing", "flow-2", interaction_timeout_s=None, cooldown_period_s=300),
        TourDefinition("plain", "flow-3"),
    ]
)


@pytest.mark.parametrize("tour_ref", ["flow-1", "onboarding"])
def test_tour_overrides_timeout_and_cooldown(s: SessionState, clock: Any, tour_ref: str) -> None:
    proactive(s)
    s.set_visual_guidance(True, tour_ref)
    assert s.effective_timeouts(REGISTRY) == (90, 5)
    clock.advance(90)
    assert s.tick(REGISTRY) is False
    clock.advance(0.5)
    assert s.tick(REGISTRY) is True
    assert s.cooldown_remaining_s == 5 and s.active_cooldown_period_s == 5


def test_tour_without_timings_has_the_sdk_tour_defaults_while_it_runs(clock: Any) -> None:
    # A session with its own (long) timings: the running tour's defaults replace them.
    s = SessionState("t", interaction_timeout_s=300, cooldown_period_s=30, clock=clock)
    reactive(s)
    s.set_visual_guidance(True, "flow-3")
    assert s.effective_timeouts(REGISTRY) == (20.0, 120.0)
    clock.advance(20.5)
    assert s.tick(REGISTRY) is True
    assert s.cooldown_remaining_s == 120 and s.active_cooldown_period_s == 120
    # The tour no longer runs: the session's own timings apply again.
    assert s.effective_timeouts(REGISTRY) == (300, 30)


def test_tour_with_only_a_cooldown_has_the_default_tour_timeout(
    s: SessionState, clock: Any
) -> None:
    reactive(s)
    s.set_visual_guidance(True, "flow-2")
    clock.advance(20.5)
    assert s.tick(REGISTRY) is True
    assert s.cooldown_remaining_s == 300


def test_running_tour_is_looked_up_by_provider_flow_id_before_tour_id(
    s: SessionState, clock: Any
) -> None:
    # A tour id that is also another tour's provider flow id: the flow id wins, as in the SDK.
    registry = TourRegistry(
        [
            TourDefinition("flow-x", "flow-a", interaction_timeout_s=50, cooldown_period_s=1),
            TourDefinition("tour-b", "flow-x", interaction_timeout_s=70, cooldown_period_s=2),
        ]
    )
    proactive(s)
    s.set_visual_guidance(True, "flow-x")
    assert s.effective_timeouts(registry) == (70, 2)
    s.set_visual_guidance(True, "tour-b")  # not a flow id: found by tour id
    assert s.effective_timeouts(registry) == (70, 2)


def test_tour_ignored_without_registry_or_when_unknown(s: SessionState, clock: Any) -> None:
    reactive(s)
    s.set_visual_guidance(True, "flow-unknown")
    assert s.effective_timeouts(REGISTRY) == (20, 60)
    s.active_tour_id = "flow-1"
    assert s.effective_timeouts(None) == (20, 60)
    clock.advance(20.5)
    assert s.tick() is True


def test_session_level_overrides(clock: Any) -> None:
    s = SessionState("s", interaction_timeout_s=5, cooldown_period_s=7, clock=clock)
    proactive(s)
    clock.advance(5.5)
    assert s.tick()
    assert s.cooldown_remaining_s == 7


# -- linking ------------------------------------------------------------------


def test_new_link_overwrites_reply_existing_only_links(s: SessionState) -> None:
    reply = ConversationEventType.REPLY_EXISTING
    assert s.on_conversation_linked(ConversationLink("sess-1", "c1", reply)) is True
    assert s.conversation_linked and s.conversation_id == "c1"
    assert s.on_conversation_linked(ConversationLink("sess-1", "c2", reply)) is False
    assert s.conversation_id == "c1"
    assert s.on_conversation_linked(ConversationLink("sess-1", "c3")) is True
    assert s.conversation_id == "c3"
    assert s.on_conversation_linked(ConversationLink("sess-1", "c3")) is False


def test_link_for_another_session_is_refused(s: SessionState) -> None:
    with pytest.raises(InputError, match="applied to session"):
        s.on_conversation_linked(ConversationLink("other", "c1"))
    assert not s.conversation_linked


# -- logging ------------------------------------------------------------------


def test_transitions_logged_at_info_with_the_session_id(
    s: SessionState, clock: Any, session_logs: pytest.LogCaptureFixture
) -> None:
    caplog = session_logs
    proactive(s)
    clock.advance(20.5)
    s.tick()
    reactive(s)
    transitions = [r for r in caplog.records if "->" in r.getMessage()]
    assert len(transitions) == 3
    assert all(r.levelno == logging.INFO and "sess-1" in r.getMessage() for r in transitions)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- snapshots ----------------------------------------------------------------


def busy_state(clock: Any) -> SessionState:
    s = SessionState(
        "sess-9",
        {"email": "x@example.com", "plan": {"tier": 2}},
        interaction_timeout_s=12.5,
        cooldown_period_s=33,
        clock=clock,
    )
    s.on_conversation_linked(ConversationLink("sess-9", "conv-1"))
    proactive(s)
    s.set_visual_guidance(True, "flow-1")
    return s


def test_snapshot_round_trip_is_identical(clock: Any) -> None:
    s = busy_state(clock)
    data = s.to_dict()
    assert data["version"] == 1
    again = SessionState.from_dict(json.loads(json.dumps(data)), clock=clock)
    assert again == s
    assert again.to_dict() == data
    assert again.clock is clock


def test_clock_is_not_persisted(clock: Any) -> None:
    data = busy_state(clock).to_dict()
    assert "clock" not in data and "_clock" not in data
    json.dumps(data)  # JSON-ready


def test_snapshot_keeps_timeouts_and_cooldowns_across_processes(make_clock: Any) -> None:
    writer = make_clock(1_767_225_600.0)
    s = SessionState("s", clock=writer)
    proactive(s)
    writer.advance(10)
    s.record_user_interaction()
    data = s.to_dict()
    assert data["last_interaction_at"] == 1_767_225_610.0  # epoch seconds from the clock

    # Another process (its own clock, later) reads it: 10 s of the 20 s have passed.
    reader = make_clock(1_767_225_620.0)
    other = SessionState.from_dict(data, clock=reader)
    assert other.tick() is False
    reader.advance(10.5)
    assert other.tick() is True
    data2 = other.to_dict()

    # After a "restart" 30 s later, the 60 s cooldown has 30 s left.
    third = SessionState.from_dict(data2, clock=make_clock(reader.t + 30))
    assert third.cooldown_active and third.cooldown_remaining_s == 30
    assert third.can_deliver_proactive() == (False, "v2_cooldown_active")


def test_snapshot_in_a_real_second_process(clock: Any) -> None:
    data = busy_state(clock).to_dict()
    code = (
        "import json,sys; from autoplay_cli.session import SessionState as S;"
        "s=S.from_dict(json.loads(sys.stdin.read()), clock=lambda: %r);"
        "s.tick(); print(json.dumps(s.to_dict()))" % (clock.t + 12.75)
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    after = json.loads(out.stdout)
    assert after["current_state"] == "thinking"
    assert after["cooldown_until"] == clock.t + 12.75 + 33


@pytest.mark.parametrize("version", [None, 0, 2, "1", 1.5, True])
def test_unknown_snapshot_version(clock: Any, version: Any) -> None:
    data = busy_state(clock).to_dict()
    data["version"] = version
    with pytest.raises(SnapshotError, match="unsupported session snapshot version"):
        SessionState.from_dict(data)


def test_missing_version(clock: Any) -> None:
    data = busy_state(clock).to_dict()
    del data["version"]
    with pytest.raises(SnapshotError, match="version None"):
        SessionState.from_dict(data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session_id", "", "non-empty"),
        ("session_id", 7, "session_id: expected a non-empty string, got 7"),
        ("metadata", [], "metadata: expected an object, got an empty list"),
        (
            "current_state",
            "sleeping",
            "current_state: expected one of thinking, proactive_assistance, "
            "reactive_assistance, got 'sleeping'",
        ),
        ("current_state", None, "current_state: expected one of .*, got null"),
        ("last_interaction_at", "yesterday", "finite number"),
        ("state_entered_at", math.nan, "finite number"),
        ("cooldown_until", math.inf, "cooldown_until: expected a finite number or null, got inf"),
        ("interaction_timeout_s", 0, "interaction_timeout_s"),
        ("visual_guidance_active", "yes", "expected true or false, got 'yes'"),
        ("conversation_linked", 1, "conversation_linked: expected true or false, got 1"),
        ("conversation_id", 5, "conversation_id: expected a string or null, got 5"),
        ("conversation_id", None, "conversation_id is empty"),
        ("last_interaction_at", True, "finite number"),
    ],
)
def test_invalid_snapshot_content(clock: Any, field: str, value: Any, message: str) -> None:
    data = busy_state(clock).to_dict()
    data[field] = value
    with pytest.raises(SnapshotError, match=message):
        SessionState.from_dict(data)


def test_json_fast_path_reads_our_snapshots_as_from_dict_does(clock: Any) -> None:
    s = busy_state(clock)
    s.start_cooldown(5)
    raw = json.dumps(s.to_dict())
    fast = SessionState.try_from_json(raw, clock=clock)
    assert fast is not None and fast.clock is clock
    assert fast.to_dict() == SessionState.from_dict(json.loads(raw)).to_dict() == s.to_dict()
    fast.metadata["plan"]["tier"] = 3  # the decoded state owns its metadata
    assert SessionState.try_from_json(raw.encode()) == s


@pytest.mark.parametrize(
    "raw",
    [
        "{nope",
        "[]",
        json.dumps({"_v": 1, "session_id": "s", "current_state": "thinking"}),  # the SDK's
        json.dumps({"version": 2}),
        '{"version": 1, "state_entered_at": NaN}',
    ],
)
def test_json_fast_path_leaves_everything_else_to_from_dict(raw: str) -> None:
    assert SessionState.try_from_json(raw) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("session_id", ""),
        ("current_state", "sleeping"),
        ("cooldown_until", 1e999),
        ("interaction_timeout_s", 0),
        ("conversation_id", None),
        ("version", True),
        ("version", 1.0),
    ],
)
def test_json_fast_path_accepts_nothing_from_dict_refuses(
    clock: Any, field: str, value: Any
) -> None:
    data = busy_state(clock).to_dict()
    data[field] = value
    raw = json.dumps(data)
    try:
        slow: Any = SessionState.from_dict(json.loads(raw))
    except SnapshotError as exc:
        slow = exc.message
    try:
        fast: Any = SessionState.try_from_json(raw)
    except SnapshotError as exc:
        fast = exc.message
    # Whatever the fast path returns (a state, or an error's message) is from_dict's.
    assert fast is None or fast == slow


def test_missing_field_is_named(clock: Any) -> None:
    data = busy_state(clock).to_dict()
    del data["cooldown_until"]
    with pytest.raises(SnapshotError, match="missing 'cooldown_until'") as info:
        SessionState.from_dict(data)
    assert "sess-9" in str(info.value)


def test_guidance_in_thinking_is_inconsistent(clock: Any) -> None:
    data = SessionState("s", clock=clock).to_dict()
    data["visual_guidance_active"] = True
    with pytest.raises(SnapshotError, match="visual guidance is active in thinking"):
        SessionState.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "{}", 3])
def test_snapshot_must_be_an_object(data: Any) -> None:
    with pytest.raises(SnapshotError, match="must be an object"):
        SessionState.from_dict(data)


def test_equality_and_copy(clock: Any) -> None:
    s = busy_state(clock)
    c = s.copy()
    assert c == s and c is not s
    c.record_user_interaction()
    clock.advance(1)
    c.record_user_interaction()
    assert c != s
    assert s != "not a state"
    with pytest.raises(TypeError):
        hash(s)
    assert "sess-9" in repr(s)


def test_import_is_light() -> None:
    code = (
        "import sys, autoplay_cli.session;"
        "print(sorted(m for m in ('redis','pydantic','typer','rich','httpx') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


# -- properties over random event/time sequences ------------------------------

OPS = st.sampled_from(
    [
        "proactive",
        "reactive",
        "tick",
        "tick_tours",
        "interaction",
        "option",
        "reaction",
        "tour_step",
        "guidance_on",
        "guidance_off",
        "cooldown",
        "link_new",
        "link_reply",
    ]
)
STEPS = st.lists(
    st.tuples(
        OPS,
        st.floats(min_value=0, max_value=120, allow_nan=False),
        st.sampled_from(["flow-1", "flow-2", "onboarding", "nope"]),
    ),
    max_size=60,
)


class _Clock:
    def __init__(self) -> None:
        self.t = 1_767_225_600.0

    def __call__(self) -> float:
        return self.t


def apply(s: SessionState, op: str, arg: str) -> None:
    match op:
        case "proactive":
            s.transition_to_proactive(arg)
        case "reactive":
            s.transition_to_reactive()
        case "tick":
            s.tick()
        case "tick_tours":
            s.tick(REGISTRY)
        case "interaction":
            s.record_user_interaction()
        case "option":
            s.record_option_click()
        case "reaction":
            s.record_reaction()
        case "tour_step":
            s.record_tour_step()
        case "guidance_on":
            s.set_visual_guidance(True, arg)
        case "guidance_off":
            s.set_visual_guidance(False)
        case "cooldown":
            s.start_cooldown()
        case "link_new":
            s.on_conversation_linked(ConversationLink(s.session_id, arg))
        case "link_reply":
            s.on_conversation_linked(
                ConversationLink(s.session_id, arg, ConversationEventType.REPLY_EXISTING)
            )


@settings(max_examples=300, deadline=None)
@given(
    steps=STEPS,
    timeout=st.floats(min_value=0.5, max_value=90, allow_nan=False),
    cooldown=st.floats(min_value=0, max_value=90, allow_nan=False),
)
def test_random_operation_sequences_raise_only_invalid_transition_error(
    steps: list[tuple[str, float, str]], timeout: float, cooldown: float
) -> None:
    """Random operation sequences never raise anything but InvalidTransitionError."""
    clock = _Clock()
    s = SessionState("prop", interaction_timeout_s=timeout, cooldown_period_s=cooldown, clock=clock)
    for op, dt, arg in steps:
        clock.t += dt
        before = s.current_state
        was_cooling = s.cooldown_active
        linked_before = s.conversation_id if s.conversation_linked else None
        expected_cooldown = s.effective_timeouts(REGISTRY if op == "tick_tours" else None)[1]
        try:
            apply(s, op, arg)
        except InvalidTransitionError:
            # Only the documented refusals exist (the SDK's), and they change nothing.
            assert (op in ("reactive", "proactive") and before is not T) or (
                op in ("guidance_on", "guidance_off") and before is T
            )
            assert s.current_state is before
            continue
        after = s.current_state

        # No direct PROACTIVE <-> REACTIVE.
        assert {before, after} != {P, R}
        # Leaving PROACTIVE/REACTIVE happens only by tick, and always to THINKING.
        if before is not T and after is not before:
            assert op in ("tick", "tick_tours") and after is T
        # Every return to THINKING starts a cooldown and clears visual guidance.
        if before is not T and after is T:
            # ... of the right length: the running tour's own cooldown, else the session's.
            assert s.active_cooldown_period_s == expected_cooldown
            assert s.cooldown_until == clock.t + expected_cooldown
            assert not s.visual_guidance_active and s.active_tour_id is None
        # Cooldown blocks only proactive.
        if op == "proactive" and was_cooling:
            assert after is before
        if op == "reactive" and before is T:
            assert after is R and not s.cooldown_active
        # THINKING never shows visual guidance.
        if after is T:
            assert not s.visual_guidance_active
        # The gate agrees with the state.
        ok, reason = s.can_deliver_proactive()
        if after is not T:
            assert (ok, reason) == (False, f"v2_state_{after.value}")
        else:
            assert (ok, reason) == (
                (False, "v2_cooldown_active") if s.cooldown_active else (True, "ok")
            )
        # REPLY_EXISTING never moves an existing link.
        if op == "link_reply" and linked_before is not None:
            assert s.conversation_id == linked_before
        # Snapshots are lossless at every step.
        again = SessionState.from_dict(json.loads(json.dumps(s.to_dict())), clock=clock)
        assert again == s and again.to_dict() == s.to_dict()
        fast = SessionState.try_from_json(json.dumps(s.to_dict()), clock=clock)
        assert fast == again and fast is not None and fast.clock is clock
