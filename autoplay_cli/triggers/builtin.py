"""The built-in proactive triggers (docs/wire.md §6): URL ping-pong and page dwell.

Both are pure functions of the actions they are given, so the simulator,
tests and an integrator's worker get the same answer for the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autoplay_cli.triggers.base import ActionLike, Firing

PING_PONG_ID = "canonical_url_ping_pong"
DWELL_ID = "user_page_dwell"


def ping_pong_cycles(urls: Sequence[str]) -> int:
    """Count positions ``i`` with ``url[i] == url[i+2] != url[i+1]``, empty URLs dropped."""
    kept = [u for u in urls if u]
    return sum(1 for a, b, c in zip(kept, kept[1:], kept[2:], strict=False) if a == c and a != b)


@dataclass(frozen=True, slots=True)
class Dwell:
    """The trailing run of actions on one canonical URL."""

    url: str
    seconds: float
    actions: int


def trailing_dwell(actions: Sequence[ActionLike]) -> Dwell | None:
    """The trailing run on the last action's canonical URL, or ``None`` without one.

    Actions without a canonical URL (custom events) neither extend nor break
    the run. The run lasts from its first action's start to the latest end
    (or start) of its last action.
    """
    last = None
    first_start = 0.0
    count = 0
    for action in reversed(actions):
        url = action.canonical_url
        if not url:
            continue
        if last is None:
            last = action
        elif url != last.canonical_url:
            break
        first_start = action.timestamp_start
        count += 1
    if last is None:
        return None
    end = max(last.timestamp_end, last.timestamp_start)
    return Dwell(last.canonical_url, end - first_start, count)


@dataclass(frozen=True, slots=True)
class CanonicalUrlPingPong:
    """Fires when the user bounces between pages: ``min_cycles`` or more A→B→A patterns."""

    min_cycles: int = 1
    id: str = PING_PONG_ID

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None:
        kept = [a.canonical_url for a in actions if a.canonical_url]
        cycles = ping_pong_cycles(kept)
        if cycles < self.min_cycles:
            return None
        # min_cycles >= 1, so there is a last cycle to name.
        i = max(
            i for i in range(len(kept) - 2) if kept[i] == kept[i + 2] and kept[i] != kept[i + 1]
        )
        plural = "s" if cycles != 1 else ""
        return Firing(
            self.id,
            f"{cycles} ping-pong cycle{plural} (min {self.min_cycles}), "
            f"last {kept[i]} ↔ {kept[i + 1]}",
        )


@dataclass(frozen=True, slots=True)
class UserPageDwell:
    """Fires when the user lingers on one page: a long trailing run with few actions."""

    dwell_threshold_seconds: float = 60.0
    user_page_dwell_max_actions: int = 5
    id: str = DWELL_ID

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None:
        dwell = trailing_dwell(actions)
        if (
            dwell is not None
            and dwell.seconds >= self.dwell_threshold_seconds
            and dwell.actions <= self.user_page_dwell_max_actions
        ):
            plural = "s" if dwell.actions != 1 else ""
            return Firing(
                self.id,
                f"{round(dwell.seconds, 1):g} s on {dwell.url} with "
                f"{dwell.actions} action{plural} "
                f"(≥ {self.dwell_threshold_seconds:g} s, "
                f"≤ {self.user_page_dwell_max_actions})",
            )
        return None
