"""The audit trail of a relay group member: one NDJSON line per applied event.

A batch's lines are pushed to a Redis list in the same MULTI/EXEC as its effects, then
moved to ``DIR/<member>.ndjson``: a kill -9 between the commit and the file write
loses no line (the member's next start writes it), and a crash after the write but
before the list forgot it writes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any


class AuditLog:
    """Appends one ``{"event_id", "session_id", "member", "partition"}`` line per event."""

    def __init__(self, folder: Path, member: str, key: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in member)
        self.path = folder / f"{safe}.ndjson"
        self.member = member
        self.key = key  # Redis list: committed batches not yet known to be in the file
        self._fh: IO[str] | None = None
        self._written: str | None = None  # the list's head, once this process wrote it

    def render(self, partition: int, events: Iterable[tuple[str | None, str | None]]) -> str:
        """The lines of (event id, session id) pairs applied in *partition* ('' for none)."""
        return "".join(
            json.dumps(
                {"event_id": eid, "session_id": sid, "member": self.member, "partition": partition},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            + "\n"
            for eid, sid in events
        )

    def stage(self, pipe: Any, text: str) -> None:
        """Queue *text* in the commit's transaction (see the module docstring)."""
        pipe.rpush(self.key, text)

    async def recover(self, client: Any) -> None:
        """At start: finish what a crash interrupted, then write every committed batch."""
        head = await client.lindex(self.key, 0)
        if head is not None and self.path.exists():
            # Only the head can have reached the file (batches are moved one by one, in
            # order): write the part of it that is missing, once.
            text = head.decode("utf-8")
            done = self._already_written(text)
            self._write(text[done:])
            self._written = text
        await self.flush(client)

    def _already_written(self, text: str) -> int:
        """How much of *text* the file already ends with (whole lines; a torn line goes)."""
        with self.path.open("rb+") as fh:
            size = fh.seek(0, 2)
            # Enough to hold the batch and a torn line before it.
            fh.seek(max(0, size - len(text.encode("utf-8")) - 65536))
            tail = fh.read()
            cut = tail.rfind(b"\n") + 1
            if cut < len(tail):  # a line torn by the crash: drop it, it is rewritten
                fh.truncate(size - (len(tail) - cut))
                tail = tail[:cut]
        lines = text.splitlines(keepends=True)
        for n in range(len(lines), 0, -1):
            part = "".join(lines[:n])
            if tail.endswith(part.encode("utf-8")):
                return len(part)
        return 0

    async def flush(self, client: Any) -> None:
        """Move committed batches from Redis to the file, oldest first."""
        while True:
            head = await client.lindex(self.key, 0)
            if head is None:
                return
            text = head.decode("utf-8")
            if text != self._written:
                self._write(text)
                self._written = text
            await client.lpop(self.key)
            self._written = None

    def _write(self, text: str) -> None:
        if not text:
            return
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(text)
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
