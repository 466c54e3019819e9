"""Activity notes for linked conversations, by the delivery manager's policy.

Before a session is linked, its payloads are buffered (only those of the last
``prelink_window_s`` seconds are kept) and go out as ONE note when it is linked;
after linking, payloads arriving within ``post_link_debounce_s`` of the first are
coalesced into one note. Time is the relay's driven clock, so a replay coalesces
exactly as the live run did. A note handed out is queued in the outbox, where a
failed post is retried or dead-lettered, never dropped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from autoplay_cli.session.manager import (
    DEFAULT_POST_LINK_DEBOUNCE_S,
    DEFAULT_PRELINK_WINDOW_S,
)


def note_body(payloads: list[Any]) -> str:
    """:func:`~autoplay_cli.session.manager.render_note` of *payloads* (wire models or the
    stream's fast views), without building a model per payload.

    Summaries first (each under its ``Session …`` header), then every action of the
    batches, re-indexed from 0, under one header naming the first batch's session: the
    text the delivery manager's merged batch gives. A view keeps the nulls the models turn
    into ``""`` or 0; ``or ""``, ``or 0`` and ``lower()`` give the models' values.
    """
    parts = []
    lines: list[str] = []
    session = None
    for p in payloads:
        if p.type == "summary":
            parts.append(summary_text(p))
            continue
        actions = p.actions
        if not actions:
            continue
        session = session or p.session_id
        for a in actions:
            lines.append(
                f"[{len(lines)}] {(a.type or '').lower()}: {a.description or ''} — "
                f"{a.canonical_url}"
            )
    if lines:
        n = len(lines)
        lines.insert(0, f"Session {session or 'unknown'} — {n} action{'s' * (n != 1)}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def summary_text(p: Any) -> str:
    """:func:`~autoplay_cli.wire.payload_text` of a summary, read off a model or a view."""
    n = p.replaces or 0
    header = f"Session {p.session_id or 'unknown'} — summary of {n} action{'s' * (n != 1)}"
    return f"{header}\n{p.summary or ''}"


def buffered_json(payload: Any) -> str:
    """*payload* as JSON text (to persist a buffer)."""
    from pydantic import BaseModel

    if isinstance(payload, BaseModel):
        from autoplay_cli.wire import payload_json

        return payload_json(payload)  # type: ignore[arg-type]
    import msgspec

    return msgspec.json.encode(payload).decode()


# One buffered payload: (time, the stream event id that brought it, the payload). A
# tuple, not an object: holding a stream view (which the collector does not track), the
# collector stops tracking it once seen, so long pre-link buffers cost collections less.
Item = tuple[float, str, Any]


@dataclass(slots=True)
class Buffer:
    """A session's unsent payloads; ``opened_at`` starts a post-link coalescing window."""

    items: list[Item] = field(default_factory=list)
    conversation_id: str | None = None
    opened_at: float | None = None
    # The items' JSON (by id of the payload), made once when first persisted.
    texts: dict[int, str] | None = None

    def json(self, payload: Any) -> str:
        texts = self.texts
        if texts is None:
            texts = self.texts = {}
        text = texts.get(id(payload))
        if text is None:
            text = texts[id(payload)] = buffered_json(payload)
        return text


@dataclass(frozen=True, slots=True)
class Note:
    """One note to post: its conversation, body and the events it covers."""

    session_id: str
    conversation_id: str
    body: str
    event_ids: tuple[str, ...]
    payloads: tuple[Any, ...]


class NotePolicy:
    """Buffers payloads per session and hands out notes when the policy says so."""

    def __init__(
        self,
        *,
        prelink_window_s: float = DEFAULT_PRELINK_WINDOW_S,
        post_link_debounce_s: float = DEFAULT_POST_LINK_DEBOUNCE_S,
    ) -> None:
        self.prelink_window_s = float(prelink_window_s)
        self.post_link_debounce_s = float(post_link_debounce_s)
        self.buffers: dict[str, Buffer] = {}
        self._open: dict[str, float] = {}  # linked sessions with a window open -> its end
        # (end, session) in time order; an entry not matching _open is stale and skipped,
        # so asking what is due costs no scan of every open window per event. Read-only
        # outside: its first entry (maybe stale) is no later than any window's end.
        self.ends: list[tuple[float, str]] = []
        self.dropped_stale = 0  # pre-link payloads older than the window (policy, not loss)

    def add(
        self, session_id: str, conversation_id: str | None, now: float, event_id: str, payload: Any
    ) -> Note | None:
        """Buffer one payload; a note when it can go out at once (no coalescing window)."""
        buffer = self.buffers.get(session_id)
        if buffer is None:
            buffer = self.buffers[session_id] = Buffer()
        if conversation_id is not None:
            buffer.conversation_id = conversation_id
        items = buffer.items
        items.append((now, event_id, payload))
        if buffer.conversation_id is None:
            if items[0][0] < now - self.prelink_window_s:
                self._prune(buffer, now)
            return None
        if self.post_link_debounce_s == 0:
            return self._take(session_id)
        if buffer.opened_at is None:
            buffer.opened_at = now
            self._opens(session_id, now + self.post_link_debounce_s)
        return None

    def _opens(self, session_id: str, end: float) -> None:
        self._open.pop(session_id, None)  # re-opened: it goes last, like a new key
        self._open[session_id] = end
        heapq.heappush(self.ends, (end, session_id))

    def link(self, session_id: str, conversation_id: str, now: float) -> Note | None:
        """The session is linked: the pre-link buffer (within the window) as one note."""
        buffer = self.buffers.get(session_id)
        if buffer is None:
            self.buffers[session_id] = Buffer(conversation_id=conversation_id)
            return None
        if buffer.conversation_id is None:
            self._prune(buffer, now)
        buffer.conversation_id = conversation_id
        return self._take(session_id)

    def linked(self, session_id: str) -> str | None:
        buffer = self.buffers.get(session_id)
        return buffer.conversation_id if buffer is not None else None

    def due(self, now: float) -> list[Note]:
        """Notes whose coalescing window has ended by *now*."""
        ends, open_ = self.ends, self._open
        if not ends or ends[0][0] > now:
            return []
        ready = set()
        while ends and ends[0][0] <= now:
            end, sid = heapq.heappop(ends)
            if open_.get(sid) == end:
                ready.add(sid)
        if len(ready) > 1:
            # In the order the windows opened (the order of _open), not the heap's.
            position = {sid: i for i, sid in enumerate(open_) if sid in ready}
            order = sorted(ready, key=position.__getitem__)
        else:
            order = list(ready)
        return [n for sid in order if (n := self._take(sid)) is not None]

    @property
    def next_due(self) -> float | None:
        ends, open_ = self.ends, self._open
        while ends and open_.get(ends[0][1]) != ends[0][0]:
            heapq.heappop(ends)
        return ends[0][0] if ends else None

    def drain(self) -> list[Note]:
        """Every linked session's buffered payloads, now (shutdown, end of a replay)."""
        sids = [s for s, b in self.buffers.items() if b.conversation_id and b.items]
        return [n for sid in sids if (n := self._take(sid)) is not None]

    def waiting(self, session_id: str) -> bool:
        """Does a linked session hold payloads for a note still to come?"""
        buffer = self.buffers.get(session_id)
        return buffer is not None and buffer.conversation_id is not None and bool(buffer.items)

    def pending(self, session_id: str) -> int:
        buffer = self.buffers.get(session_id)
        return len(buffer.items) if buffer is not None else 0

    def _prune(self, buffer: Buffer, now: float) -> None:
        horizon = now - self.prelink_window_s
        if buffer.items and buffer.items[0][0] < horizon:
            kept = [i for i in buffer.items if i[0] >= horizon]
            self.dropped_stale += len(buffer.items) - len(kept)
            buffer.items = kept
            if buffer.texts:  # an id must not outlive its payload (ids are reused)
                alive = {id(i[2]) for i in kept}
                buffer.texts = {k: v for k, v in buffer.texts.items() if k in alive}

    def _take(self, session_id: str) -> Note | None:
        buffer = self.buffers[session_id]
        self._open.pop(session_id, None)
        buffer.opened_at = None
        items, buffer.items = buffer.items, []
        buffer.texts = None
        if not items or buffer.conversation_id is None:
            return None
        payloads = [i[2] for i in items]
        return Note(
            session_id,
            buffer.conversation_id,
            note_body(payloads),
            tuple([i[1] for i in items]),
            tuple(payloads),
        )

    # -- persistence ---------------------------------------------------------

    def dump(self, session_id: str) -> list[Any] | None:
        """*session_id*'s buffer as JSON-ready data (``None`` when there is none)."""
        buffer = self.buffers.get(session_id)
        if buffer is None:
            return None
        return [
            buffer.conversation_id,
            buffer.opened_at,
            [[t, e, buffer.json(p)] for t, e, p in buffer.items],
        ]

    def restore(self, session_id: str, data: Any) -> None:
        """Undo :meth:`dump` (a session loaded from the store after a restart)."""
        from autoplay_cli.wire import parse_payload

        conversation_id, opened_at, items = data
        import json

        buffer = Buffer([], conversation_id, opened_at, {})
        for t, e, p in items:
            payload = parse_payload(json.loads(p))
            buffer.items.append((float(t), str(e), payload))
            buffer.texts[id(payload)] = p  # type: ignore[index]
        self.buffers[session_id] = buffer
        if opened_at is not None:
            self._opens(session_id, float(opened_at) + self.post_link_debounce_s)

    def sweep(self, now: float) -> int:
        """Forget unlinked sessions whose buffered payloads all left the window; how many."""
        horizon = now - self.prelink_window_s
        stale = [
            sid
            for sid, b in self.buffers.items()
            if b.conversation_id is None and (not b.items or b.items[-1][0] < horizon)
        ]
        for sid in stale:
            self.dropped_stale += len(self.buffers[sid].items)
            self.forget(sid)
        return len(stale)

    def forget(self, session_id: str) -> None:
        self.buffers.pop(session_id, None)
        self._open.pop(session_id, None)
