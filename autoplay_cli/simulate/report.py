"""The simulation report: one step per decision, per-session and overall summaries.

Plain data plus two plain-text views (timeline, summary) that the CLI colours
and the golden tests compare; ``to_json`` gives the ``--json`` objects.
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from autoplay_cli.errors import UsageError
from autoplay_cli.triggers.base import Offer

STATES = ("thinking", "proactive_assistance", "reactive_assistance")
SHORT = {
    "thinking": "thinking",
    "proactive_assistance": "proactive",
    "reactive_assistance": "reactive",
}

# Decisions a step can record.
OFFER = "offer"  # a trigger fired and the session went proactive
BLOCKED = "blocked"  # a trigger fired but the FSM gate said no
NONE = "-"  # an action batch on which no trigger fired
APPLIED = "applied"  # a chat event was applied to the state machine
NOOP = "no-op"  # a chat event or tick that changed nothing
REJECTED = "rejected"  # the state machine refused the transition
TIMEOUT = "timeout"  # an interaction timeout returned the session to thinking
SKIPPED = "skipped"  # input the engine cannot attribute (anonymous batch, summary)

# Human views fit this many columns: a row's details that would not fit go on
# indented lines below it.
LINE_WIDTH = 100
DETAIL_INDENT = 4


def iso_utc(t: float) -> str | None:
    """*t* as ISO-8601 UTC; ``None`` past what a date can hold (year 9999), e.g. when a
    huge ``--interaction-timeout`` pushes the final timeouts out of range."""
    try:
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return None


@dataclass(slots=True)
class Step:
    """One line of the timeline: what happened, what was decided, and the state after."""

    seq: int
    time: float
    session_id: str | None
    event: str
    decision: str
    state_before: str | None
    state: str | None
    trigger: str | None = None
    reason: str | None = None
    detail: str = ""
    offer: Offer | None = None
    actions: int = 0
    source: str = ""
    cooldown_remaining_s: float = 0.0
    snapshot: dict[str, Any] | None = None

    def to_json(self, start: float) -> dict[str, Any]:
        return {
            "type": "step",
            "seq": self.seq,
            "time": self.time,
            "at": iso_utc(self.time),
            "offset_s": round(self.time - start, 6),
            "session": self.session_id,
            "event": self.event,
            "actions": self.actions,
            "trigger": self.trigger,
            "decision": self.decision,
            "reason": self.reason,
            "detail": self.detail,
            "offer": self.offer.to_dict() if self.offer else None,
            "state_before": self.state_before,
            "state": self.state,
            "cooldown_remaining_s": round(self.cooldown_remaining_s, 6),
            "source": self.source,
            "snapshot": self.snapshot,
        }


@dataclass(slots=True)
class SessionSummary:
    """What happened to one session over the run."""

    session_id: str
    first_at: float
    last_at: float
    actions: int = 0
    batches: int = 0
    offers: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    went_reactive: bool = False
    time_in: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    state: str = "thinking"
    state_since: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "actions": self.actions,
            "batches": self.batches,
            "offers": self.offers,
            "blocked": dict(sorted(self.blocked.items())),
            "rejected": self.rejected,
            "went_reactive": self.went_reactive,
            "time_in_state_s": {k: round(v, 6) for k, v in self.time_in.items()},
            "final_state": self.state,
        }


@dataclass(slots=True, repr=False)
class Report:
    """Everything a run produced, in timeline order.

    ``repr`` stays short on purpose: asyncio formats the finished task's result
    when it restores the SIGINT handler, and a full repr of a large run is costly.
    """

    start: float
    steps: list[Step] = field(default_factory=list)
    sessions: dict[str, SessionSummary] = field(default_factory=dict)
    end: float = 0.0
    skipped_anonymous: int = 0
    summaries_ignored: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    keep_steps: bool = True
    step_count: int = 0
    # The Redis key namespace of a ``--store`` run (None in memory).
    namespace: str | None = None

    def __repr__(self) -> str:
        return f"Report(steps={self.step_count}, sessions={len(self.sessions)})"

    def add(self, step: Step) -> None:
        """Record *step* and fold it into its session's summary."""
        step.seq = self.step_count = self.step_count + 1
        if self.keep_steps:
            self.steps.append(step)
        sid = step.session_id
        if sid is None or step.state is None:
            return
        summary = self.sessions.get(sid)
        if summary is None:
            summary = self.sessions[sid] = SessionSummary(
                sid, step.time, step.time, state_since=step.time
            )
        summary.time_in[summary.state] += step.time - summary.state_since
        summary.state, summary.state_since, summary.last_at = step.state, step.time, step.time
        summary.actions += step.actions
        if step.event == "actions":
            summary.batches += 1
        if step.decision == OFFER:
            summary.offers += 1
        elif step.decision == BLOCKED and step.reason:
            summary.blocked[step.reason] += 1
        elif step.decision == REJECTED:
            summary.rejected += 1
        if step.state == "reactive_assistance":
            summary.went_reactive = True

    def only(self, session_ids: list[str]) -> Report:
        """The same run seen through some sessions only (steps keep their ``seq``)."""
        unknown = [sid for sid in session_ids if sid not in self.sessions]
        if unknown:
            known = ", ".join(list(self.sessions)[:5]) + (", …" if len(self.sessions) > 5 else "")
            raise UsageError(
                f"`session` {unknown[0]!r}: no such session in the input",
                setting="session",
                hint=f"sessions: {known}" if known else None,
            )
        wanted = set(session_ids)
        view = Report(
            self.start,
            [s for s in self.steps if s.session_id in wanted],
            {k: v for k, v in self.sessions.items() if k in wanted},
            self.end,
            config=self.config,
            names=self.names,
            keep_steps=self.keep_steps,
            namespace=self.namespace,
        )
        view.step_count = len(view.steps)
        return view

    # -- aggregates ----------------------------------------------------------------------

    def overall(self) -> dict[str, Any]:
        blocked: Counter[str] = Counter()
        for s in self.sessions.values():
            blocked.update(s.blocked)
        time_in = dict.fromkeys(STATES, 0.0)
        for s in self.sessions.values():
            for k, v in s.time_in.items():
                time_in[k] += v
        return {
            "sessions": len(self.sessions),
            "steps": self.step_count,
            "action_events": sum(s.actions for s in self.sessions.values()),
            "batches": sum(s.batches for s in self.sessions.values()),
            "offers": sum(s.offers for s in self.sessions.values()),
            "blocked": dict(sorted(blocked.items())),
            "rejected": sum(s.rejected for s in self.sessions.values()),
            "sessions_went_reactive": sum(s.went_reactive for s in self.sessions.values()),
            "time_in_state_s": {k: round(v, 6) for k, v in time_in.items()},
            "skipped_anonymous_batches": self.skipped_anonymous,
            "summaries_ignored": self.summaries_ignored,
            "virtual_duration_s": round(self.end - self.start, 6),
        }

    def transitions(self) -> Counter[tuple[str, str]]:
        """How often each (state before, state after) change happened."""
        return Counter(
            (s.state_before, s.state)
            for s in self.steps
            if s.state_before and s.state and s.state_before != s.state
        )

    def summary_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "inputs": self.names,
            "start": self.start,
            "end": self.end,
            "overall": self.overall(),
            "sessions": [s.to_json() for s in self.sessions.values()],
            "config": self.config,
        }

    # -- text views ------------------------------------------------------------------------

    def timeline_rows(self) -> list[tuple[str, ...]]:
        """Rows of (time, session, event, trigger, decision, state after, details).

        A cooldown still running after the step leads the details (``cooldown
        0:47 left``) unless they already say it, so the state column stays narrow.
        """
        rows: list[tuple[str, ...]] = []
        for s in self.steps:
            event = f"{s.event} ×{s.actions}" if s.event == "actions" else s.event
            details = step_details(s)
            if (
                s.cooldown_remaining_s > 0
                and s.state == "thinking"
                and s.decision != TIMEOUT
                and not (s.decision == BLOCKED and s.reason == "v2_cooldown_active")
            ):
                left = f"cooldown {clock_text(s.cooldown_remaining_s)} left"
                details = f"{left}; {details}" if details else left
            rows.append(
                (
                    f"+{clock_text(s.time - self.start)}",
                    s.session_id or "?",
                    event,
                    s.trigger or "",
                    s.decision,
                    SHORT.get(s.state or "", s.state or ""),
                    details,
                )
            )
        return rows

    def summary_rows(self) -> list[tuple[str, ...]]:
        """Rows of the per-session summary table."""
        rows: list[tuple[str, ...]] = []
        for s in self.sessions.values():
            blocked = ", ".join(f"{_reason_short(k)} ×{v}" for k, v in sorted(s.blocked.items()))
            rows.append(
                (
                    s.session_id,
                    str(s.actions),
                    str(s.offers),
                    blocked or "-",
                    str(s.rejected),
                    "yes" if s.went_reactive else "no",
                    *(clock_text(s.time_in[k]) for k in STATES),
                )
            )
        return rows

    def overall_lines(self) -> list[str]:
        o = self.overall()
        blocked = ", ".join(f"{k} ×{v}" for k, v in o["blocked"].items()) or "none"
        lines = [
            f"{plural(o['sessions'], 'session')}, {plural(o['action_events'], 'action event')} "
            f"in {plural(o['batches'], 'batch', 'batches')} over "
            f"{clock_text(o['virtual_duration_s'])} of virtual time",
            f"offers made: {o['offers']}; offers blocked: {sum(o['blocked'].values())} "
            f"({blocked}); rejected transitions: {o['rejected']}",
            f"sessions that went reactive: {o['sessions_went_reactive']}; time in state: "
            + ", ".join(f"{SHORT[k]} {clock_text(v)}" for k, v in o["time_in_state_s"].items()),
        ]
        if o["skipped_anonymous_batches"]:
            n = o["skipped_anonymous_batches"]
            lines.append(
                f"skipped: {plural(n, 'anonymous batch', 'anonymous batches')} (no session id)"
            )
        if o["summaries_ignored"]:
            n = o["summaries_ignored"]
            lines.append(f"ignored: {plural(n, 'summary payload')} (triggers read actions only)")
        return [line for text in lines for line in wrap(text)]


TIMELINE_HEADER = ("time", "session", "event", "trigger", "decision", "state after", "details")
# Narrow headers keep the table within LINE_WIDTH: "chat" = the session went reactive
# (the user opened the chat); thinking/proactive/reactive = time spent in each state.
# The final state is left to --json: every run drains its sessions back to thinking.
SUMMARY_HEADER = (
    "session",
    "actions",
    "offers",
    "blocked",
    "rejected",
    "chat",
    "thinking",
    "proactive",
    "reactive",
)


def _reason_short(reason: str) -> str:
    return {"v2_cooldown_active": "cooldown"}.get(
        reason, reason.removeprefix("v2_state_").replace("_assistance", "")
    )


def step_details(s: Step) -> str:
    """The free-text column: why a trigger fired, the offer, or the reason for a refusal."""
    parts = []
    if s.offer is not None:
        chips = " ".join(
            f"[{c.label}{' → tour ' + c.user_tour_id if c.user_tour_id else ''}]"
            for c in s.offer.chips
        )
        parts.append(f'{s.offer.detail} → "{s.offer.body}"' + (f" {chips}" if chips else ""))
    elif s.decision == BLOCKED:
        why = s.reason or ""
        if s.cooldown_remaining_s > 0 and s.reason == "v2_cooldown_active":
            why += f" ({clock_text(s.cooldown_remaining_s)} left)"
        parts.append(f"{s.detail}; blocked: {why}" if s.detail else f"blocked: {why}")
    else:
        if s.detail:
            parts.append(s.detail)
        if s.reason and s.decision in (REJECTED, TIMEOUT, NOOP, SKIPPED):
            parts.append(s.reason)
    return "; ".join(parts)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 session``, ``2 sessions`` (or *plural_form*)."""
    return f"{n} {singular if n == 1 else plural_form or singular + 's'}"


def wrap(text: str, width: int = LINE_WIDTH, indent: str = "") -> list[str]:
    """*text* broken at spaces into lines of at most *width* columns (long words kept)."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def clock_text(seconds: float) -> str:
    """``M:SS`` (``H:MM:SS`` past an hour, ``Nd HH:MM:SS`` past a day), tenths only when not whole.

    Past 100 days (a huge ``--cooldown`` from a config file, say) the value is
    given in days with three significant digits, so a column never explodes.
    """
    if not math.isfinite(seconds):
        return "∞" if seconds > 0 else "?"
    if abs(seconds) >= 100 * 86400:
        return f"{seconds / 86400:.3g} d"
    sign = "-" if seconds < 0 else ""
    seconds = round(abs(seconds), 1)
    whole = int(seconds)
    tenths = round((seconds - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    elif hours:
        text = f"{hours}:{minutes:02d}:{secs:02d}"
    else:
        text = f"{minutes}:{secs:02d}"
    return sign + (f"{text}.{tenths}" if tenths else text)


def column_widths(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[int]:
    """The width of each column but the last (which is never padded)."""
    return [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header) - 1)]


def layout(
    header: tuple[str, ...], rows: list[tuple[str, ...]], width: int = LINE_WIDTH
) -> tuple[list[int], list[tuple[bool, list[str]]]]:
    """Column widths, and for each row: whether its last cell fits on the line, and the
    lines it takes below when not (wrapped at *width*, indented)."""
    widths = column_widths(header, rows)
    lead = sum(w + 2 for w in widths)
    placed: list[tuple[bool, list[str]]] = []
    for row in rows:
        last = row[-1]
        if not last or lead + len(last) <= width:
            placed.append((True, []))
        else:
            placed.append((False, wrap(last, width, " " * DETAIL_INDENT)))
    return widths, placed


def format_table(
    header: tuple[str, ...], rows: list[tuple[str, ...]], width: int | None = None
) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded.

    With *width*, a last cell that would make its line longer goes below the
    row instead, wrapped and indented (the header then omits nothing).
    """
    widths = column_widths(header, rows)

    def line(cells: tuple[str, ...], last: str) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)]
        return "  ".join([*padded, last]).rstrip()

    if width is None:
        return [line(header, header[-1]), *(line(r, r[-1]) for r in rows)]
    _, placed = layout(header, rows, width)
    out = [line(header, header[-1])]
    for row, (inline, below) in zip(rows, placed, strict=True):
        out.append(line(row, row[-1] if inline else ""))
        out.extend(below)
    return out
