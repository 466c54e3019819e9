"""A session's recent actions with running aggregates the built-in triggers read in O(1).

:class:`ActionWindow` is a bounded deque of the raw actions (what stores persist) that
also keeps, updated as actions come in and fall out, what the triggers need:
normalised URLs, the A→B→A count, and the trailing run on one page.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from autoplay_cli.triggers.base import ActionLike


def url_of(action: ActionLike) -> str:
    """The action's canonical URL, stripped; ``""`` when blank or missing."""
    url = getattr(action, "canonical_url", None)
    return url.strip() if isinstance(url, str) else ""


def stamp(action: ActionLike, name: str) -> float | None:
    """A timestamp as epoch seconds, or ``None`` when missing, zero, negative or not finite."""
    value = getattr(action, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


class ActionWindow(deque[Any]):
    """The last ``maxlen`` actions of a session, with aggregates kept by :meth:`push`.

    Iterating yields the raw actions, so a window is a drop-in for the plain deque
    a trigger or a store reads. Add actions with :meth:`push` only: the aggregates
    do not see actions added with the deque's own methods.

    Positions are absolute (the n-th action ever pushed); the window holds
    positions ``pushed - len(self)`` to ``pushed - 1``.
    """

    def __init__(self, actions: Iterable[ActionLike] = (), maxlen: int | None = None) -> None:
        super().__init__((), maxlen)
        self.pushed = 0
        # Non-blank actions in the window: (position, stripped URL, start, end).
        self.kept: deque[tuple[int, str, float | None, float | None]] = deque()
        # One flag per A→B→A triple of consecutive kept URLs (the triple starting at kept[i]).
        self._triples: deque[bool] = deque()
        self.cycles = 0
        # The last A→B→A triple's A and B (meaningful while cycles > 0: a triple leaves the
        # window only after every earlier one has).
        self.last_pair: tuple[str, str] = ("", "")
        # The trailing run on the last kept URL: its first kept position, its size, and
        # the first known start among its actions.
        self.run_from = 0
        self.run_actions = 0
        self.run_start: float | None = None
        self.push(actions)

    def push(self, actions: Iterable[ActionLike]) -> None:
        """Append *actions* (oldest first), dropping the oldest beyond ``maxlen``."""
        kept, triples, maxlen = self.kept, self._triples, self.maxlen
        rescan = False
        for action in actions:
            position = self.pushed
            self.pushed = position + 1
            self.append(action)
            url = url_of(action)
            if url:
                start = stamp(action, "timestamp_start")
                if len(kept) >= 2:
                    a, b = kept[-2][1], kept[-1][1]
                    hit = a == url and a != b
                    triples.append(hit)
                    if hit:
                        self.cycles += 1
                        self.last_pair = (a, b)
                if kept and kept[-1][1] == url:
                    self.run_actions += 1
                    if self.run_start is None:
                        self.run_start = start
                else:
                    self.run_from, self.run_actions, self.run_start = position, 1, start
                kept.append((position, url, start, stamp(action, "timestamp_end")))
            if maxlen is not None and position >= maxlen:
                oldest = position - maxlen + 1
                while kept and kept[0][0] < oldest:
                    kept.popleft()
                    if triples:
                        self.cycles -= triples.popleft()
                if self.run_from < oldest:
                    rescan = True
        if rescan:
            self._rescan_run()

    def _rescan_run(self) -> None:
        """Recount the trailing run after its first actions fell out of the window."""
        kept = self.kept
        if not kept:
            self.run_from, self.run_actions, self.run_start = self.pushed, 0, None
            return
        url = kept[-1][1]
        count, start, first = 0, None, kept[-1][0]
        for position, u, s, _ in reversed(kept):
            if u != url:
                break
            count += 1
            first = position
            if s is not None:
                start = s
        self.run_from, self.run_actions, self.run_start = first, count, start

    def kept_urls(self) -> list[str]:
        """The stripped non-blank URLs in the window, oldest first."""
        return [k[1] for k in self.kept]
