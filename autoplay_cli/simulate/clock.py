"""The virtual clock of a simulation: time moves only when the engine says so.

It is the ``clock`` callable handed to every :class:`SessionState`, so timeouts
and cooldowns are computed on scenario time, not on the wall clock.
"""

from __future__ import annotations


class VirtualClock:
    """A zero-argument callable returning the current virtual epoch seconds."""

    __slots__ = ("now",)

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance_to(self, t: float) -> None:
        """Move to *t*; the clock never goes backwards (a programming error if asked to)."""
        if t < self.now:
            raise ValueError(f"virtual clock cannot go back from {self.now} to {t}")
        self.now = float(t)
