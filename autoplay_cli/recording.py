"""The NDJSON envelope shared by ``tail --json``, ``tail --record``, ``--replay`` and ``simulate``.

One JSON object per line::

    {"id": "42", "event": "actions", "received_at": 1767225600.5, "payload": {...}}

``id`` is the SSE event id (or null), ``event`` the payload type, ``received_at``
unix seconds, ``payload`` the wire payload with unknown fields kept.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from autoplay_cli.errors import InputError
from autoplay_cli.wire import Payload, parse_payload


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One envelope: an event id, the payload, and when it was received."""

    id: str | None
    received_at: float
    payload: Payload
    line: int = 0

    @property
    def event(self) -> str:
        return self.payload.type

    def to_envelope(self) -> dict[str, Any]:
        return envelope(self.id, self.payload, self.received_at)


def envelope(event_id: str | None, payload: Payload, received_at: float) -> dict[str, Any]:
    """The envelope dict for one received payload."""
    return {
        "id": event_id,
        "event": payload.type,
        "received_at": received_at,
        "payload": payload.to_wire(),
    }


_encode_scalar = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_str = json.encoder.encode_basestring  # what ensure_ascii=False uses for a str


def dumps_envelope(event_id: str | None, payload: Payload, received_at: float) -> str:
    """The envelope as one compact JSON line (no trailing newline).

    Equal, as JSON, to ``json.dumps(envelope(...))`` (a float may be spelled
    ``1.5e-7`` instead of ``1.5e-07``), but built around pydantic's own
    serializer, which is several times faster on the hot path of ``tail --json``.
    """
    rid = _encode_str(event_id) if type(event_id) is str else _encode_scalar(event_id)
    at = (
        float.__repr__(received_at)
        if type(received_at) is float and math.isfinite(received_at)
        else _encode_scalar(received_at)
    )
    return (
        f'{{"id":{rid},"event":"{payload.type}","received_at":{at},"payload":'
        # model_dump_json() minus its keyword handling: the same bytes, one call less.
        f"{payload.__pydantic_serializer__.to_json(payload).decode()}}}"
    )


def parse_envelope_line(line: str, *, where: str = "<line>") -> RecordedEvent:
    """Parse one NDJSON envelope line; errors name *where* (``file:line``)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not JSON ({exc.msg})",
            hint="each line must be one envelope from `autoplay tail --json`",
        ) from exc
    if not isinstance(obj, dict) or "payload" not in obj:
        raise InputError(
            f"{where}: not an envelope (no 'payload' field)",
            hint="record with `autoplay tail --record FILE` or `--json`",
        )
    received_at = obj.get("received_at")
    if (
        not isinstance(received_at, int | float)
        or isinstance(received_at, bool)
        or not -1e300 < received_at < 1e300
    ):
        # NaN, infinity or a huge int would make `--replay --speed` wait forever (or crash).
        raise InputError(f"{where}: 'received_at' must be a number of unix seconds")
    event_id = obj.get("id")
    try:
        payload = parse_payload(obj["payload"])
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}", hint=exc.hint) from exc
    return RecordedEvent(None if event_id is None else str(event_id), float(received_at), payload)


def iter_recording(path: str | os.PathLike[str]) -> Iterator[RecordedEvent]:
    """Yield the envelopes of an NDJSON recording; blank lines are skipped."""
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"recording {p} does not exist", hint="check the path") from exc
    except OSError as exc:
        raise InputError(f"cannot read recording {p}: {exc.strerror}") from exc
    with fh:
        try:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    event = parse_envelope_line(line, where=f"{p}:{number}")
                    yield RecordedEvent(event.id, event.received_at, event.payload, number)
        except UnicodeDecodeError as exc:
            raise InputError(f"recording {p} is not UTF-8 text") from exc


class RecordingWriter:
    """Appends envelopes to an NDJSON file, one flushed line per event."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[str] = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot open {self.path} for recording: {exc.strerror}",
                hint="check the directory exists and is writable",
            ) from exc

    def write(self, event_id: str | None, payload: Payload, received_at: float) -> None:
        self._fh.write(dumps_envelope(event_id, payload, received_at) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
