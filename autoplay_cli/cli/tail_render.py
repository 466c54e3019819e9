"""How ``autoplay tail`` shows events: a rich human view, ``--json`` envelopes, ``--text``.

Data lines go to stdout (buffered, flushed whenever the stream is about to wait);
connection notices, forward statuses and the summary go to stderr.
"""

from __future__ import annotations

import sys
import time
import zlib
from typing import TYPE_CHECKING

from autoplay_cli.cli import output

if TYPE_CHECKING:
    from rich.text import Text

    from autoplay_cli.stream.client import Notice
    from autoplay_cli.stream.forward import ForwardResult
    from autoplay_cli.stream.tail import TailSummary
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
ALWAYS_SHOWN = frozenset({"disconnected", "gap"})


def session_colour(session_id: str | None) -> str:
    if not session_id:
        return "white"
    return SESSION_COLOURS[zlib.crc32(session_id.encode()) % len(SESSION_COLOURS)]


class _BaseSink:
    """Stderr side shared by every output mode."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
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
            output.err().print(f"tail: {notice.message}", markup=False, style=style, soft_wrap=True)

    def forwarded(self, event: PayloadEvent, result: ForwardResult) -> None:
        p = event.view
        what = f"{p.type} of session {p.session_id or 'unknown'}"
        if result.ok:
            text, style = f"forward: {result.status} for {what}", "green"
        else:
            status = result.status if result.status is not None else "unreachable"
            why = f" ({result.error})" if result.error else ""
            text = (
                f"forward: {status}{why} for {what}, skipped after {result.attempts} attempt"
                f"{'s' * (result.attempts != 1)}"
            )
            style = "red"
        output.err().print(text, markup=False, style=style, soft_wrap=True)

    def summary(self, summary: TailSummary) -> None:
        self.flush()
        output.err().print(summary.describe(), markup=False, style="dim", soft_wrap=True)


class JsonSink(_BaseSink):
    """``--json``: one envelope per line, nothing else on stdout."""

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


class TextSink(_BaseSink):
    """``--text``: the payload's ``to_text()`` form, a blank line between events."""

    def event(self, event: PayloadEvent) -> None:
        from autoplay_cli.wire import event_text

        self._write(event_text(event) + "\n\n")


class HumanSink(_BaseSink):
    """The default view: time, session, user, action type, description, canonical URL."""

    def event(self, event: PayloadEvent) -> None:
        from autoplay_cli.wire import ActionsPayload

        console = output.out()
        p = event.payload
        colour = session_colour(p.session_id)
        session = (p.session_id or "anonymous")[:12]
        # Rendered, then written like the other forms: rich's own write turns a closed
        # pipe (`| head`) into exit 1, the error boundary makes it a quiet 0.
        with console.capture() as captured:
            if isinstance(p, ActionsPayload):
                user = p.user_id or p.email or "-"
                for a in p.actions:
                    line = self._line(a.timestamp_start or event.received_at, session, colour)
                    line.append(f"{user[:16]:<16} ", style="bold")
                    line.append(f"{a.type:<9} ", style=colour)
                    line.append(a.description or a.title)
                    line.append(f"  {a.canonical_url}", style="dim")
                    console.print(line)
            else:
                line = self._line(p.forwarded_at or event.received_at, session, colour)
                line.append(f"≡ SUMMARY of {p.replaces} actions: ", style="bold reverse")
                line.append(p.summary, style="italic")
                console.print(line)
        self._write(captured.get())

    @staticmethod
    def _line(ts: float, session: str, colour: str) -> Text:
        from rich.text import Text

        line = Text()
        line.append(time.strftime("%H:%M:%S ", time.localtime(ts)), style="dim")
        line.append(f"{session:<12} ", style=f"bold {colour}")
        return line


def make_sink(mode: str, verbose: bool) -> _BaseSink:
    sinks: dict[str, type[_BaseSink]] = {"json": JsonSink, "text": TextSink, "human": HumanSink}
    return sinks[mode](verbose)
