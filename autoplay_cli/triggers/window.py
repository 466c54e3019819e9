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

_INF = math.inf


def url_of(action: ActionLike) -> str:
    """The action's canonical URL, stripped; ``""`` when blank or missing."""
    url = getattr(action, "canonical_url", None)
    return url.strip() if isinstance(url, str) else ""


def stamp(action: ActionLike, name: str) -> float | None:
    """A timestamp as epoch seconds, or ``None`` when missing, zero, negative or not finite."""
    value = getattr(action, name, None)
    if type(value) is float:  # the usual case, without the general checks below
        return value if 0.0 < value < _INF else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


class ActionWindow(deque[Any]):
    """The last ``maxlen`` actions of a session, with aggregates kept by :meth:`push`.

    Iterating yields the raw actions, so a window is a drop-in for the plain deque
    a trigger or a store reads. Add actions with :meth:`push` only: the aggregates
    do not see actions added with the deque's own methods.

    Positions are absolute (the n-th action ever pushed); the window holds
    positions ``pushed - len(self)`` to ``pushed - 1``. Only actions with a
    canonical URL (stripped, non-blank) count for the aggregates.
    """

    # Slots: one window per session, created on its first batch and read on every one.
    __slots__ = (
        "_a",
        "_b",
        "_hits",
        "_pa",
        "_pb",
        "last",
        "last_pair",
        "pushed",
        "run_actions",
        "run_from",
        "run_start",
    )

    def __init__(self, actions: Iterable[ActionLike] = (), maxlen: int | None = None) -> None:
        deque.__init__(self, (), maxlen)
        self.pushed = 0
        # The positions of the A of every A→B→A triple of consecutive URLs in the window:
        # a triple leaves the window with its A, and its B and second A come later.
        self._hits: deque[int] = deque()
        # The last triple's A and B (meaningful while cycles > 0: the newest triple
        # is the last to leave).
        self.last_pair: tuple[str, str] = ("", "")
        # The last two URLs with their positions (a triple's A and B, should the next be A).
        self._pa, self._a, self._pb, self._b = -1, "", -1, ""
        # The trailing run on the last URL: at most the position of its first action in
        # the window (exact while that is in the window), its size, the first known start
        # among its actions, and its last action.
        self.run_from = 0
        self.run_actions = 0
        self.run_start: float | None = None
        self.last: ActionLike | None = None
        if actions:  # most windows start empty: no push call for them
            self.push(actions)

    @property
    def cycles(self) -> int:
        """How many A→B→A triples of consecutive URLs the window holds."""
        return len(self._hits)

    @property
    def run_url(self) -> str:
        """The last URL in the window (meaningful while ``run_actions`` > 0)."""
        return self._b

    def push(self, actions: Iterable[ActionLike]) -> None:
        """Append *actions* (oldest first), dropping the oldest beyond ``maxlen``."""
        if type(actions) is not list and not isinstance(actions, list | tuple):
            actions = list(actions)
        self.extend(actions)
        hits = self._hits
        position = self.pushed
        # One name per statement: an assignment of four or more names builds and
        # unpacks a tuple (three or fewer compile to stack swaps).
        pa = self._pa
        a = self._a
        pb = self._pb
        b = self._b
        run_from, run_actions, run_start = self.run_from, self.run_actions, self.run_start
        last = self.last
        for action in actions:
            try:  # getattr(action, "canonical_url", None) without a call per action
                url = action.canonical_url
            except AttributeError:
                url = None
            if url:
                url = url.strip() if type(url) is str or isinstance(url, str) else ""
            if url:
                if url == b:
                    run_actions += 1
                    if run_start is None:
                        run_start = stamp(action, "timestamp_start")
                else:
                    if url == a:  # and so a != b: A→B→A
                        hits.append(pa)
                        self.last_pair = (a, b)
                    run_from, run_actions = position, 1
                    try:
                        start = action.timestamp_start
                    except AttributeError:
                        start = None
                    # stamp(action, "timestamp_start"), its usual case inline.
                    if type(start) is float:
                        run_start = start if 0.0 < start < _INF else None
                    else:
                        run_start = stamp(action, "timestamp_start")
                pa = pb  # (pa, a, pb, b = pb, b, position, url without a tuple)
                a = b
                pb = position
                b = url
                last = action
            position += 1
        self.pushed = position
        self._pa = pa
        self._a = a
        self._pb = pb
        self._b = b
        self.run_from, self.run_actions, self.run_start = run_from, run_actions, run_start
        self.last = last
        oldest = position - len(self)
        while hits and hits[0] < oldest:
            hits.popleft()
        if run_from < oldest and run_actions:
            self._rescan_run()

    def _rescan_run(self) -> None:
        """Recount the trailing run after its first actions fell out of the window."""
        url, count, start = "", 0, None
        first = position = self.pushed
        for action in reversed(self):
            position -= 1
            u = url_of(action)
            if not u:
                continue
            if not url:
                url = u
            elif u != url:
                break
            count += 1
            first = position
            s = stamp(action, "timestamp_start")
            if s is not None:
                start = s
        self.run_from, self.run_actions, self.run_start = first, count, start

    def kept_urls(self) -> list[str]:
        """The stripped non-blank URLs in the window, oldest first."""
        return [u for u in map(url_of, self) if u]
