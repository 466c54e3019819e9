"""Each user's live activity: the last 50 actions of the last 24 h, per (product, user).

Anonymous sessions (no user id) are keyed by their session id. The envelope is the
pull contract of ``GET /users/{product_id}/{user_id}/live-activity`` and of the
MCP tool ``get_live_user_activity``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import repeat
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


def _when(stamp: float, action: Any) -> float:
    """When an action happened (:func:`action_time`, read off the action).

    :meth:`LiveActivity.add` stores the time the action was received and leaves the
    timestamps to be read here, by the few reads; a record from :meth:`LiveActivity.load`
    comes with its own time.
    """
    if type(action) is dict:
        return stamp
    return float(action.timestamp_end or action.timestamp_start or stamp)


class LiveActivity:
    """In-memory live activity of one relay; ``add`` per batch, ``envelope`` to read.

    Per user, two deques side by side, oldest first: the actions (wire models or fast
    views as added, records as loaded) and for each the time it was received (a loaded
    record: its time). Two deques and no pair per action: an action added allocates
    nothing. Reading drops what is older than the retention, and :meth:`sweep` forgets
    users with nothing left (call it now and then).
    """

    def __init__(
        self, product_id: str, *, max_actions: int = MAX_ACTIONS, retention_s: float = RETENTION_S
    ) -> None:
        self.product_id = product_id
        self.max_actions = max_actions
        self.retention_s = retention_s
        self._users: dict[str, tuple[deque[float], deque[Any]]] = {}

    def __len__(self) -> int:
        return len(self._users)

    def keys(self) -> list[str]:
        """The users (and anonymous sessions) with activity held in memory."""
        return list(self._users)

    def add(self, key: str, actions: Sequence[Any], received_at: float) -> None:
        """Append *actions* (wire models or fast views, kept as they are) to *key*'s activity."""
        trail = self._users.get(key)
        if trail is None:
            trail = self._users[key] = (
                deque(maxlen=self.max_actions),
                deque(maxlen=self.max_actions),
            )
        # Records and times are made when read: most actions are never asked for.
        trail[0].extend(repeat(received_at, len(actions)))
        trail[1].extend(actions)

    def load(self, key: str, records: Iterable[tuple[float, Any]]) -> None:
        """Replace *key*'s activity (from a store): ``(time, record)``, oldest first."""
        times: deque[float] = deque(maxlen=self.max_actions)
        kept: deque[Any] = deque(maxlen=self.max_actions)
        for t, record in records:
            times.append(t)
            kept.append(record)
        self._users[key] = (times, kept)

    def actions(self, key: str, now: float, limit: int = MAX_ACTIONS) -> list[dict[str, Any]]:
        """The newest *limit* actions of the retention window, newest last."""
        trail = self._users.get(key)
        if trail is None:
            return []
        times, kept = trail
        horizon = now - self.retention_s
        while kept and _when(times[0], kept[0]) < horizon:
            times.popleft()
            kept.popleft()
        limit = max(0, min(limit, self.max_actions))
        if limit == 0 or not kept:
            return []
        return [
            action if isinstance(action, dict) else action_record(action)
            for action in list(kept)[-limit:]
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
        stale = [
            k
            for k, (times, kept) in self._users.items()
            if not kept or _when(times[-1], kept[-1]) < horizon
        ]
        for key in stale:
            del self._users[key]
        return len(stale)
