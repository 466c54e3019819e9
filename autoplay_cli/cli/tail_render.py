"""How ``autoplay tail`` shows events: a human view, ``--json`` envelopes, ``--text``.

Data lines go to stdout, rendered as plain strings and written once per network
read (whenever the stream is about to wait); connection notices, forward statuses
and the summary go to stderr. Text that came from the stream never reaches the
terminal with its control characters: they are shown escaped (``\\x1b``).
"""

from __future__ import annotations

import re
import sys
import time
import zlib
from typing import TYPE_CHECKING, Any

from autoplay_cli.cli import output
from autoplay_cli.cli.flags import Speller, spelled

if TYPE_CHECKING:
    from autoplay_cli.stream import ForwardResult, Notice, TailSummary
    from autoplay_cli.wire import PayloadEvent

# Colours that read well on dark and light terminals; a session keeps its colour.
SESSION_COLOURS = (
    "cyan",
    "green",
    "yellow",
    "magenta",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_green",
    "bright_magenta",
    "bright_blue",
)
# The SGR codes of those colours (foreground), written directly: rich's per-line
# rendering cost more than everything else of a tail together.
_SGR = {
    "cyan": "36",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "blue": "34",
    "white": "37",
    "bright_red": "91",
    "bright_cyan": "96",
    "bright_green": "92",
    "bright_magenta": "95",
    "bright_blue": "94",
}
RESET = "\x1b[0m"
ALWAYS_SHOWN = frozenset({"disconnected", "gap", "hint"})
UNKNOWN_TIME = "--:--:--"

# C0 and C1 controls and DEL, except tab and newline: a payload could otherwise clear
# the screen, recolour it or retitle the window.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape_control(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def clean(text: str) -> str:
    """*text* with every control character but tab and newline shown escaped."""
    if _CONTROLS.search(text) is None:
        return text
    return _CONTROLS.sub(_escape_control, text)


def may_hold_controls(event: PayloadEvent) -> bool:
    """Whether the payload's strings may hold control characters (worth :func:`clean`).

    JSON has to escape C0 controls (``\\u001b``, ``\\n``) and may carry C1 controls
    only as escapes or as non-ASCII text (DEL, though, as it is): a payload whose JSON
    text is ASCII without a backslash or DEL has none, and that is decided without
    looking at each string.
    """
    raw = event.raw
    return raw is None or not raw.isascii() or "\\" in raw or "\x7f" in raw


def session_colour(session_id: str | None) -> str:
    if not session_id:
        return "white"
    return SESSION_COLOURS[zlib.crc32(session_id.encode()) % len(SESSION_COLOURS)]


def clock_time(at: float) -> str:
    """``HH:MM:SS`` (local time) of a unix time; :data:`UNKNOWN_TIME` when it has none."""
    try:
        return time.strftime("%H:%M:%S", time.localtime(at))
    except (ValueError, OverflowError, OSError, TypeError):
        return UNKNOWN_TIME  # NaN, infinite, or out of the platform's range


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


class _BaseSink:
    """Stderr side shared by every output mode."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.spell: Speller | None = None
        self._out = sys.stdout
        self._write = self._out.write

    def event(self, event: PayloadEvent) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        self._out.flush()

    def notice(self, notice: Notice) -> None:
        if self.verbose or notice.kind in ALWAYS_SHOWN:
            self.flush()
            style = "yellow" if notice.kind in ALWAYS_SHOWN else "dim"
            message = notice.message if self.spell is None else spelled(notice.message, self.spell)
            output.err().print(f"tail: {clean(message)}", markup=False, style=style, soft_wrap=True)

    def forwarded(self, event: PayloadEvent, result: ForwardResult) -> None:
        p: Any = event.view  # the fields of either payload type, read by msgspec
        what = f"{p.type} of session {clean(p.session_id or 'unknown')}"
        if result.ok:
            text, style = f"forward: {result.status} for {what}", "green"
        else:
            status = result.status if result.status is not None else "unreachable"
            why = f" ({clean(result.error)})" if result.error else ""
            text = (
                f"forward: {status}{why} for {what}, skipped after "
                f"{plural(result.attempts, 'attempt')}"
            )
            style = "red"
        output.err().print(text, markup=False, style=style, soft_wrap=True)

    def summary(self, summary: TailSummary) -> None:
        self.flush()
        text = summary.describe()
        text = text if self.spell is None else spelled(text, self.spell)
        output.err().print(text, markup=False, style="dim", soft_wrap=True)


class JsonSink(_BaseSink):
    """``--json``: one envelope per line, nothing else on stdout (and nothing escaped)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(verbose)
        from autoplay_cli.recording import EnvelopeWriter

        # Lines are collected and written on flush(), which the stream calls before it
        # waits for more bytes (a replay, every few hundred events): one write per
        # network read, still no added latency.
        self._lines = EnvelopeWriter()
        self.event = self._lines.add  # type: ignore[method-assign]

    def flush(self) -> None:
        if len(self._lines):
            self._write(self._lines.take())
        self._out.flush()


class _BufferedSink(_BaseSink):
    """Text collected per event (escaped) and written in one go on :meth:`flush`."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(verbose)
        self._chunks: list[str] = []

    def flush(self) -> None:
        if self._chunks:
            text = "".join(self._chunks)
            self._chunks.clear()
            self._write(text)
        self._out.flush()


class TextSink(_BufferedSink):
    """``--text``: the payload's ``to_text()`` form, a blank line between events."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(verbose)
        from autoplay_cli.wire import event_text

        self._text = event_text

    def event(self, event: PayloadEvent) -> None:
        text = self._text(event) + "\n\n"
        self._chunks.append(clean(text) if may_hold_controls(event) else text)


class HumanSink(_BufferedSink):
    """The default view, one line per action: time of receipt, session, user, type,
    description, canonical URL. Colour on a terminal that wants it."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(verbose)
        self._colour = output.color_enabled(self._out)
        self._at: float | None = None
        self._clock = UNKNOWN_TIME
        if self._colour:
            self.event = self._coloured  # type: ignore[method-assign]

    def _time(self, at: float) -> str:
        # The events of one read share their time: format it once.
        if at != self._at:
            self._at, self._clock = at, clock_time(at)
        return self._clock

    def event(self, event: PayloadEvent) -> None:
        p: Any = event.view  # the fields of either payload type, read by msgspec
        head = f"{self._time(event.received_at)} {(p.session_id or 'anonymous')[:12]:<12} "
        if p.type == "actions":
            user = (p.user_id or p.email or "-")[:16]
            lines = [
                f"{head}{user:<16} {a.type.lower():<9} {a.description or a.title}  "
                f"{a.canonical_url}\n"
                for a in p.actions
            ]
            self._chunks += [clean("".join(lines))] if may_hold_controls(event) else lines
        else:
            line = f"{head}≡ SUMMARY of {plural(p.replaces or 0, 'action')}: {p.summary or ''}\n"
            self._chunks.append(clean(line) if may_hold_controls(event) else line)

    def _coloured(self, event: PayloadEvent) -> None:
        p: Any = event.view  # the fields of either payload type, read by msgspec
        sgr = _SGR[session_colour(p.session_id)]
        session = clean((p.session_id or "anonymous")[:12])
        head = f"\x1b[2m{self._time(event.received_at)} {RESET}\x1b[1;{sgr}m{session:<12} {RESET}"
        if p.type == "actions":
            user = clean((p.user_id or p.email or "-")[:16])
            self._chunks += [
                f"{head}\x1b[1m{user:<16} {RESET}\x1b[{sgr}m{clean(a.type.lower()):<9} {RESET}"
                f"{clean(a.description or a.title)}\x1b[2m  {clean(a.canonical_url)}{RESET}\n"
                for a in p.actions
            ]
        else:
            self._chunks.append(
                f"{head}\x1b[1;7m≡ SUMMARY of {plural(p.replaces or 0, 'action')}: {RESET}"
                f"\x1b[3m{clean(p.summary or '')}{RESET}\n"
            )


def make_sink(mode: str, verbose: bool) -> _BaseSink:
    sinks: dict[str, type[_BaseSink]] = {"json": JsonSink, "text": TextSink, "human": HumanSink}
    return sinks[mode](verbose)
