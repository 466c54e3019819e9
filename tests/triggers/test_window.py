"""The incremental trigger window: same verdicts as a plain re-read of the recent actions.

A straightforward reference evaluation (written here, apart from the library) is
compared with the built-in triggers fed an :class:`ActionWindow`, batch by batch,
over generated sessions; and whole simulations with and without the window agree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoplay_cli.emulator.traffic import generate_sessions
from autoplay_cli.simulate import load_inputs, simulate
from autoplay_cli.triggers import (
    BUILTIN_TRIGGERS,
    CanonicalUrlPingPong,
    Firing,
    Trigger,
    TriggerRegistry,
    TriggerSpec,
    UserPageDwell,
    config_from_dict,
)
from autoplay_cli.triggers.builtin import trailing_dwell, window_dwell
from autoplay_cli.triggers.window import ActionWindow

MISSING = object()


class Act:
    """An action whose attributes may be missing, blank, None or of the wrong type."""

    def __init__(self, url: Any, start: Any, end: Any) -> None:
        for name, value in (
            ("canonical_url", url),
            ("timestamp_start", start),
            ("timestamp_end", end),
        ):
            if value is not MISSING:
                setattr(self, name, value)

    def __repr__(self) -> str:
        return f"Act({vars(self)})"


def act(url: Any, start: Any = MISSING, end: Any = MISSING) -> Any:
    """An :class:`Act` typed as any action (it may lack what ``ActionLike`` declares)."""
    return Act(url, start, end)


# --- the reference: re-read every action of the window on every evaluation ----------------


def ref_url(action: Any) -> str:
    url = getattr(action, "canonical_url", None)
    return url.strip() if isinstance(url, str) else ""


def ref_stamp(action: Any, name: str) -> float | None:
    value = getattr(action, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def ref_ping_pong(t: CanonicalUrlPingPong, actions: Sequence[Any]) -> Firing | None:
    kept = [u for u in map(ref_url, actions) if u]
    hits = [i for i in range(len(kept) - 2) if kept[i] == kept[i + 2] != kept[i + 1]]
    if len(hits) >= t.min_cycles:
        i = hits[-1]
        s = "" if len(hits) == 1 else "s"
        return Firing(
            t.id,
            f"{len(hits)} ping-pong cycle{s} (min {t.min_cycles}), last {kept[i]} ↔ {kept[i + 1]}",
        )
    if not t.hesitation:
        return None
    visits = [u for j, u in enumerate(kept) if j == 0 or kept[j - 1] != u]
    returns = [u for j, u in enumerate(visits) if u in visits[:j]]
    if len(set(visits)) >= 3 and returns:
        return Firing(t.id, f"hesitation: {len(set(visits))} distinct pages, back to {returns[-1]}")
    return None


def ref_dwell(actions: Sequence[Any], now: float) -> tuple[str, float, int] | None:
    kept = [(u, a) for a in actions if (u := ref_url(a))]
    if not kept:
        return None
    url = kept[-1][0]
    run: list[Any] = []
    for u, a in reversed(kept):
        if u != url:
            break
        run.insert(0, a)
    starts = [s for a in run if (s := ref_stamp(a, "timestamp_start")) is not None]
    last = run[-1]
    ends = [s for name in ("timestamp_start", "timestamp_end") if (s := ref_stamp(last, name))]
    if math.isfinite(now) and now > 0:
        ends.append(float(now))
    seconds = max(0.0, max(ends) - starts[0]) if starts and ends else 0.0
    return url, seconds, len(run)


def ref_page_dwell(t: UserPageDwell, actions: Sequence[Any], now: float) -> Firing | None:
    dwell = ref_dwell(actions, now)
    if dwell is None:
        return None
    url, seconds, n = dwell
    if seconds < t.dwell_threshold_seconds or n > t.user_page_dwell_max_actions:
        return None
    s = "" if n == 1 else "s"
    return Firing(
        t.id,
        f"{round(seconds, 1):g} s on {url} with {n} action{s} "
        f"(≥ {t.dwell_threshold_seconds:g} s, ≤ {t.user_page_dwell_max_actions})",
    )


# --- generated sessions --------------------------------------------------------------------

T0 = 1_760_000_000.0
URL = st.sampled_from(["/a", "/b", " /a ", "/c", "/d\t", "", "   ", None, 7, MISSING])
STAMP = st.one_of(
    st.floats(T0, T0 + 300),
    st.sampled_from([None, 0, 0.0, -5.0, True, math.nan, math.inf, "1760000000", MISSING]),
    st.integers(int(T0), int(T0) + 300),
)
NOW = st.one_of(st.floats(T0, T0 + 400), st.sampled_from([0.0, -1.0, math.nan, math.inf]))
ACTION = st.builds(Act, URL, STAMP, STAMP)
BATCHES = st.lists(st.tuples(st.lists(ACTION, max_size=7), NOW), max_size=14)
TRIGGERS = st.lists(
    st.one_of(
        st.builds(CanonicalUrlPingPong, min_cycles=st.integers(1, 3), hesitation=st.booleans()),
        st.builds(
            UserPageDwell,
            dwell_threshold_seconds=st.sampled_from([0.0, 0.5, 5.0, 30.0, 60.0]),
            user_page_dwell_max_actions=st.integers(1, 6),
        ),
    ),
    min_size=1,
    max_size=4,
)


def reference(t: Trigger, actions: Sequence[Any], now: float) -> Firing | None:
    if isinstance(t, CanonicalUrlPingPong):
        return ref_ping_pong(t, actions)
    assert isinstance(t, UserPageDwell)
    return ref_page_dwell(t, actions, now)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 8), BATCHES, TRIGGERS)
def test_window_verdicts_equal_a_full_re_read(
    size: int, batches: list[tuple[list[Any], float]], triggers: list[Trigger]
) -> None:
    window = ActionWindow(maxlen=size)
    history: list[Any] = []
    for batch, now in batches:
        window.push(batch)
        history.extend(batch)
        recent = history[-size:]
        assert list(window) == recent
        # A window rebuilt from the raw actions (a store restoring it) agrees too.
        restored = ActionWindow(deque(recent, maxlen=size), size)
        for t in triggers:
            expected = reference(t, recent, now)
            assert t.evaluate(window, now) == expected, (t, recent, now)
            assert t.evaluate(restored, now) == expected
            assert t.evaluate(recent, now) == expected  # the plain-sequence path
        dwell = window_dwell(window, now)
        ref = ref_dwell(recent, now)
        assert (None if dwell is None else (dwell.url, dwell.seconds, dwell.actions)) == ref
        assert trailing_dwell(recent, now) == dwell


def test_a_run_longer_than_the_window_is_cut_at_its_edge() -> None:
    window = ActionWindow(maxlen=3)
    window.push(act("/a", T0 + i) for i in range(1, 6))
    dwell = window_dwell(window, T0 + 10)
    # Only the 3 actions still in the window count, from the first of them (T0 + 3).
    assert dwell is not None and (dwell.actions, dwell.seconds) == (3, 7.0)
    window.push([act(""), act(None)])
    dwell = window_dwell(window, T0 + 10)
    assert dwell is not None and (dwell.actions, dwell.seconds) == (1, 5.0)
    window.push([act("  ")])
    assert window_dwell(window, T0 + 10) is None


def test_ping_pong_cycles_leave_with_their_actions() -> None:
    window = ActionWindow(maxlen=4)
    window.push(act(u, T0, T0) for u in ["/a", "/b", "/a", "/b"])
    assert (window.cycles, window.last_pair) == (2, ("/b", "/a"))
    window.push([act("/c", T0, T0)])  # /a /b /a fell out with the first /a
    assert window.cycles == 1
    window.push([act("/c", T0, T0), act("/d", T0, T0)])
    assert window.cycles == 0


# --- whole simulations: the window against triggers that only see a plain list ------------


@dataclass(frozen=True)
class ListFed:
    """A built-in trigger handed a fresh list of the window's actions (the pre-window path)."""

    inner: Any

    @property
    def id(self) -> str:
        return str(self.inner.id)

    def evaluate(self, actions: Sequence[Any], now: float) -> Firing | None:
        return self.inner.evaluate(list(actions), now)  # type: ignore[no-any-return]


def list_fed_registry() -> TriggerRegistry:
    def factory(cls: Any) -> Any:
        return lambda **params: ListFed(cls(**params))

    return TriggerRegistry(
        [TriggerSpec(s.id, s.description, s.params, factory(s.factory)) for s in BUILTIN_TRIGGERS]
    )


CONFIG = {
    "window_actions": 6,
    "interaction_timeout_s": 8,
    "cooldown_period_s": 15,
    "triggers": {
        "canonical_url_ping_pong": {"min_cycles": 2, "hesitation": True},
        "user_page_dwell": {"dwell_threshold_seconds": 4, "user_page_dwell_max_actions": 3},
        "stuck": {
            "criteria": {
                "id": "both",
                "operator": "AND",
                "conditions": [
                    {"id": "bounce", "type": "canonical_url_ping_pong"},
                    {
                        "id": "slow",
                        "type": "user_page_dwell",
                        "params": {"dwell_threshold_seconds": 1},
                    },
                ],
            }
        },
    },
}


def test_simulations_make_the_same_offers_with_and_without_the_window() -> None:
    inputs = load_inputs([], generate_sessions(60, seed=11))
    for data in (CONFIG, {}):
        fast = simulate(inputs, config_from_dict(data))
        slow = simulate(inputs, config_from_dict(data, registry=list_fed_registry()))
        start = fast.start
        assert [s.to_json(start) for s in fast.steps] == [s.to_json(start) for s in slow.steps]
        assert fast.summary_json() == slow.summary_json()
        offers = [s for s in fast.steps if s.decision == "offer"]
        assert offers  # the comparison covers firing triggers, not only silent ones
    # Both built-ins fire on the small config, each with its own explanation.
    fired = {s.trigger for s in simulate(inputs, config_from_dict(CONFIG)).steps if s.trigger}
    assert {"canonical_url_ping_pong", "user_page_dwell"} <= fired
