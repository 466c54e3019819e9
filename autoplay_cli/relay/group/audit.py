"""The audit trail of a relay group member: one NDJSON line per applied event.

Written only after the batch that applied the events is committed in Redis, so the
lines of all members together show every event applied exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO


class AuditLog:
    """Appends one ``{"event_id", "session_id", "member", "partition"}`` line per event."""

    def __init__(self, folder: Path, member: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in member)
        self.path = folder / f"{safe}.ndjson"
        self.member = member
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")

    def applied(self, partition: int, events: Iterable[tuple[str | None, str | None]]) -> None:
        """Record (event id, session id) pairs applied in *partition*; flushed at once."""
        if self._fh is None:
            return
        lines = [
            json.dumps(
                {
                    "event_id": eid,
                    "session_id": sid,
                    "member": self.member,
                    "partition": partition,
                },
                separators=(",", ":"),
                ensure_ascii=False,
            )
            + "\n"
            for eid, sid in events
        ]
        if lines:
            self._fh.write("".join(lines))
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
