"""The NDJSON envelope shared by ``tail --json``, ``tail --record``, ``--replay`` and ``simulate``.

One JSON object per line::

    {"id": "42", "event": "actions", "received_at": 1767225600.5, "payload": {...}}

``id`` is the SSE event id (or null), ``event`` the payload type, ``received_at``
unix seconds, ``payload`` the wire payload: the frame's own JSON text when it is
strict JSON on one line, else re-serialised from the payload model.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import msgspec

from autoplay_cli.errors import AutoplayError, InputError
from autoplay_cli.wire import (
    FAST_VIEW_TYPE,
    GapEvent,
    MalformedEvent,
    Payload,
    PayloadEvent,
    UnknownEvent,
    count_is_right,
    parse_event,
    refuse_json_constant,
)


class RecordingError(AutoplayError):
    """The recording could not be written; the message says how far it got."""

    def __init__(self, path: Path, exc: OSError, last_id: str | None, written: int) -> None:
        done = f"the {written} events before it are in the file" if written else "nothing recorded"
        hint = "free some space or pick another `record` file"
        if written and last_id is not None:
            done += f", the last with id {last_id}"
            hint += f"; resume with `last_event_id` {last_id}"
        super().__init__(
            f"cannot write to the recording {path}: {exc.strerror or exc}; {done}",
            hint=hint,
            setting="record",
        )


_RAW = PayloadEvent.__dict__["raw"]  # the slot under RecordedEvent.raw


class RecordedEvent(PayloadEvent):
    """One envelope of a recording: a payload event, plus its line in the file (or 0).

    Read from a usual line, the payload's text (:attr:`raw`) is cut out of the line on
    first use: the relay and ``simulate`` read the view alone.
    """

    __slots__ = ("_line", "line")
    _line: str | None  # a usual line whose payload text is not cut out yet
    line: int

    @property  # type: ignore[override]
    def raw(self) -> str | None:
        line = self._line
        if line is not None:
            _RAW.__set__(self, _raw_payload(line))
            self._line = None
        return cast("str | None", _RAW.__get__(self))

    @raw.setter
    def raw(self, value: str | None) -> None:
        self._line = None
        _RAW.__set__(self, value)

    def __init__(
        self,
        id: str | None,
        received_at: float,
        payload: Payload | PayloadEvent,
        line: int = 0,
    ) -> None:
        if isinstance(payload, PayloadEvent):
            super().__init__(
                payload._payload,
                id,
                payload.view.type,
                payload._warnings,
                view=payload.view,
                raw=payload.raw,
                received_at=received_at,
            )
        else:
            super().__init__(payload, id, payload.type, received_at=received_at)
        self.line = line

    def to_envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.view.type,
            "received_at": self.received_at,
            "payload": json.loads(self.json),
        }

    def _key(self) -> tuple[Any, ...]:
        return (*super()._key(), self.line)

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(id={self.id!r}, received_at={self.received_at!r}, "
            f"type={self.view.type!r}, line={self.line})"
        )


def envelope(event_id: str | None, payload: Payload, received_at: float) -> dict[str, Any]:
    """The envelope dict for one payload model."""
    return {
        "id": event_id,
        "event": payload.type,
        "received_at": received_at,
        "payload": payload.to_wire(),
    }


_encode_scalar = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_str = json.encoder.encode_basestring  # what ensure_ascii=False uses for a str


def _json_time(received_at: float) -> str:
    if type(received_at) is float and math.isfinite(received_at):
        return float.__repr__(received_at)
    return _encode_scalar(received_at)


def _envelope_line(event: PayloadEvent, time_text: str) -> str:
    """The one spelling of an envelope line (no newline), its time already JSON."""
    event_id, raw = event.id, event.raw
    return (
        f'{{"id":{_encode_str(event_id) if type(event_id) is str else _encode_scalar(event_id)},'
        f'"event":"{event.view.type}","received_at":{time_text},"payload":'
        f"{raw if raw is not None else event.json}}}"
    )


def dumps_envelope(event: PayloadEvent) -> str:
    """The envelope as one compact JSON line (no trailing newline).

    Equal, as JSON, to ``json.dumps`` of the envelope; the payload is copied as
    text (a float may be spelled ``1.5e-7`` instead of ``1.5e-07``).
    """
    return _envelope_line(event, _json_time(event.received_at))


class EnvelopeWriter:
    """Collects envelope lines for a stream of events, to be written in one go.

    :meth:`add` is :func:`dumps_envelope`, with the time's text reused while
    consecutive events share it (the events of one network read do); :meth:`take`
    returns the lines collected, each ending in a newline, and starts afresh.
    """

    __slots__ = ("_at", "_at_text", "_lines")

    def __init__(self) -> None:
        self._at: float | None = None
        self._at_text = ""
        self._lines: list[str] = []

    def add(self, event: PayloadEvent) -> None:
        at = event.received_at
        if at != self._at or type(at) is not float:
            self._at, self._at_text = at, _json_time(at)
        self._lines.append(_envelope_line(event, self._at_text))

    def take(self) -> str:
        if not self._lines:
            return ""
        self._lines.append("")
        text = "\n".join(self._lines)
        self._lines.clear()
        return text

    def __len__(self) -> int:
        return len(self._lines)


class _Envelope(msgspec.Struct):
    payload: msgspec.Raw
    id: Any = None
    received_at: Any = None


_decode_envelope = msgspec.json.Decoder(_Envelope).decode
# The same envelope, its payload decoded into the fast view in the same pass.
_decode_usual = msgspec.json.Decoder(
    msgspec.defstruct(
        "_UsualEnvelope",
        [("payload", FAST_VIEW_TYPE), ("id", Any, None), ("received_at", Any, None)],
        gc=False,
    )
).decode


_new = object.__new__


def parse_envelope_line(line: str, *, where: str = "<line>") -> RecordedEvent:
    """Parse one NDJSON envelope line; errors name *where* (``file:line``).

    The payload's text is kept as it is in the line, so a replay writes the same
    bytes the live run did.
    """
    return _usual_envelope(line) or _judged_envelope(line, where)


def _usual_envelope(line: str) -> RecordedEvent | None:
    """The event of a line whose envelope and payload are as they should be, else ``None``.

    One msgspec pass decodes the envelope and its payload straight into the fast view;
    the payload's text is cut out of the line only when something reads it. Anything
    unusual (an error to report, a payload for the models) is left to
    :func:`_judged_envelope`, which judges it as it always did.
    """
    try:
        env: Any = _decode_usual(line)
    except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):
        return None
    received_at = env.received_at
    kind = type(received_at)
    if (kind is not float and kind is not int) or not -1e300 < received_at < 1e300:
        return None  # NaN fails the comparison too
    view = env.payload
    end = line.find("\n")
    if not count_is_right(view) or -1 < end < len(line) - 1:
        return None  # a miscounted batch, or a line break inside: the full judgement
    event_id = env.id
    # RecordedEvent(id, at, PayloadEvent(view=view, raw=...)) without the intermediate
    # event and the keyword handling: this runs for every line of a recording.
    event = _new(RecordedEvent)
    event._payload, event._warnings, event.view, event._line = None, (), view, line
    event.id = None if event_id is None else str(event_id)
    event.event, event.received_at, event.line = view.type, float(received_at), 0
    return event


def _raw_payload(line: str) -> str:
    """The payload's text in a line :func:`_usual_envelope` took (one pass, no decoding)."""
    return str(_decode_envelope(line).payload, "utf-8")


def _judged_envelope(line: str, where: str) -> RecordedEvent:
    """:func:`parse_envelope_line` for any line: each problem reported, payloads judged
    exactly like a live frame."""
    try:
        env = _decode_envelope(line)
    except msgspec.ValidationError as exc:
        if "$.received_at" in str(exc):  # a number too large for a float
            raise InputError(f"{where}: {_BAD_TIME}") from exc
        raise InputError(
            f"{where}: not an envelope ({_envelope_problem(exc)})",
            hint="record with `autoplay tail --record FILE` or `autoplay tail --json`",
        ) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        env = _envelope_by_json(line, where, exc)
    received_at = env.received_at
    if (
        not isinstance(received_at, int | float)
        or isinstance(received_at, bool)
        or not -1e300 < received_at < 1e300
    ):
        # NaN, infinity or a huge int would make `--replay --speed` wait forever (or crash).
        raise InputError(f"{where}: {_BAD_TIME}")
    event_id = env.id
    return RecordedEvent(
        None if event_id is None else str(event_id),
        float(received_at),
        _payload_event(bytes(env.payload).decode("utf-8"), where),
    )


def _envelope_by_json(line: str, where: str, exc: Exception) -> _Envelope:
    """Python's parser, for what msgspec refuses but JSON allows: an escaped lone surrogate.

    The payload is re-serialised (ASCII-escaped), so its text may differ from the line's.
    """
    try:
        obj = json.loads(line, parse_constant=refuse_json_constant)
    except (ValueError, RecursionError):
        raise InputError(
            f"{where}: not JSON ({exc})",
            hint="each line must be one envelope from `autoplay tail --json`",
        ) from exc
    if not isinstance(obj, dict) or "payload" not in obj:
        raise InputError(
            f"{where}: not an envelope (no 'payload' field)",
            hint="record with `autoplay tail --record FILE` or `autoplay tail --json`",
        )
    payload = msgspec.Raw(json.dumps(obj["payload"], separators=(",", ":")).encode())
    return _Envelope(payload, obj.get("id"), obj.get("received_at"))


_BAD_TIME = "'received_at' must be a number of unix seconds"


def _envelope_problem(exc: msgspec.ValidationError) -> str:
    message = str(exc)
    if message == "Object missing required field `payload`":
        return "no 'payload' field"
    if message.startswith("Expected `object`"):
        return "a JSON " + message.partition(", got `")[2].rstrip("`") + ", not an object"
    return message


def _payload_event(text: str, where: str) -> PayloadEvent:
    """The recorded payload, judged exactly like a live frame."""
    event = parse_event("message", text)
    if isinstance(event, PayloadEvent):
        return event
    if isinstance(event, MalformedEvent):
        raise InputError(f"{where}: {event.reason}")
    kind = event.type if isinstance(event, UnknownEvent) else "gap"
    assert isinstance(event, UnknownEvent | GapEvent)
    raise InputError(
        f"{where}: unknown payload type {kind!r}", hint="expected 'actions' or 'summary'"
    )


_BLOCK = 1 << 20  # bytes read at a time; lines are split out of a block in C


def _numbered_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a recording with their numbers (from 1), decoded.

    The file is read in large blocks split at newlines (an incomplete last line is a
    line too); bytes are decoded line by line, so a non-UTF-8 line is named exactly (a
    text-mode reader fails somewhere in the block it decodes ahead).
    """
    p = Path(path)
    try:
        fh = p.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"recording {p} does not exist", hint="check the path") from exc
    except OSError as exc:
        raise InputError(f"cannot read recording {p}: {exc.strerror}") from exc
    with fh:
        number = 0
        rest = b""
        try:
            while True:
                block = fh.read(_BLOCK)
                lines = block.split(b"\n")
                if rest:  # the line begun in the block before (not the block copied)
                    lines[0] = rest + lines[0]
                # The last piece has no newline yet: kept for the next block, or, at
                # the end of the file, the incomplete last line.
                rest = lines.pop() if block else b""
                for data in lines:
                    number += 1
                    try:
                        line = data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise InputError(
                            f"recording {p}:{number} is not UTF-8 text",
                            hint="a recording is NDJSON written by `autoplay tail --record`",
                        ) from None
                    # isspace() stops at a line's first character (strip() copies it).
                    if line and not line.isspace():
                        yield number, line
                if not block:
                    return
        except OSError as exc:
            raise InputError(f"cannot read recording {p}: {exc.strerror or exc}") from exc


def iter_recording(path: str | os.PathLike[str]) -> Iterator[RecordedEvent]:
    """Yield the envelopes of an NDJSON recording; blank lines are skipped."""
    p = Path(path)
    for number, line in _numbered_lines(p):
        event = _usual_envelope(line) or _judged_envelope(line, f"{p}:{number}")
        event.line = number
        yield event


def iter_recorded_views(
    path: str | os.PathLike[str],
) -> Iterator[tuple[float, Any, str | None, int]]:
    """``(received_at, view, id, line number)`` per envelope of a recording: what a
    replay needs, without a :class:`RecordedEvent` per line.

    Equal to the fields of :func:`iter_recording`'s events, with the same errors.
    """
    p = Path(path)
    decode = _decode_usual
    for number, line in _numbered_lines(p):
        # _usual_envelope inlined (this runs for every line of a replay).
        try:
            env: Any = decode(line)
        except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):
            env = None
        if env is not None:
            at = env.received_at
            kind = type(at)
            view = env.payload
            if (kind is float or kind is int) and -1e300 < at < 1e300 and count_is_right(view):
                event_id = env.id
                yield (
                    float(at),
                    view,
                    None if event_id is None else str(event_id),
                    number,
                )
                continue
        event = _judged_envelope(line, f"{p}:{number}")
        yield event.received_at, event.view, event.id, number


class RecordingWriter:
    """Appends envelopes to an NDJSON file: lines collect in :meth:`write`, and
    :meth:`flush` (``tail`` calls it after each network read; :meth:`close` too)
    writes them in one go.

    Lines the disk refuses (a full disk, say) are taken back out of the file, so the
    recording stays whole lines, and :class:`RecordingError` names the last id that
    made it (where ``--last-event-id`` resumes).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[bytes] = self.path.open("ab")
            self._size = self._fh.seek(0, os.SEEK_END)
        except OSError as exc:
            raise InputError(
                f"cannot open {self.path} for recording: {exc.strerror}",
                hint="check the directory exists and is writable",
            ) from exc
        self._pending = EnvelopeWriter()
        self._pending_last: str | None = None
        #: The id of the last event on disk (``None`` until one is), and how many are.
        self.last_id: str | None = None
        self.written = 0

    def write(self, event: PayloadEvent) -> None:
        self._pending.add(event)
        self._pending_last = event.id

    def flush(self) -> None:
        count = len(self._pending)
        if not count:
            return
        data = self._pending.take().encode()
        try:
            self._fh.write(data)
            self._fh.flush()
        except OSError as exc:
            self._take_back()
            raise RecordingError(self.path, exc, self.last_id, self.written) from exc
        self._size += len(data)
        self.last_id = self._pending_last
        self.written += count

    def _take_back(self) -> None:
        """Cut partly written lines off the file (best effort: the disk may refuse)."""
        with contextlib.suppress(OSError):
            os.truncate(self.path, self._size)
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(OSError):
            self._fh = self.path.open("ab")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
