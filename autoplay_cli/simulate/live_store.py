"""A session store of live objects, for one writer replaying a timeline as fast as it can.

It offers the session-store interface (``get_or_create/get/save/delete/update``)
without the snapshot round trip of ``MemorySessionStore``: the simulation is the
only writer, so there is nothing to protect against. Results are identical to
the snapshotting stores (tests check memory, live and Redis against each other).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from autoplay_cli.session import SessionState


class LiveSessionStore:
    """Sessions kept as the :class:`SessionState` objects themselves."""

    def __init__(
        self, *, clock: Callable[[], float], interaction_timeout_s: float, cooldown_period_s: float
    ) -> None:
        self.clock = clock
        self.interaction_timeout_s = interaction_timeout_s
        self.cooldown_period_s = cooldown_period_s
        self._states: dict[str, SessionState] = {}

    def _new(self, session_id: str, metadata: Mapping[str, Any] | None) -> SessionState:
        state = SessionState(
            session_id,
            metadata,
            clock=self.clock,
            interaction_timeout_s=self.interaction_timeout_s,
            cooldown_period_s=self.cooldown_period_s,
        )
        self._states[session_id] = state
        return state

    async def get_or_create(
        self, session_id: str, metadata: Mapping[str, Any] | None = None
    ) -> SessionState:
        return self._states.get(session_id) or self._new(session_id, metadata)

    async def get(self, session_id: str) -> SessionState | None:
        return self._states.get(session_id)

    async def save(self, state: SessionState) -> None:
        self._states[state.session_id] = state

    async def delete(self, session_id: str) -> None:
        self._states.pop(session_id, None)

    async def update(
        self,
        session_id: str,
        fn: Callable[[SessionState], Any],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionState:
        state = self._states.get(session_id) or self._new(session_id, metadata)
        result = fn(state)
        if result is not None and inspect.isawaitable(result):  # an async mutation
            await result
        return state

    async def aclose(self) -> None:
        """Nothing to release."""
