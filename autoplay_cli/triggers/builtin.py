"""The built-in proactive triggers (docs/wire.md §6): URL ping-pong and page dwell.

Both are pure functions of the actions and the evaluation time they are given,
so the simulator, tests and an integrator's worker get the same answer for the
same input. Canonical URLs are compared stripped; blank ones are dropped.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autoplay_cli.errors import InputError
from autoplay_cli.triggers.base import ActionLike, Firing
from autoplay_cli.triggers.window import ActionWindow, stamp, url_of

_INF = math.inf

PING_PONG_ID = "canonical_url_ping_pong"
DWELL_ID = "user_page_dwell"

# Lower bounds of the parameters: the classes and the catalog (registry.py) share them,
# so a value the config loader accepts is one the class accepts, and the other way round.
MIN_CYCLES_MINIMUM = 1
DWELL_THRESHOLD_MINIMUM = 0.0
DWELL_MAX_ACTIONS_MINIMUM = 1
# Hesitation (SDK 0.10+): at least this many distinct pages, and a return to one of them.
HESITATION_DISTINCT_URLS = 3


def ping_pong_cycles(urls: Sequence[str]) -> int:
    """Count positions ``i`` with ``url[i] == url[i+2] != url[i+1]`` (stripped, blanks dropped)."""
    kept = [u.strip() for u in urls if u and u.strip()]
    return sum(1 for a, b, c in zip(kept, kept[1:], kept[2:], strict=False) if a == c and a != b)


def hesitation(urls: Sequence[str]) -> tuple[int, list[str]]:
    """``(distinct pages, pages returned to)`` over *urls* (stripped, blanks dropped).

    Staying on a page (the same URL twice in a row) is not a return; coming
    back to a page after visiting another one is.
    """
    seen: set[str] = set()
    revisits: list[str] = []
    previous = None
    for raw in urls:
        url = raw.strip() if raw else ""
        if not url or url == previous:
            continue
        if url in seen:
            revisits.append(url)
        seen.add(url)
        previous = url
    return len(seen), revisits


def _check(name: str, value: Any, minimum: float, *, whole: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and whole:
        ok = float(value).is_integer()
    if not ok or value < minimum:
        kind = "a whole number" if whole else "a finite number"
        raise InputError(
            f"{name} must be {kind} ≥ {minimum:g}, got {value!r}",
            hint="see the trigger catalog in docs/sessions.md",
        )


@dataclass(frozen=True, slots=True)
class Dwell:
    """The trailing run of actions on one canonical URL."""

    url: str
    seconds: float
    actions: int


def trailing_dwell(actions: Sequence[ActionLike], now: float | None = None) -> Dwell | None:
    """The trailing run on the last action's canonical URL, or ``None`` without one.

    Actions without a canonical URL (custom events) neither extend nor break
    the run. The run lasts from its first known start to the latest of: its
    last action's start, that action's end (when known), and *now* (the
    evaluation time, when given): a user who lands on a page and stays idle
    keeps dwelling there. A timestamp of 0 or a missing one is unknown, never a
    start in 1970 or an end that makes a dwell long by itself.
    """
    last_url = None
    last: ActionLike | None = None
    first_start: float | None = None
    count = 0
    for action in reversed(actions):
        url = url_of(action)
        if not url:
            continue
        if last_url is None:
            last_url, last = url, action
        elif url != last_url:
            break
        start = stamp(action, "timestamp_start")
        if start is not None:
            first_start = start
        count += 1
    if last_url is None or last is None:
        return None
    ends = [
        t for t in (stamp(last, "timestamp_start"), stamp(last, "timestamp_end")) if t is not None
    ]
    if now is not None and math.isfinite(now) and now > 0:
        ends.append(float(now))
    if first_start is None or not ends:
        return Dwell(last_url, 0.0, count)
    return Dwell(last_url, max(0.0, max(ends) - first_start), count)


def window_dwell(window: ActionWindow, now: float | None = None) -> Dwell | None:
    """:func:`trailing_dwell` of a window, from the run it keeps (no scan of the actions)."""
    if not window.run_actions or window.last is None:
        return None
    return Dwell(window.run_url, _window_seconds(window, now), window.run_actions)


def _window_seconds(window: ActionWindow, now: float | None) -> float:
    """The seconds of :func:`window_dwell` (a window with a run and a last action)."""
    last: Any = window.last  # not None: the callers checked
    first_start = window.run_start
    if first_start is None:
        return 0.0
    # stamp() of the last action's start and end, their usual case (floats) inline.
    end = getattr(last, "timestamp_start", None)
    if type(end) is not float:
        end = stamp(last, "timestamp_start")
    elif not 0.0 < end < _INF:
        end = None
    last_end = getattr(last, "timestamp_end", None)
    if type(last_end) is not float:
        last_end = stamp(last, "timestamp_end")
    elif not 0.0 < last_end < _INF:
        last_end = None
    if last_end is not None and (end is None or last_end > end):
        end = last_end
    # 0 < now < inf is math.isfinite(now) and now > 0 for any real number (NaN fails both).
    if now is not None and 0 < now < _INF and (end is None or now > end):
        end = float(now)
    if end is None:
        return 0.0
    return max(0.0, end - first_start)


@dataclass(frozen=True, slots=True)
class CanonicalUrlPingPong:
    """Fires when the user bounces between pages: ``min_cycles`` or more A→B→A patterns.

    With ``hesitation=True`` (off by default; SDK 0.10 introduced it) it also
    fires when the recent actions visit at least 3 distinct pages and return
    to one of them (A→B→C→A, say), even without an A→B→A triple.
    """

    min_cycles: int = 1
    id: str = PING_PONG_ID
    hesitation: bool = False

    def __post_init__(self) -> None:
        _check("min_cycles", self.min_cycles, MIN_CYCLES_MINIMUM, whole=True)
        if not isinstance(self.hesitation, bool):
            raise InputError(f"hesitation must be true or false, got {self.hesitation!r}")

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None:
        if type(actions) is ActionWindow:
            # The window keeps the count and the last triple as actions come and go
            # (its ``cycles``, read without the property's call).
            cycles = len(actions._hits)
            if cycles >= self.min_cycles:
                return self._ping_pong(cycles, *actions.last_pair)
            return self._hesitation(actions.kept_urls()) if self.hesitation else None
        kept = [u for u in map(url_of, actions) if u]
        cycles = ping_pong_cycles(kept)
        if cycles >= self.min_cycles:
            i = max(
                i for i in range(len(kept) - 2) if kept[i] == kept[i + 2] and kept[i] != kept[i + 1]
            )
            return self._ping_pong(cycles, kept[i], kept[i + 1])
        return self._hesitation(kept) if self.hesitation else None

    def _ping_pong(self, cycles: int, a: str, b: str) -> Firing:
        plural = "s" if cycles != 1 else ""
        return Firing(
            self.id,
            f"{cycles} ping-pong cycle{plural} (min {self.min_cycles}), last {a} ↔ {b}",
        )

    def _hesitation(self, kept: list[str]) -> Firing | None:
        distinct, revisits = hesitation(kept)
        if distinct >= HESITATION_DISTINCT_URLS and revisits:
            return Firing(self.id, f"hesitation: {distinct} distinct pages, back to {revisits[-1]}")
        return None


@dataclass(frozen=True, slots=True)
class UserPageDwell:
    """Fires when the user lingers on one page: a long trailing run with few actions.

    The dwell is measured up to the evaluation time *now* (see :func:`trailing_dwell`).
    """

    dwell_threshold_seconds: float = 60.0
    user_page_dwell_max_actions: int = 5
    id: str = DWELL_ID

    def __post_init__(self) -> None:
        _check(
            "dwell_threshold_seconds",
            self.dwell_threshold_seconds,
            DWELL_THRESHOLD_MINIMUM,
            whole=False,
        )
        _check(
            "user_page_dwell_max_actions",
            self.user_page_dwell_max_actions,
            DWELL_MAX_ACTIONS_MINIMUM,
            whole=True,
        )

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None:
        if type(actions) is ActionWindow:
            # Few actions on the page is the rarer condition: test it before timing the run.
            if not 0 < actions.run_actions <= self.user_page_dwell_max_actions:
                return None
            if actions.last is None:
                return None
            # The run's length is all the verdict needs: no Dwell, and words only on firing.
            seconds = _window_seconds(actions, now)
            if seconds < self.dwell_threshold_seconds:
                return None
            return self._firing(actions.run_url, seconds, actions.run_actions)
        else:
            dwell = trailing_dwell(actions, now)
        if (
            dwell is not None
            and dwell.seconds >= self.dwell_threshold_seconds
            and dwell.actions <= self.user_page_dwell_max_actions
        ):
            return self._firing(dwell.url, dwell.seconds, dwell.actions)
        return None

    def _firing(self, url: str, seconds: float, actions: int) -> Firing:
        plural = "s" if actions != 1 else ""
        return Firing(
            self.id,
            f"{round(seconds, 1):g} s on {url} with {actions} action{plural} "
            + _dwell_bounds(
                self.dwell_threshold_seconds,
                self.user_page_dwell_max_actions,
                math.copysign(1.0, self.dwell_threshold_seconds),  # -0.0 is written "-0"
            ),
        )


@functools.cache
def _dwell_bounds(threshold: float, max_actions: int, sign: float) -> str:
    """The end of a dwell firing's detail (the same for every firing of one trigger)."""
    return f"(≥ {threshold:g} s, ≤ {max_actions})"
