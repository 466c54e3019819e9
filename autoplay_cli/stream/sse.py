"""A chunk-level Server-Sent Events decoder following the WHATWG event-stream rules.

Network chunks in, complete events out: a chunk is decoded and split into lines
in C (``str.replace``/``str.split``), and an incomplete trailing frame waits for more bytes.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple


class SSEEvent(NamedTuple):
    """One dispatched event: its type (``""`` when the frame had no ``event:``), data, last id.

    :meth:`SSEDecoder.feed` returns plain ``(event, data, id)`` tuples, equal to these
    (building a named tuple costs a Python call per event on the hot path).
    """

    event: str
    data: str
    id: str


Frame = tuple[str, str, str]

# `id: X` (no NUL) and `event: Y` lines, each optional, then one `data: Z` line and the
# blank line: what a connector writes. Single spaces after the colons, as the rules strip.
_USUAL_FRAME = re.compile(r"(?:id: ([^\n\0]*)\n)?(?:event: ([^\n]*)\n)?data: ([^\n]*)\n\n")


class SSEDecoder:
    """Incremental decoder of one ``text/event-stream`` body (one connection).

    Follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation:
    UTF-8 with replacement and one leading BOM dropped; ``\\r\\n``, ``\\r`` and ``\\n`` end
    lines (a ``\\r\\n`` split across chunks is one line end); ``:`` lines are comments; a
    field without a colon has an empty value; one space after the colon is dropped;
    ``data`` lines are joined with ``\\n``; an ``id`` containing NUL is ignored; ``retry``
    is honoured only when it is all ASCII digits; the last event id persists across
    events; a frame whose data buffer is empty is not dispatched; the event type is
    reset after every frame.
    """

    __slots__ = (
        "_cr",
        "_data",
        "_event",
        "_id",
        "_pending",
        "_start",
        "_text",
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: str = "") -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # the incomplete last line, in pieces
        self._cr = False  # the previous chunk ended with \r: a leading \n completes it
        self._start = True  # nothing decoded yet: a BOM may still come
        self._event = ""
        self._data: list[str] = []
        # The last-event-id buffer starts at the previous connection's resume point, so a
        # new connection's id-less frames keep it (only an explicit empty `id:` clears it).
        self._id = last_event_id
        #: The id that applies to the next reconnection (WHATWG "last event ID string").
        self.last_event_id = last_event_id
        #: The reconnection time the server asked for, in ms (``None`` until it does).
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Frame]:
        """Every event completed by *chunk*, in order, as ``(event, data, id)``."""
        return self.feed_text(self._text.decode(chunk))

    def feed_text(self, text: str) -> list[Frame]:
        """Like :meth:`feed`, for text that is already decoded."""
        if not text:
            return []
        if self._start:
            self._start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._cr:
            self._cr = False
            if text[:1] == "\n":
                text = text[1:]
        if "\r" in text:
            # Normalise the rare CR line ends so that one split on \n finds every line.
            self._cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            if text:
                self._pending.append(text)
            return []
        if self._pending:
            self._pending.append(text)
            text = "".join(self._pending)
            self._pending.clear()
        end = text.rfind("\n") + 1
        if end < len(text):
            self._pending.append(text[end:])
            text = text[:end]
        return self._frames(text)

    def _frames(self, text: str) -> list[Frame]:
        """The events of *text*, whole lines: usual frames by regex, the rest line by line."""
        out: list[Frame] = []
        append = out.append
        pos, size = 0, len(text)
        while pos < size:
            if not self._data and not self._event:
                # Frames as connectors write them, one C call each: [id] [event] data, blank.
                last_id, start = self._id, pos
                for m in _USUAL_FRAME.finditer(text, pos):
                    if m.start() != pos:
                        break
                    sse_id, event, data = m.groups()
                    if sse_id is not None:
                        last_id = sse_id
                    append((event or "", data, last_id))
                    pos = m.end()
                if pos != start:  # frames were dispatched: their id is the resume point
                    self._id = self.last_event_id = last_id
                if pos >= size:
                    break
            # Anything else, up to and including the next blank line, by the rules.
            if text[pos] == "\n":
                stop = pos + 1  # a blank line alone
            else:
                blank = text.find("\n\n", pos)
                stop = blank + 2 if blank >= 0 else size
            out += self._lines(text[pos : stop - 1].split("\n"))
            pos = stop
        return out

    def _lines(self, lines: list[str]) -> list[Frame]:
        out: list[Frame] = []
        data = self._data
        event = self._event
        for line in lines:
            if not line:
                # Dispatch: the id buffer becomes the last event id even when nothing
                # is dispatched; an empty data buffer dispatches nothing.
                self.last_event_id = self._id
                if data:
                    out.append((event, "\n".join(data), self._id))
                    data = []
                elif event == "heartbeat":
                    # Not a browser: a data-less heartbeat still proves the stream is
                    # alive (doctor's "first event or heartbeat"); it carries no payload.
                    out.append((event, "", self._id))
                event = ""
                continue
            # The usual spellings in one slice each (what the general path does).
            if line[:6] == "data: ":
                data.append(line[6:])
                continue
            if line[:4] == "id: ":
                if "\0" not in line:
                    self._id = line[4:]
                continue
            if line[:7] == "event: ":
                event = line[7:]
                continue
            name, colon, value = line.partition(":")
            if colon:
                if not name:
                    continue  # a comment
                if value[:1] == " ":
                    value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    self._id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
            # any other field is ignored
        self._data = data
        self._event = event
        return out
