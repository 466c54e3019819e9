"""A chunk-level Server-Sent Events decoder following the WHATWG event-stream rules.

Network chunks in, complete events out: a chunk's line ends are made LF on its bytes, then
it is decoded and split into frames (a regular expression for a frame's head, str.find
for its data) or lines; an incomplete trailing line waits for more bytes.
"""

from __future__ import annotations

import codecs
import re
from typing import AnyStr, NamedTuple

#: The default cap on one line and on one frame's data, in characters (16 MiB of ASCII).
DEFAULT_MAX_SIZE = 16 * 1024 * 1024


class SSEEvent(NamedTuple):
    """One dispatched event: its type (``""`` when the frame had no ``event:``), data, last id.

    :meth:`SSEDecoder.feed` returns plain ``(event, data, id)`` tuples, equal to these
    (building a named tuple costs a Python call per event on the hot path).
    """

    event: str
    data: str
    id: str


Frame = tuple[str, str, str]

# The head of a frame as servers write it: optional `id:` and `event:` lines in either
# order, then `data:` (the one optional space after each colon dropped). Its data line
# and the blank line after it are found with str.find (a memchr, several times faster
# than the regex engine stepping through the ~1 KB of a payload); a frame that is not
# usual is decoded line by line. The match is anchored where the previous frame or line
# ended, so decoding is linear in the text whatever shape its lines have (a search for
# the next usual frame would rescan the rest of the text once per frame on a stream
# that has none). The quantifiers are possessive: a line that is not a frame's head
# fails after one scan of it, not one per character.
_FRAME_HEAD = re.compile(
    r"(?:id: ?+([^\n\0]*+)\n)?(?:event: ?+([^\n]*+)\n)?(?:id: ?+([^\n\0]*+)\n)?data: ?+"
)
# What :meth:`SSEDecoder._line_ends` needs, spelled as bytes and as text: CR, LF, CRLF,
# the empty string, and a CR that does not start a CRLF.
_Spelling = tuple[AnyStr, AnyStr, AnyStr, AnyStr, re.Pattern[AnyStr]]
_BYTES: _Spelling[bytes] = (b"\r", b"\n", b"\r\n", b"", re.compile(rb"\r(?!\n)"))
_TEXT: _Spelling[str] = ("\r", "\n", "\r\n", "", re.compile(r"\r(?!\n)"))


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

    Memory is bounded: a line, or a frame's data, longer than *max_size* characters
    makes the frame oversize. It is skipped up to its blank line (its earlier ``id:``
    still counts, so a reconnection does not fetch it again) and counted in
    :attr:`oversize`; the decoder never holds much more than *max_size* characters.
    """

    __slots__ = (
        "_cr",
        "_data",
        "_discard_line",
        "_event",
        "_id",
        "_max",
        "_pending",
        "_pending_size",
        "_size",
        "_skip",
        "_start",
        "_text",
        "last_event_id",
        "oversize",
        "retry",
    )

    def __init__(self, last_event_id: str = "", *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max = max_size
        self._pending: list[str] = []  # the incomplete last line, in pieces
        self._pending_size = 0
        self._discard_line = False  # the rest of an oversize line is dropped up to its end
        self._skip = False  # an oversize frame is dropped up to its blank line
        self._cr = False  # the previous chunk ended with \r: a leading \n completes it
        self._start = True  # nothing decoded yet: a BOM may still come
        self._event = ""
        self._data: list[str] = []
        self._size = 0  # characters in _data
        # The last-event-id buffer starts at the previous connection's resume point, so a
        # new connection's id-less frames keep it (only an explicit empty `id:` clears it).
        self._id = last_event_id
        #: The id that applies to the next reconnection (WHATWG "last event ID string").
        self.last_event_id = last_event_id
        #: The reconnection time the server asked for, in ms (``None`` until it does).
        self.retry: int | None = None
        #: How many frames were skipped for exceeding *max_size* (malformed frames).
        self.oversize = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Every event completed by *chunk*, in order, as ``(event, data, id)``."""
        if self._cr or b"\r" in chunk:
            # On the bytes, before decoding: their replace() is several times faster
            # than str's, and a CR byte is never part of a UTF-8 sequence.
            chunk = self._line_ends(chunk, _BYTES)
        return self._lines(self._text.decode(chunk))

    def feed_text(self, text: str) -> list[Frame]:
        """Like :meth:`feed`, for text that is already decoded."""
        if self._cr or "\r" in text:
            text = self._line_ends(text, _TEXT)
        return self._lines(text)

    def _line_ends(self, text: AnyStr, spelling: _Spelling[AnyStr]) -> AnyStr:
        """*text* with ``\\n`` for every line end (a ``\\r\\n`` split across chunks too)."""
        cr, lf, crlf, empty, lone_cr = spelling
        if self._cr and text:
            self._cr = False
            if text.startswith(lf):
                text = text[1:]  # the end of a CRLF whose CR ended the previous chunk
        if cr not in text:
            return text
        # A CR at the end ends its line now, and a LF at the start of the next chunk
        # then belongs to it.
        self._cr = text.endswith(cr)
        if lf not in text:
            return text.replace(cr, lf)  # CR line ends only (a same-length replace)
        # The stream's own line ends are CRLF unless some CR stands alone: then dropping
        # every CR is enough (it costs a fraction of replacing each CRLF). The search for a
        # lone CR scans the text once in C; a trailing CR is a line end whatever follows.
        last = len(text) - 1 if self._cr else len(text)
        if lone_cr.search(text, 0, last) is None:
            return text[:last].replace(cr, empty) + lf if self._cr else text.replace(cr, empty)
        return text.replace(crlf, lf).replace(cr, lf)  # mixed line ends: still linear

    def _lines(self, text: str) -> list[Frame]:
        """The events completed by *text*, whose lines all end with ``\\n``."""
        if not text:
            return []
        if self._start:
            self._start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._discard_line:
            cut = text.find("\n")
            if cut < 0:
                return []
            self._discard_line = False
            text = text[cut + 1 :]
        if "\n" not in text:
            if text:
                self._hold(text)
            return []
        if self._pending:
            self._pending.append(text)
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        end = text.rfind("\n") + 1
        if end == len(text):
            return self._frames(text)
        # The whole lines first: an oversize unfinished line skips what follows them.
        out = self._frames(text[:end])
        self._hold(text[end:])
        return out

    def _hold(self, piece: str) -> None:
        """Keep *piece* of an unfinished line, unless the line grows past the cap."""
        self._pending_size += len(piece)
        if self._pending_size <= self._max:
            self._pending.append(piece)
            return
        self._pending.clear()
        self._pending_size = 0
        self._discard_line = True
        self._oversize()

    def _oversize(self) -> None:
        """Drop the current frame: everything up to its blank line is ignored."""
        if not self._skip:
            self.oversize += 1
            self._skip = True
        self._data = []
        self._size = 0
        self._event = ""

    def _frames(self, text: str) -> list[Frame]:
        """The events of *text*, whole lines."""
        out: list[Frame] = []
        pos, size = 0, len(text)
        while pos < size:
            if self._skip:
                # Up to and including the blank line that ends the oversize frame.
                if text[pos] == "\n":
                    pos += 1
                else:
                    blank = text.find("\n\n", pos)
                    if blank < 0:
                        break
                    pos = blank + 2
                self._skip = False
                self.last_event_id = self._id
                continue
            pos = self._run(text, pos, out)
        return out

    def _run(self, text: str, pos: int, out: list[Frame]) -> int:
        """Decode *text* from *pos* into *out*: its end, or the end of an oversize line."""
        append = out.append
        find = text.find
        head = _FRAME_HEAD.match
        data, event, sse_id = self._data, self._event, self._id
        cap = self._max
        size = len(text)
        # Only a text longer than the cap can hold a line over it: then line by line.
        check = size - pos > cap
        last: str | None = None  # the id buffer at the last dispatch, if any
        while pos < size:
            if not check and (m := head(text, pos)) is not None:
                start = m.end()
                end = find("\n", start)  # the text ends with a line end
                if text.startswith("\n", end + 1):
                    # A whole usual frame (the common case), its blank line included.
                    value = text[start:end]
                    pos = end + 2
                    id1, name, id2 = m.groups()
                    if id1 is not None:
                        sse_id = id1
                    if id2 is not None:
                        sse_id = id2
                    if data:
                        # The data joined: what is held, a line break, this line.
                        if self._size + 1 + len(value) > cap:
                            # Oversize, and already complete: dropped here and now.
                            self.oversize += 1
                            self._data, self._size, self._event = [], 0, ""
                            self._id = self.last_event_id = sse_id
                            return pos
                        data.append(value)
                        value = "\n".join(data)
                        data = []
                        self._size = 0
                    append((name if name is not None else event, value, sse_id))
                    event = ""
                    last = sse_id
                    continue
            # One line (of a frame in another shape).
            end = find("\n", pos)
            line = text[pos:end]
            pos = end + 1
            if not line:
                # Dispatch: the id buffer becomes the last event id even when nothing
                # is dispatched; an empty data buffer dispatches nothing.
                last = sse_id
                if data:
                    append((event, "\n".join(data), sse_id))
                    data = []
                    self._size = 0
                elif event == "heartbeat":
                    # Not a browser: a data-less heartbeat still proves the stream is
                    # alive (doctor's "first event or heartbeat"); it carries no payload.
                    append((event, "", sse_id))
                event = ""
                continue
            if check and len(line) > cap:
                break
            field, colon, value = line.partition(":")
            if colon:
                if not field:
                    continue  # a comment
                if value[:1] == " ":
                    value = value[1:]
            if field == "data":
                # Counted as joined: a line break before every line but the first.
                self._size += len(value) + 1 if data else len(value)
                if self._size > cap:
                    break
                data.append(value)
            elif field == "event":
                event = value
            elif field == "id":
                if "\0" not in value:
                    sse_id = value
            elif field == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
            # any other field is ignored
        else:
            self._data, self._event, self._id = data, event, sse_id
            if last is not None:
                self.last_event_id = last
            return size
        # An oversize line: the frame it belongs to is dropped up to its blank line.
        self._id = sse_id
        if last is not None:
            self.last_event_id = last
        self._oversize()
        return pos
