"""The built-in triggers: the docs/wire.md §6 counting rules and their edge cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.triggers import (
    CanonicalUrlPingPong,
    UserPageDwell,
    ping_pong_cycles,
    trailing_dwell,
)
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


def test_dwell_with_one_action_uses_its_own_duration() -> None:
    trigger = UserPageDwell(dwell_threshold_seconds=30)
    assert trigger.evaluate([A("/form", 0.0, 45.0)], 0.0) is not None
    assert trigger.evaluate([A("/form", 0.0, 0.0)], 0.0) is None
    assert trigger.evaluate([], 0.0) is None


def test_dwell_counts_only_the_trailing_run() -> None:
    actions = [
        A("/home", 0.0),
        A("/form", 10.0),
        A("/home", 20.0),
        A("/form", 30.0),
        A("/form", 100.0),
    ]
    dwell = trailing_dwell(actions)
    assert dwell is not None and (dwell.url, dwell.seconds, dwell.actions) == ("/form", 70.0, 2)


def test_dwell_action_cap() -> None:
    run = [A("/form", float(i * 20)) for i in range(6)]  # 100 s, 6 actions
    assert UserPageDwell(60, 5).evaluate(run, 0.0) is None
    assert UserPageDwell(60, 6).evaluate(run, 0.0) is not None


def test_dwell_ignores_actions_without_a_url() -> None:
    actions = [A("/form", 0.0), A("", 30.0), A("/form", 70.0), A("", 80.0)]
    dwell = trailing_dwell(actions)
    assert dwell is not None and (dwell.seconds, dwell.actions) == (70.0, 2)
    assert trailing_dwell([A(""), A("")]) is None
