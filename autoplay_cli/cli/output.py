"""Output conventions shared by every command.

Data goes to stdout, diagnostics and progress to stderr. Colour follows the
terminal, ``NO_COLOR`` and ``--no-color``; spinners only when stderr is a TTY.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class GlobalOptions:
    """Options of the root command that every command's output follows."""

    def __init__(self, debug: bool = False, no_color: bool = False) -> None:
        self.debug = debug
        self.no_color = no_color


OPTIONS = GlobalOptions(debug=os.environ.get("AUTOPLAY_DEBUG", "") not in ("", "0"))
_consoles: dict[str, Console] = {}


def color_enabled(stream: Any) -> bool:
    if OPTIONS.no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _console(name: str) -> Console:
    stream = sys.stdout if name == "out" else sys.stderr
    cached = _consoles.get(name)
    # CliRunner and pytest's capture swap sys.stdout; follow the current stream.
    if cached is not None and cached.file is stream:
        return cached
    from rich.console import Console

    colour = color_enabled(stream)
    console = Console(
        file=stream,
        no_color=not colour,
        color_system="auto" if colour else None,
        force_terminal=colour or None,
        highlight=False,
        # Never fold a diagnostic line: it may be grepped or parsed from a log.
        soft_wrap=True,
        emoji=False,
    )
    _consoles[name] = console
    return console


def out() -> Console:
    """Rich console on stdout, for human-readable data."""
    return _console("out")


def err() -> Console:
    """Rich console on stderr, for diagnostics, progress and summaries."""
    return _console("err")


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def replace_unencodable() -> None:
    """Let stdout print what its encoding cannot hold as "?" rather than crash.

    A payload may carry a lone surrogate (JSON allows "\\ud800"), which no UTF-8
    stream can write; stderr already escapes such characters by default.
    """
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")


def emit_json(obj: Any) -> None:
    """Write one JSON object as one line on stdout and flush it."""
    import json

    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def emit_text(text: str) -> None:
    """Write plain text (no markup interpretation) on stdout."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """A diagnostic line on stderr (markup allowed)."""
    err().print(message)


def warn(message: str) -> None:
    err().print(
        f"[yellow]Warning:[/yellow] {message}"
        if color_enabled(sys.stderr)
        else f"Warning: {message}",
        markup=color_enabled(sys.stderr),
    )


def print_error(message: str) -> None:
    """The one-line ``Error: ...`` on stderr."""
    line = f"Error: {message}"
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()


def configure_logging(verbose: bool = False) -> None:
    """Send the package's log records to stderr: INFO with --verbose, DEBUG with --debug."""
    import logging

    logger = logging.getLogger("autoplay_cli")
    level = logging.DEBUG if OPTIONS.debug else logging.INFO if verbose else logging.ERROR
    logger.setLevel(level)
    # One handler of ours, always bound to the current stderr (tests swap it).
    for old in [h for h in logger.handlers if getattr(h, "_autoplay", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._autoplay = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False


class ProgressBar:
    """A progress bar on stderr when it is a terminal; otherwise nothing at all.

    ``with ProgressBar("label") as update:`` gives ``update(done, total)``, or
    ``None`` when stderr is not a terminal; jobs under *min_total* items show no bar.
    """

    def __init__(self, label: str, *, min_total: int = 0) -> None:
        self.label = label
        self.min_total = min_total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        return self._update if stderr_is_tty() else None

    def _update(self, done: int, total: int) -> None:
        if total < self.min_total:
            return
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                console=err(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
