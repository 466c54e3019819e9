"""Simulation input: scenario files, recordings, and generated sessions, as one timeline.

A scenario is NDJSON (one JSON object per line; blank lines and ``#`` comments
allowed): an optional header, chat-side steps on a timeline, embedded action
batches, recording envelopes, and ``include`` lines that splice in a recording
made by ``autoplay tail --record``. Format reference: README, ``autoplay simulate``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoplay_cli.errors import InputError

if TYPE_CHECKING:
    from autoplay_cli.wire import ActionsPayload, SummaryPayload

DEFAULT_START = 1767225600.0  # 2026-01-01T00:00:00Z, the emulator's default epoch too
# Virtual times must be dates a report can print (1970 to 9999) and fine enough for
# a timeout to add to: a float near 1e300 cannot tell t from t + 20 s.
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z

# Chat-side event kinds, and the extra keys each accepts (besides at/session/event/note).
CHAT_EVENTS: dict[str, frozenset[str]] = {
    "open_chat": frozenset(),
    "message": frozenset({"text"}),
    "option_click": frozenset({"chip"}),
    "reaction": frozenset({"emoji"}),
    "tour_start": frozenset({"tour"}),
    "tour_step": frozenset({"step"}),
    "tour_end": frozenset(),
    "link": frozenset({"conversation", "link"}),
    "tick": frozenset(),
}
ACTIONS_KEYS = frozenset({"actions", "user_id", "email", "conversation_id", "product_id"})
EVENT_KINDS: tuple[str, ...] = ("actions", *CHAT_EVENTS, "include")
_COMMON_KEYS = frozenset({"at", "session", "event", "note"})
_HEADER_KEYS = frozenset({"scenario", "description", "start", "config"})
_LINK_EVENTS = {"new": "new", "reply": "reply_existing", "reply_existing": "reply_existing"}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")


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


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Parse one scenario (or plain recording) file; errors name ``file:line``.

    ``-`` reads standard input (``<stdin>:line`` in messages; includes are
    relative to the current directory).
    """
    if str(path) == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError:
            raise InputError("standard input is not UTF-8 text") from None
        return parse_scenario(text.splitlines(), "<stdin>")
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
    return parse_scenario(text.splitlines(), str(p))


def load_emulator_scenario(path: Path) -> Scenario:
    """An ``autoplay emulate --scenario`` file (TOML/JSON): its activity, from DEFAULT_START."""
    from autoplay_cli.emulator.scenario import build, read_file
    from autoplay_cli.wire import parse_payload

    doc = read_file(path)
    scenario = Scenario(str(path), [], name=path.stem, start=DEFAULT_START)
    for item in build(doc, path=path, product_id="demo", seed=0, start=DEFAULT_START):
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


def parse_scenario(lines: Iterable[str], path: str) -> Scenario:
    """Parse scenario *lines* read from *path* (used for messages and relative paths)."""
    from autoplay_cli.recording import parse_envelope_line

    lines = list(lines)
    scenario = Scenario(path, [])
    start: float | None = None
    # Without a header, steps count from the first pasted envelope (so chat events
    # written next to a recording's lines share its clock), else from DEFAULT_START.
    default_base = _first_envelope_time(lines)
    seen_event = False
    scripted = False
    counters: dict[str, int] = {}
    previous: dict[str, tuple[float, int]] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{where}: not JSON ({exc.msg} at column {exc.colno})",
                hint="one JSON object per line; comments start with #",
            ) from None
        except RecursionError:
            raise InputError(f"{where}: nested too deeply to read") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object, got a {type(obj).__name__}")
        if "scenario" in obj:
            if seen_event or scenario.name:
                raise InputError(
                    f"{where}: the scenario header must be the first line",
                    hint="move it to the top of the file",
                )
            _header(obj, scenario, where)
            start = scenario.start
            continue
        seen_event = True
        events: list[SimEvent]
        if "payload" in obj:
            recorded = parse_envelope_line(line, where=where)
            events = [_from_envelope(recorded, where)]
            t = recorded.received_at
        else:
            base = default_base if start is None else start
            scripted = True
            t, events = _step(obj, base, where, Path(path).parent, counters)
        # Each session's own lines (and recording envelopes, in received order) must
        # move forward in time; different sessions may be written one after another.
        key = "\0envelopes" if "payload" in obj else str(obj.get("session", "\0include"))
        last = previous.get(key)
        if last is not None and t < last[0]:
            who = "recording envelopes" if "payload" in obj else f"session {key!r}"
            raise InputError(
                f"{where}: time goes backwards for {who} ({_fmt(last[0] - t)} before the "
                f"event at line {last[1]})",
                hint="order each session's lines by time",
            )
        previous[key] = (t, number)
        scenario.events.extend(events)
    if scenario.start is None:
        # Scripted steps count from their base; a bare recording starts at its first event.
        scenario.start = (
            default_base
            if scripted
            else min((e.time for e in scenario.events), default=DEFAULT_START)
        )
    return scenario


def _first_envelope_time(lines: Sequence[str]) -> float:
    for line in lines:
        if '"payload"' not in line:
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue  # reported with its line number by the main pass
        received = obj.get("received_at") if isinstance(obj, dict) else None
        if (
            isinstance(received, int | float)
            and not isinstance(received, bool)
            and math.isfinite(received)
        ):
            return float(received)
    return DEFAULT_START


def _header(obj: Mapping[str, Any], scenario: Scenario, where: str) -> None:
    extra = sorted(set(obj) - _HEADER_KEYS)
    if extra:
        raise InputError(
            f"{where}: unknown header key {extra[0]!r}",
            hint=f"header keys: {', '.join(sorted(_HEADER_KEYS))}",
        )
    name = obj["scenario"]
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: 'scenario' must be a non-empty name")
    scenario.name = name
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise InputError(f"{where}: 'description' must be a string")
    scenario.description = description
    if "start" in obj:
        scenario.start = parse_start(obj["start"], where=where)
    else:
        scenario.start = DEFAULT_START
    config = obj.get("config")
    if config is not None:
        if not isinstance(config, str) or not config.strip():
            raise InputError(f"{where}: 'config' must be a path to a trigger config")
        scenario.config = os.path.normpath(os.path.join(os.path.dirname(scenario.path), config))


def _from_envelope(recorded: Any, where: str) -> SimEvent:
    payload = recorded.payload
    kind = "actions" if payload.type == "actions" else "summary"
    return SimEvent(
        recorded.received_at,
        payload.session_id,
        kind,
        where,
        payload,
        event_id=recorded.id,
    )


def _step(
    obj: Mapping[str, Any], base: float, where: str, folder: Path, counters: dict[str, int]
) -> tuple[float, list[SimEvent]]:
    kind = obj.get("event")
    if not isinstance(kind, str):
        raise InputError(
            f"{where}: missing 'event'",
            hint=f"one of: {', '.join(EVENT_KINDS)} (or a recording envelope)",
        )
    if kind not in EVENT_KINDS:
        raise InputError(
            f"{where}: unknown event kind {kind!r}", hint=f"known kinds: {', '.join(EVENT_KINDS)}"
        )
    if "at" not in obj:
        raise InputError(f"{where}: missing 'at' (seconds from the scenario start)")
    t = base + parse_clock(obj["at"], where=where)
    if kind == "include":
        return t, _include(obj, t, where, folder)
    allowed = _COMMON_KEYS | (ACTIONS_KEYS if kind == "actions" else CHAT_EVENTS[kind])
    extra = sorted(set(obj) - allowed)
    if extra:
        raise InputError(
            f"{where}: unknown key {extra[0]!r} for a {kind} event",
            hint=f"allowed: {', '.join(sorted(allowed))}",
        )
    session = obj.get("session")
    if not isinstance(session, str) or not session.strip():
        raise InputError(f"{where}: 'session' must be a non-empty session id")
    note = obj.get("note", "")
    if not isinstance(note, str):
        raise InputError(f"{where}: 'note' must be a string")
    if kind == "actions":
        payload = _actions(obj, session, t, base, where, counters)
        return t, [SimEvent(t, session, "actions", where, payload, note=note)]
    args = {k: obj[k] for k in CHAT_EVENTS[kind] if k in obj}
    for key, value in args.items():
        if key != "step" and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"{where}: {key!r} must be a non-empty string")
    if kind == "link":
        if "conversation" not in args:
            raise InputError(f"{where}: a link event needs 'conversation' (the conversation id)")
        if "link" in args:
            if args["link"] not in _LINK_EVENTS:
                raise InputError(
                    f'{where}: \'link\' must be "new" or "reply", got {args["link"]!r}',
                    hint="leave it out to infer it from known conversations",
                )
            args["link"] = _LINK_EVENTS[args["link"]]
    return t, [SimEvent(t, session, kind, where, args=args, note=note)]


def _actions(
    obj: Mapping[str, Any],
    session: str,
    t: float,
    base: float,
    where: str,
    counters: dict[str, int],
) -> ActionsPayload:
    from autoplay_cli.wire import parse_payload

    actions = obj.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InputError(f"{where}: 'actions' must be a non-empty list of actions")
    built = []
    index = counters.get(session, 0)
    for i, action in enumerate(actions):
        here = f"{where}: actions[{i}]"
        if not isinstance(action, dict):
            raise InputError(f"{here}: expected an object")
        a = dict(action)
        url = a.pop("url", None)
        if url is not None:
            if not isinstance(url, str):
                raise InputError(f"{here}: 'url' must be a string")
            a.setdefault("raw_url", url)
            a.setdefault("canonical_url", url)
        start = base + parse_clock(a.pop("at"), where=here) if "at" in a else t
        if start > t:
            raise InputError(
                f"{here}: the action starts after its batch is forwarded",
                hint="an action's 'at' must not be later than the batch's 'at'",
            )
        duration = a.pop("duration", 0.0)
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
            raise InputError(f"{here}: 'duration' must be seconds ≥ 0")
        a.setdefault("timestamp_start", start)
        a.setdefault("timestamp_end", start + duration)
        a.setdefault("index", index)
        a.setdefault("session_id", session)
        index += 1
        built.append(a)
    counters[session] = index
    data = {
        "type": "actions",
        "session_id": session,
        "actions": built,
        "forwarded_at": t,
        **{k: obj[k] for k in ("user_id", "email", "conversation_id", "product_id") if k in obj},
    }
    try:
        payload = parse_payload(data)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}", hint=exc.hint) from None
    assert payload.type == "actions"
    return payload


def _include(obj: Mapping[str, Any], t: float, where: str, folder: Path) -> list[SimEvent]:
    from autoplay_cli.recording import iter_recording

    extra = sorted(set(obj) - {"at", "event", "recording", "note"})
    if extra:
        raise InputError(
            f"{where}: unknown key {extra[0]!r} for an include",
            hint="an include takes 'at' and 'recording'",
        )
    rel = obj.get("recording")
    if not isinstance(rel, str) or not rel.strip():
        raise InputError(f"{where}: an include needs 'recording' (a path to a recording)")
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
        event = _from_envelope(r, here)
        event.time += shift
        events.append(event)
    return events


def load_inputs(
    paths: Sequence[str | os.PathLike[str]], generated: Sequence[Any] = ()
) -> SimulationInput:
    """Load every file and the generated sessions into one ordered timeline."""
    scenarios = [load_scenario(p) for p in paths]
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
