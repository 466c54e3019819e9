"""Simulation input: scenario files, recordings, and generated sessions, as one timeline.

A scenario is NDJSON (one JSON object per line; blank lines and ``#`` comments
allowed): an optional header, chat-side steps on a timeline, embedded action
batches, recording envelopes, and ``include`` lines that splice in a recording
made by ``autoplay tail --record``. Format reference: README, ``autoplay simulate``.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import Document, FastDecoder, decode_line, describe
from autoplay_cli.errors import InputError

if TYPE_CHECKING:
    from autoplay_cli.wire import ActionsPayload, SummaryPayload

DEFAULT_START = 1767225600.0  # 2026-01-01T00:00:00Z, the emulator's default epoch too
# Virtual times must be dates a report can print (1970 to 9999) and fine enough for
# a timeout to add to: a float near 1e300 cannot tell t from t + 20 s.
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z

_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_LINK_EVENTS = {"new": "new", "reply": "reply_existing", "reply_existing": "reply_existing"}

# --- the declared line types -----------------------------------------------------------------
# A step is tagged by its `event`; parse_clock and parse_start then read the times.

# int kept apart from float so that messages show a value as written.
Clock = Annotated[
    int | float | str, Meta(description='seconds from the scenario start, or "M:SS" / "H:MM:SS"')
]
Start = Annotated[
    int | float | str,
    Meta(description="unix seconds or an ISO date-time with a timezone"),
]
Text = Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]
SessionId = Annotated[str, Meta(pattern=r"\S", description="a non-empty session id")]
Seconds = Annotated[float, Meta(ge=0, description="seconds ≥ 0")]
OptStr = str | None | UnsetType


class _Header(msgspec.Struct, forbid_unknown_fields=True):
    scenario: Annotated[str, Meta(pattern=r"\S", description="a non-empty name")]
    description: str = ""
    start: Start | UnsetType = UNSET
    config: Annotated[str, Meta(pattern=r"\S", description="a path to a trigger config")] | None = (
        None
    )


class _Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event"):
    at: Clock
    note: str = ""


class _Include(_Event, tag="include"):
    recording: Annotated[str, Meta(pattern=r"\S", description="a path to a recording")]


class _Chat(_Event):
    """A chat-side step; its own fields (present ones only) become the event's args."""

    session: SessionId

    @property
    def kind(self) -> str:
        return str(self.__struct_config__.tag)

    def args(self) -> dict[str, Any]:
        return {
            f: v
            for f in self.__struct_fields__
            if f not in _CHAT_COMMON and (v := getattr(self, f)) is not UNSET
        }


class _OpenChat(_Chat, tag="open_chat"):
    """The user opens the chat."""


class _Message(_Chat, tag="message"):
    text: Text | UnsetType = UNSET


class _OptionClick(_Chat, tag="option_click"):
    chip: Text | UnsetType = UNSET


class _Reaction(_Chat, tag="reaction"):
    emoji: Text | UnsetType = UNSET


class _TourStart(_Chat, tag="tour_start"):
    tour: Text | UnsetType = UNSET


class _TourStep(_Chat, tag="tour_step"):
    step: Any = UNSET  # shown as given; the engine only counts steps


class _TourEnd(_Chat, tag="tour_end"):
    """The running tour ends."""


class _Link(_Chat, tag="link"):
    conversation: Annotated[str, Meta(pattern=r"\S", description="the conversation id")]
    link: Literal["new", "reply", "reply_existing"] | UnsetType = UNSET

    def args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"conversation": self.conversation}
        if self.link is not UNSET:
            args["link"] = _LINK_EVENTS[self.link]
        return args


class _Tick(_Chat, tag="tick"):
    """An explicit tick of the session's timers."""


class _Actions(_Event, tag="actions"):
    session: SessionId
    # Each action's other keys are the payload's (the wire models check them).
    actions: Annotated[
        list[dict[str, Any]], Meta(min_length=1, description="a non-empty list of actions")
    ]
    user_id: OptStr = UNSET
    email: OptStr = UNSET
    conversation_id: OptStr = UNSET
    product_id: OptStr = UNSET


class _Timing(msgspec.Struct):
    """What an embedded action adds to the wire's fields (its other keys are ignored here)."""

    url: str | UnsetType = UNSET
    at: Clock | UnsetType = UNSET
    duration: Seconds = 0.0


_CHAT_COMMON = frozenset({"at", "note", "session"})
_NO_TIMING = _Timing()
_StepType: TypeAlias = (
    _Actions
    | _OpenChat
    | _Message
    | _OptionClick
    | _Reaction
    | _TourStart
    | _TourStep
    | _TourEnd
    | _Link
    | _Tick
    | _Include
)
# The same union as a value for msgspec (type checkers take a union for no type[T]).
_Step: Any = _StepType
_read_step: FastDecoder[_StepType] = FastDecoder(_Step)
EVENT_KINDS: tuple[str, ...] = tuple(str(t.__struct_config__.tag) for t in get_args(_Step))


@dataclass(slots=True)
class SimEvent:
    """One input event on the simulation timeline.

    ``kind`` is ``actions``, ``summary`` or a chat-side kind; ``args`` holds the
    chat event's fields (``chip``, ``tour``, ``conversation``, ``link``, …).
    ``source`` is ``file:line`` (or ``generated:<persona>``) for messages;
    ``event_id`` is the stream's event id when the event came from one (a
    recording envelope's ``id``): the relay derives delivery ids from it.
    """

    time: float
    session_id: str | None
    kind: str
    source: str
    # A wire model; the relay passes the stream's fast view (same attributes) instead.
    payload: ActionsPayload | SummaryPayload | Any = None
    args: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    event_id: str | None = None


@dataclass(slots=True)
class Scenario:
    """What one input file contributed: its events and optional header values."""

    path: str
    events: list[SimEvent]
    name: str = ""
    description: str = ""
    start: float | None = None
    config: str | None = None


@dataclass(slots=True)
class SimulationInput:
    """Every input merged into one timeline, ordered by time (stable by input order)."""

    events: list[SimEvent]
    start: float
    names: list[str]
    config: str | None = None


def parse_clock(value: Any, *, where: str) -> float:
    """Seconds from scenario start: a number, or ``"M:SS"`` / ``"H:MM:SS"`` (fractions ok)."""
    if isinstance(value, bool):
        raise InputError(f"{where}: 'at' must be seconds or \"M:SS\", got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _CLOCK.match(value.strip())):
        hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
        if secs >= 60 or (m.group(1) is not None and minutes >= 60):
            raise InputError(f"{where}: bad clock time {value!r} (minutes and seconds < 60)")
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise InputError(
            f"{where}: 'at' must be seconds or \"M:SS\", got {value!r}",
            hint='e.g. "at": 75 or "at": "1:15"',
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{where}: 'at' must be ≥ 0, got {value!r}")
    return seconds


def parse_start(value: Any, *, where: str) -> float:
    """Unix seconds, or an ISO-8601 date-time with an offset (``2026-01-01T09:00:00Z``)."""
    start: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        start = float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            start = parsed.timestamp()
    if start is not None:
        if not 0 <= start <= MAX_TIME:
            raise InputError(
                f"{where}: 'start' {value!r} is outside 1970-01-01 to 9999-12-31",
                hint='e.g. "start": "2026-01-01T09:00:00Z"',
            )
        return start
    raise InputError(
        f"{where}: 'start' must be unix seconds or an ISO date-time with a timezone, got {value!r}",
        hint='e.g. "start": "2026-01-01T09:00:00Z"',
    )


def _fmt(seconds: float) -> str:
    return f"{seconds:g} s"


def load_scenario(path: str | os.PathLike[str], *, views: bool = False) -> Scenario:
    """Parse one scenario (or plain recording) file; errors name ``file:line``.

    ``-`` reads standard input (``<stdin>:line`` in messages; includes are
    relative to the current directory). ``views``: see :func:`load_inputs`.
    """
    if str(path) == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError:
            raise InputError("standard input is not UTF-8 text") from None
        return parse_scenario(text.splitlines(), "<stdin>", views=views)
    p = Path(path)
    if p.suffix.lower() in (".toml", ".json") and p.is_file():
        return load_emulator_scenario(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p} does not exist", hint="check the path") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{p} is not UTF-8 text", hint="a scenario is NDJSON: one JSON object per line"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from exc
    return parse_scenario(text.splitlines(), str(p), views=views)


def load_emulator_scenario(path: Path) -> Scenario:
    """An ``autoplay emulate --scenario`` file (TOML/JSON): its activity, from DEFAULT_START."""
    from autoplay_cli.emulator.scenario import build, read_file
    from autoplay_cli.wire import parse_payload

    doc = read_file(path)
    scenario = Scenario(str(path), [], name=path.stem, start=DEFAULT_START)
    for item in build(doc, product_id="demo", seed=0, start=DEFAULT_START):
        payload = parse_payload(item)
        if payload.type == "actions":
            scenario.events.append(
                SimEvent(payload.forwarded_at, payload.session_id, "actions", str(path), payload)
            )
        else:
            scenario.events.append(
                SimEvent(payload.forwarded_at, payload.session_id, "summary", str(path))
            )
    return scenario


def parse_scenario(lines: Iterable[str], path: str, *, views: bool = False) -> Scenario:
    """Parse scenario *lines* read from *path* (used for messages and relative paths).

    ``views``: see :func:`load_inputs`.
    """
    from autoplay_cli.recording import parse_envelope_line

    lines = list(lines)
    scenario = Scenario(path, [])
    start: float | None = None
    # Without a header, steps count from the first pasted envelope (so chat events
    # written next to a recording's lines share its clock), else from DEFAULT_START.
    default_base = _first_envelope_time(lines, path)
    seen_event = False
    scripted = False
    counters: dict[str, int] = {}
    previous: dict[str, tuple[float, int]] = {}
    folder = Path(path).parent
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        # Most lines are steps: one msgspec call reads and checks them. Headers,
        # envelopes and mistakes take the slow way, which names what is wrong.
        step = None if '"payload"' in line or '"scenario"' in line else _read_step(line)
        if step is None and '"payload"' in line and '"scenario"' not in line:
            # Most likely an envelope: read it once, as the slow way below would after
            # decoding the whole line a first time (a failure takes the slow way, which
            # names the mistake as before).
            try:
                recorded = parse_envelope_line(line, where=where)
            except InputError:
                recorded = None
            if recorded is not None:
                seen_event = True
                _forward(previous, "\0envelopes", recorded.received_at, number, where)
                scenario.events.append(_from_envelope(recorded, where, views))
                continue
        if step is None:
            doc = decode_line(line, source=path, number=number)
            obj = doc.data
            if not isinstance(obj, dict):
                raise doc.error((), f"expected a JSON object, got {describe(obj)}")
            if "scenario" in obj:
                if seen_event or scenario.name:
                    raise InputError(
                        f"{where}: the scenario header must be the first line",
                        hint="move it to the top of the file",
                    )
                _header(doc.load(_Header), scenario, where)
                start = scenario.start
                continue
            if "payload" in obj:
                seen_event = True
                recorded = parse_envelope_line(line, where=where)
                _forward(previous, "\0envelopes", recorded.received_at, number, where)
                scenario.events.append(_from_envelope(recorded, where, views))
                continue
            if not isinstance(obj.get("event"), str):
                raise doc.error(
                    (),
                    "missing 'event'",
                    hint=f"one of: {', '.join(EVENT_KINDS)} (or a recording envelope)",
                )
            step = doc.load(_Step)
        seen_event = scripted = True
        base = default_base if start is None else start
        t = base + parse_clock(step.at, where=where)
        if isinstance(step, _Include):
            _forward(previous, "\0include", t, number, where)
            scenario.events.extend(_include(step, t, where, folder, views))
            continue
        # Each session's own lines (and recording envelopes, in received order) must
        # move forward in time; different sessions may be written one after another.
        _forward(previous, step.session, t, number, where)
        if isinstance(step, _Actions):
            payload = _actions(step, t, base, where, counters)
            scenario.events.append(
                SimEvent(t, step.session, "actions", where, payload, note=step.note)
            )
        else:
            scenario.events.append(
                SimEvent(t, step.session, step.kind, where, args=step.args(), note=step.note)
            )
    if scenario.start is None:
        # Scripted steps count from their base; a bare recording starts at its first event.
        scenario.start = (
            default_base
            if scripted
            else min((e.time for e in scenario.events), default=DEFAULT_START)
        )
    return scenario


def _forward(
    previous: dict[str, tuple[float, int]], key: str, t: float, number: int, where: str
) -> None:
    """Refuse a line whose time is before the previous line of the same session."""
    last = previous.get(key)
    if last is not None and t < last[0]:
        who = "recording envelopes" if key == "\0envelopes" else f"session {key!r}"
        raise InputError(
            f"{where}: time goes backwards for {who} ({_fmt(last[0] - t)} before the "
            f"event at line {last[1]})",
            hint="order each session's lines by time",
        )
    previous[key] = (t, number)


def _first_envelope_time(lines: Sequence[str], path: str) -> float:
    for number, line in enumerate(lines, start=1):
        if '"payload"' not in line:
            continue
        try:
            obj = decode_line(line, source=path, number=number).data
        except InputError:
            continue  # reported with its line number by the main pass
        received = obj.get("received_at") if isinstance(obj, dict) else None
        if (
            isinstance(received, int | float)
            and not isinstance(received, bool)
            and math.isfinite(received)
        ):
            return float(received)
    return DEFAULT_START


def _header(header: _Header, scenario: Scenario, where: str) -> None:
    scenario.name = header.scenario
    scenario.description = header.description
    if header.start is not UNSET:
        scenario.start = parse_start(header.start, where=where)
    else:
        scenario.start = DEFAULT_START
    if header.config is not None:
        scenario.config = os.path.normpath(
            os.path.join(os.path.dirname(scenario.path), header.config)
        )


def _from_envelope(recorded: Any, where: str, views: bool) -> SimEvent:
    # A view was judged valid when the line was read; the model is built from it on demand.
    payload = recorded.view if views else recorded.payload
    kind = "actions" if payload.type == "actions" else "summary"
    return SimEvent(
        recorded.received_at,
        payload.session_id,
        kind,
        where,
        payload,
        event_id=recorded.id,
    )


def _actions(
    step: _Actions, t: float, base: float, where: str, counters: dict[str, int]
) -> ActionsPayload:
    from autoplay_cli.wire import parse_payload

    session = step.session
    built = []
    index = counters.get(session, 0)
    for i, action in enumerate(step.actions):
        here = f"{where}: actions[{i}]"
        timing = _timing(action, where, i)
        a = dict(action)
        a.pop("at", None)
        a.pop("duration", None)
        url = a.pop("url", None)
        if url is not None:
            a.setdefault("raw_url", url)
            a.setdefault("canonical_url", url)
        start = t if timing.at is UNSET else base + parse_clock(timing.at, where=here)
        if start > t:
            raise InputError(
                f"{here}: the action starts after its batch is forwarded",
                hint="an action's 'at' must not be later than the batch's 'at'",
            )
        a.setdefault("timestamp_start", start)
        a.setdefault("timestamp_end", start + timing.duration)
        a.setdefault("index", index)
        a.setdefault("session_id", session)
        index += 1
        built.append(a)
    counters[session] = index
    data: dict[str, Any] = {
        "type": "actions",
        "session_id": session,
        "actions": built,
        "count": len(built),
        "forwarded_at": t,
    }
    for key in ("user_id", "email", "conversation_id", "product_id"):
        value = getattr(step, key)
        if value is not UNSET:
            data[key] = value
    try:
        payload = parse_payload(data)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}", hint=exc.hint) from None
    assert payload.type == "actions"
    return payload


def _timing(action: dict[str, Any], where: str, i: int) -> _Timing:
    """The keys of an embedded action that the scenario format adds (url, at, duration)."""
    if "url" not in action and "at" not in action and "duration" not in action:
        return _NO_TIMING
    return Document(action, source=where).convert(action, _Timing, ("actions", i))


def _include(step: _Include, t: float, where: str, folder: Path, views: bool) -> list[SimEvent]:
    from autoplay_cli.recording import iter_recording

    rel = step.recording
    path = os.path.normpath(os.path.join(folder, rel))
    recorded = list(iter_recording(path))
    if not recorded:
        return []
    shift = t - recorded[0].received_at
    events = []
    previous = recorded[0]
    for r in recorded:
        here = f"{path}:{r.line}"
        if r.received_at < previous.received_at:
            raise InputError(
                f"{here}: time goes backwards "
                f"({_fmt(r.received_at - previous.received_at)} before line "
                f"{previous.line})",
                hint="a recording must be in received order",
            )
        previous = r
        event = _from_envelope(r, here, views)
        event.time += shift
        events.append(event)
    return events


def load_inputs(
    paths: Sequence[str | os.PathLike[str]], generated: Sequence[Any] = (), *, views: bool = False
) -> SimulationInput:
    """Load every file and the generated sessions into one ordered timeline.

    With ``views=True``, a recording envelope's payload is the stream's fast view of it
    (as the relay replays a recording: the attributes the engine reads, no pydantic
    model per line) instead of the model (which keeps unknown fields and converts, for
    callers that write payloads out again).
    """
    scenarios = [load_scenario(p, views=views) for p in paths]
    events: list[SimEvent] = [e for s in scenarios for e in s.events]
    for session in generated:
        for batch in session.batches:
            events.append(
                SimEvent(
                    batch.forwarded_at,
                    session.session_id,
                    "actions",
                    f"generated:{session.persona}",
                    batch,
                )
            )
    # sort is stable: equal times keep file order, then line order.
    events.sort(key=lambda e: e.time)
    for event in (events[0], events[-1]) if events else ():
        if not 0 <= event.time <= MAX_TIME:
            raise InputError(
                f"{event.source}: the event's time ({event.time:g} unix seconds) is outside "
                "1970-01-01 to 9999-12-31",
                hint="check 'at' (seconds from the scenario start), 'start', or received_at",
            )
    starts = [s.start for s in scenarios if s.start is not None]
    if events:
        starts.append(events[0].time)
    configs = list(dict.fromkeys(s.config for s in scenarios if s.config))
    if len(configs) > 1:
        raise InputError(
            f"the scenarios name different trigger configs ({', '.join(configs)})",
            hint="pass one with `config`",
        )
    return SimulationInput(
        events,
        min(starts) if starts else DEFAULT_START,
        [s.name or s.path for s in scenarios],
        configs[0] if configs else None,
    )
