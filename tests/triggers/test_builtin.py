"""The built-in triggers: the docs/wire.md §6 counting rules and their edge cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.errors import InputError
from autoplay_cli.triggers import (
    CanonicalUrlPingPong,
    UserPageDwell,
    default_registry,
    load_trigger_config,
    ping_pong_cycles,
    trailing_dwell,
)
from autoplay_cli.triggers.builtin import hesitation
from autoplay_cli.wire import SlimAction


@dataclass(frozen=True)
class A:
    canonical_url: str
    timestamp_start: float = 0.0
    timestamp_end: float = 0.0


def urls(*values: str) -> list[A]:
    return [A(u, float(i), float(i)) for i, u in enumerate(values)]


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        ([], 0),
        (["/a"], 0),
        (["/a", "/b"], 0),  # fewer than three URLs can never ping-pong
        (["/a", "/b", "/a"], 1),
        (["/a", "/a", "/a"], 0),  # staying put is not bouncing
        (["/a", "/b", "/a", "/b"], 2),
        (["/a", "/b", "/c", "/a"], 0),
        (["/a", "", "/b", "", "/a"], 1),  # empty URLs are dropped before counting
        (["", "", ""], 0),
        (["/a", "/b", "/b", "/a"], 0),
    ],
)
def test_ping_pong_counting_rule(seq: list[str], expected: int) -> None:
    assert ping_pong_cycles(seq) == expected


@given(st.lists(st.sampled_from(["", "/a", "/b", "/c"]), max_size=30))
def test_ping_pong_matches_the_definition(seq: list[str]) -> None:
    kept = [u for u in seq if u]
    naive = sum(
        1 for i in range(len(kept) - 2) if kept[i] == kept[i + 2] and kept[i] != kept[i + 1]
    )
    assert ping_pong_cycles(seq) == naive
    fired = CanonicalUrlPingPong(min_cycles=2).evaluate(urls(*seq), 0.0)
    assert (fired is not None) == (naive >= 2)


def test_ping_pong_fires_at_min_cycles_and_names_the_last_pair() -> None:
    trigger = CanonicalUrlPingPong(min_cycles=2)
    assert trigger.evaluate(urls("/a", "/b", "/a"), 0.0) is None
    fired = trigger.evaluate(urls("/a", "/b", "/a", "/b"), 0.0)
    assert fired is not None
    assert fired.trigger_id == "canonical_url_ping_pong"
    assert fired.detail == "2 ping-pong cycles (min 2), last /b ↔ /a"


def test_ping_pong_reads_wire_actions() -> None:
    actions = [SlimAction(canonical_url=u) for u in ("/plans", "/checkout", "/plans")]
    assert CanonicalUrlPingPong().evaluate(actions, 0.0) is not None


def test_dwell_exactly_at_the_threshold_fires() -> None:
    trigger = UserPageDwell(dwell_threshold_seconds=60, user_page_dwell_max_actions=5)
    run = [A("/form", 100.0, 100.0), A("/form", 130.0, 130.0), A("/form", 159.5, 160.0)]
    fired = trigger.evaluate(run, 0.0)
    assert fired is not None and fired.detail.startswith("60 s on /form with 3 actions")
    short = [*run[:2], A("/form", 159.0, 159.9)]
    assert trigger.evaluate(short, 0.0) is None  # 59.9 s


T0 = 1_767_225_600.0  # epoch seconds: a timestamp of 0 means "unknown"


def test_dwell_with_one_action_uses_its_own_duration() -> None:
    trigger = UserPageDwell(dwell_threshold_seconds=30)
    assert trigger.evaluate([A("/form", T0, T0 + 45.0)], T0 + 45.0) is not None
    assert trigger.evaluate([A("/form", T0, T0)], T0) is None
    assert trigger.evaluate([], T0) is None


def test_dwell_counts_only_the_trailing_run() -> None:
    actions = [
        A("/home", T0),
        A("/form", T0 + 10.0),
        A("/home", T0 + 20.0),
        A("/form", T0 + 30.0),
        A("/form", T0 + 100.0),
    ]
    dwell = trailing_dwell(actions)
    assert dwell is not None and (dwell.url, dwell.seconds, dwell.actions) == ("/form", 70.0, 2)


def test_dwell_action_cap() -> None:
    run = [A("/form", T0 + i * 20) for i in range(6)]  # 100 s, 6 actions
    assert UserPageDwell(60, 5).evaluate(run, 0.0) is None
    assert UserPageDwell(60, 6).evaluate(run, 0.0) is not None


def test_dwell_ignores_actions_without_a_url() -> None:
    actions = [A("/form", T0), A("", T0 + 30.0), A("/form", T0 + 70.0), A("", T0 + 80.0)]
    dwell = trailing_dwell(actions)
    assert dwell is not None and (dwell.seconds, dwell.actions) == (70.0, 2)
    assert trailing_dwell([A(""), A("")]) is None


# -- SDK behaviours (issue 15) ---------------------------------------------------------


def test_dwell_of_an_idle_user_is_measured_up_to_the_evaluation_time() -> None:
    # One pageview whose end equals its start, evaluated 120 s later: the user is still there.
    landed = [SlimAction(canonical_url="/settings", timestamp_start=T0, timestamp_end=T0)]
    fired = UserPageDwell().evaluate(landed, T0 + 120.0)
    assert fired is not None and fired.detail.startswith("120 s on /settings with 1 action ")
    assert UserPageDwell().evaluate(landed, T0 + 59.0) is None
    dwell = trailing_dwell(landed, T0 + 120.0)
    assert dwell is not None and dwell.seconds == 120.0


@pytest.mark.parametrize("end", [0.0, None, "missing"])
def test_dwell_last_action_without_an_end_is_not_a_long_dwell_by_itself(end: object) -> None:
    @dataclass(frozen=True)
    class NoEnd:
        canonical_url: str
        timestamp_start: float

    action: object = NoEnd("/form", T0) if end == "missing" else A("/form", T0, end)  # type: ignore[arg-type]
    trigger = UserPageDwell(dwell_threshold_seconds=30)
    assert trigger.evaluate([action], T0 + 1.0) is None  # type: ignore[list-item]
    dwell = trailing_dwell([action])  # type: ignore[list-item]
    assert dwell is not None and dwell.seconds == 0.0
    # An unknown (zero) start is not a start in 1970 either.
    assert trigger.evaluate([A("/form", 0.0, 0.0)], T0) is None


@pytest.mark.parametrize("blank", ["   ", "\t", " \n "])
def test_whitespace_only_urls_are_blank_in_both_triggers(blank: str) -> None:
    bouncing = urls("/a", blank, "/b", blank, "/a")
    assert ping_pong_cycles([a.canonical_url for a in bouncing]) == 1
    assert CanonicalUrlPingPong().evaluate(bouncing, 0.0) is not None
    # A blank last action neither ends nor breaks the run on /form.
    run = [A("/form", T0), A(blank, T0 + 10.0), A("/form", T0 + 70.0)]
    dwell = trailing_dwell(run)
    assert dwell is not None and (dwell.url, dwell.seconds, dwell.actions) == ("/form", 70.0, 2)
    assert trailing_dwell([A(blank, T0)]) is None


def test_urls_are_stripped_before_comparison_in_both_triggers() -> None:
    fired = CanonicalUrlPingPong().evaluate(urls("/a ", " /b", "/a"), 0.0)
    assert fired is not None and fired.detail.endswith("last /a ↔ /b")
    assert CanonicalUrlPingPong().evaluate(urls("/a", "/a ", " /a"), 0.0) is None
    dwell = trailing_dwell([A(" /form", T0), A("/form  ", T0 + 60.0)])
    assert dwell is not None and (dwell.url, dwell.actions, dwell.seconds) == ("/form", 2, 60.0)


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (CanonicalUrlPingPong, {"min_cycles": 0}),
        (CanonicalUrlPingPong, {"min_cycles": -1}),
        (CanonicalUrlPingPong, {"min_cycles": 1.5}),
        (CanonicalUrlPingPong, {"hesitation": "yes"}),
        (UserPageDwell, {"dwell_threshold_seconds": -0.1}),
        (UserPageDwell, {"dwell_threshold_seconds": float("nan")}),
        (UserPageDwell, {"user_page_dwell_max_actions": 0}),
    ],
)
def test_zero_and_edge_parameters_are_a_clear_input_error(
    make: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InputError) as info:
        make(**kwargs)
    assert next(iter(kwargs)) in info.value.message


def test_edge_parameters_that_are_valid_never_crash() -> None:
    actions = urls("/a", "/b", "/a", "/c")
    for trigger in (
        CanonicalUrlPingPong(min_cycles=1),
        CanonicalUrlPingPong(min_cycles=10_000, hesitation=True),
        UserPageDwell(dwell_threshold_seconds=0, user_page_dwell_max_actions=1),
        UserPageDwell(dwell_threshold_seconds=1e308, user_page_dwell_max_actions=10**9),
    ):
        for window in ([], actions, urls(""), [A("/x", float("nan"), float("inf"))]):
            trigger.evaluate(window, T0)  # any verdict, never an exception
    assert UserPageDwell(0, 1).evaluate([A("/x", T0)], T0) is not None


def test_config_loader_and_classes_agree_on_valid_parameters() -> None:
    registry = default_registry()
    for spec in registry:
        for param in spec.params:
            if param.type is bool:
                candidates: list[Any] = [True, False, 1, 0, None, 2.5]
            else:
                step = 1 if param.type is int else 0.5
                low = param.minimum
                candidates = [low - step, low, low + step, 2.5, True, float("inf"), None]
            for value in candidates:
                try:
                    coerced = param.coerce(value, where="x")
                    loader_ok = True
                except InputError:
                    loader_ok = False
                try:
                    spec.factory(**{**spec.defaults(), param.name: value})
                    class_ok = True
                except InputError:
                    class_ok = False
                assert loader_ok == class_ok, (spec.id, param.name, value)
                if loader_ok:
                    spec.build({param.name: coerced})


def test_hesitation_is_off_by_default() -> None:
    wandering = urls("/a", "/b", "/c", "/a")  # 3 distinct pages, back to /a, no A→B→A
    assert ping_pong_cycles([a.canonical_url for a in wandering]) == 0
    assert CanonicalUrlPingPong().evaluate(wandering, 0.0) is None
    assert default_registry().get("canonical_url_ping_pong").defaults()["hesitation"] is False


@pytest.mark.parametrize(
    ("seq", "fires"),
    [
        (["/a", "/b", "/c", "/a"], True),  # 3 distinct, one return
        (["/a", "/b", "/c", "/d"], False),  # no return
        (["/a", "/b", "/b", "/a"], False),  # a return, but only 2 distinct pages
        (["/a", "/a", "/b", "/c"], False),  # staying on /a is not a return
        (["/a", " ", "/b", "/c", "", "/b"], True),  # blanks dropped
    ],
)
def test_hesitation_fires_on_three_distinct_urls_and_a_revisit(seq: list[str], fires: bool) -> None:
    fired = CanonicalUrlPingPong(min_cycles=5, hesitation=True).evaluate(urls(*seq), 0.0)
    assert (fired is not None) == fires
    if fired is not None:
        assert fired.trigger_id == "canonical_url_ping_pong"
        assert fired.detail.startswith("hesitation: 3 distinct pages, back to ")
    distinct, revisits = hesitation(seq)
    assert (distinct >= 3 and bool(revisits)) == fires


def test_hesitation_from_a_config_file(tmp_path: Any) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[triggers.canonical_url_ping_pong]\nhesitation = true\n", encoding="utf-8")
    (trigger,) = [
        t for t in load_trigger_config(path).active() if t.id == "canonical_url_ping_pong"
    ]
    assert trigger.evaluate(urls("/a", "/b", "/c", "/a"), 0.0) is not None
    path.write_text("[triggers.canonical_url_ping_pong]\nhesitation = 1\n", encoding="utf-8")
    with pytest.raises(InputError, match="hesitation: expected true or false"):
        load_trigger_config(path)


@pytest.mark.parametrize("threshold", [0, 0.0, -0.0, 60, 60.0, 2.5e-7, 1e21])
def test_dwell_detail_is_worded_the_same_from_a_window_and_from_a_list(
    threshold: float,
) -> None:
    # The window's firing reuses the bounds' text per trigger: each threshold is still
    # written as itself (-0.0 as "-0", 60 and 60.0 alike), whatever was worded before.
    from autoplay_cli.triggers import ActionWindow

    trigger = UserPageDwell(dwell_threshold_seconds=threshold, user_page_dwell_max_actions=2)
    run = [A("/form", T0, T0 + 1.0), A("/form", T0 + 10.0, T0 + 10.0)]
    now = T0 + 1e22
    plain, windowed = trigger.evaluate(run, now), trigger.evaluate(ActionWindow(run, 20), now)
    assert plain is not None and windowed is not None
    assert windowed == plain
    assert plain.detail.endswith(f"(≥ {threshold:g} s, ≤ 2)")
