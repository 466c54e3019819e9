"""Each user's live activity: the last 50 actions of the last 24 h, per (product, user).

Anonymous sessions (no user id) are keyed by their session id. The envelope is the
pull contract of ``GET /users/{product_id}/{user_id}/live-activity`` and of the
MCP tool ``get_live_user_activity``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

MAX_ACTIONS = 50
RETENTION_S = 86400.0
ACTION_FIELDS = (
    "type",
    "title",
    "description",
    "timestamp_start",
    "timestamp_end",
    "raw_url",
    "canonical_url",
    "index",
)


_action_fields = attrgetter(*ACTION_FIELDS)  # one C call reads all eight


def action_record(action: Any) -> dict[str, Any]:
    """The envelope's form of one action (a wire model or the stream's fast view).

    A view keeps the wire's nulls and spelling; the record is the model's form whatever
    was read (null strings ``""``, null numbers 0, the type lower-cased), so a user's
    live activity does not depend on which path decoded the batch.
    """
    kind, title, description, start, end, raw_url, canonical_url, index = _action_fields(action)
    return {
        "type": kind.lower() if kind else "",
        "title": title or "",
        "description": description or "",
        "timestamp_start": float(start or 0.0),
        "timestamp_end": float(end or 0.0),
        "raw_url": raw_url or "",
        "canonical_url": canonical_url or "",
        "index": index or 0,
    }


def action_time(record: dict[str, Any], received_at: float) -> float:
    """When an action happened: its end, else its start, else when it was received."""
    return float(record["timestamp_end"] or record["timestamp_start"] or received_at)


def activity_key(user_id: str | None, session_id: str) -> str:
    """The user the activity belongs to: the user id, else the anonymous session's id."""
    return user_id or session_id


class LiveActivity:
    """In-memory live activity of one relay; ``add`` per batch, ``envelope`` to read.

    Entries are ``(time, record)``; reading drops what is older than the retention,
    and :meth:`sweep` forgets users with nothing left (call it now and then).
    """

    def __init__(
        self, product_id: str, *, max_actions: int = MAX_ACTIONS, retention_s: float = RETENTION_S
    ) -> None:
        self.product_id = product_id
        self.max_actions = max_actions
        self.retention_s = retention_s
        # Per user: (time, action), the action a wire model, a fast view or a record dict.
        self._users: dict[str, deque[tuple[float, Any]]] = {}

    def __len__(self) -> int:
        return len(self._users)

    def keys(self) -> list[str]:
        """The users (and anonymous sessions) with activity held in memory."""
        return list(self._users)

    def add(self, key: str, actions: Iterable[Any], received_at: float) -> None:
        """Append *actions* (wire models or fast views, kept as they are) to *key*'s activity."""
        entries = self._users.get(key)
        if entries is None:
            entries = self._users[key] = deque(maxlen=self.max_actions)
        for action in actions:
            # Records are built when read: most actions are never asked for.
            when = action.timestamp_end or action.timestamp_start or received_at
            entries.append((float(when), action))

    def load(self, key: str, records: Iterable[tuple[float, Any]]) -> None:
        """Replace *key*'s activity (from a store), oldest first."""
        self._users[key] = deque(records, maxlen=self.max_actions)

    def actions(self, key: str, now: float, limit: int = MAX_ACTIONS) -> list[dict[str, Any]]:
        """The newest *limit* actions of the retention window, newest last."""
        entries = self._users.get(key)
        if not entries:
            return []
        horizon = now - self.retention_s
        while entries and entries[0][0] < horizon:
            entries.popleft()
        limit = max(0, min(limit, self.max_actions))
        if limit == 0:
            return []
        return [
            action if isinstance(action, dict) else action_record(action)
            for _, action in list(entries)[-limit:]
        ]

    def envelope(self, user_id: str, now: float, limit: int = MAX_ACTIONS) -> dict[str, Any]:
        """``{product_id, user_id, count, as_of, actions}`` for *user_id*."""
        actions = self.actions(user_id, now, limit)
        return {
            "product_id": self.product_id,
            "user_id": user_id,
            "count": len(actions),
            "as_of": now,
            "actions": actions,
        }

    def sweep(self, now: float) -> int:
        """Forget users whose newest action left the retention window; how many."""
        horizon = now - self.retention_s
        stale = [k for k, e in self._users.items() if not e or e[-1][0] < horizon]
        for key in stale:
            del self._users[key]
        return len(stale)
