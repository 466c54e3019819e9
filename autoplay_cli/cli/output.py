"""Output conventions shared by every command.

Data goes to stdout, diagnostics and progress to stderr. Colour follows the
terminal, ``NO_COLOR``/``FORCE_COLOR`` and ``--no-color``; spinners only when
stderr is a TTY. The root command puts one :class:`Output` in the Typer context
and binds it for the invocation; the module functions below use the bound one.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


class Output:
    """How one invocation writes: its debug and colour choices and its consoles."""

    def __init__(self, *, debug: bool | None = None, no_color: bool = False) -> None:
        self.debug = _env_flag("AUTOPLAY_DEBUG") if debug is None else debug
        self.no_color = no_color
        self._consoles: dict[str, Console] = {}

    def color_enabled(self, stream: Any) -> bool:
        if self.no_color or os.environ.get("NO_COLOR"):
            return False
        if _env_flag("FORCE_COLOR"):
            return True
        try:
            return bool(stream.isatty())
        except (AttributeError, ValueError):
            return False

    def _console(self, name: str) -> Console:
        stream = sys.stdout if name == "out" else sys.stderr
        cached = self._consoles.get(name)
        # CliRunner and pytest's capture swap sys.stdout; follow the current stream.
        if cached is not None and cached.file is stream:
            return cached
        colour = self.color_enabled(stream)
        console = _console_class()(
            file=stream,
            no_color=not colour,
            color_system="auto" if colour else None,
            force_terminal=colour or None,
            highlight=False,
            # Never fold a diagnostic line: it may be grepped or parsed from a log.
            soft_wrap=True,
            emoji=False,
        )
        self._consoles[name] = console
        return console

    def out(self) -> Console:
        """Rich console on stdout, for human-readable data."""
        return self._console("out")

    def err(self) -> Console:
        """Rich console on stderr, for diagnostics, progress and summaries."""
        return self._console("err")

    def warn(self, message: str) -> None:
        colour = self.color_enabled(sys.stderr)
        self.err().print(
            f"[yellow]Warning:[/yellow] {message}" if colour else f"Warning: {message}",
            markup=colour,
        )

    def set_verbose(self, verbose: bool) -> None:
        """Log INFO records too (``--verbose``); ``--debug`` already logs DEBUG."""
        import logging

        logging.getLogger("autoplay_cli").setLevel(self._log_level(verbose))

    def _log_level(self, verbose: bool) -> int:
        import logging

        return logging.DEBUG if self.debug else logging.INFO if verbose else logging.ERROR

    @contextmanager
    def bound(self) -> Iterator[Output]:
        """Make this the current output and route the package's logs to stderr, until exit.

        Everything is put back on exit, so one invocation leaves no trace in the
        process (tests run many in one).
        """
        import logging

        logger = logging.getLogger("autoplay_cli")
        saved = (logger.level, list(logger.handlers), logger.propagate)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(self._log_level(False))
        logger.propagate = False
        token = _current.set(self)
        try:
            replace_unencodable()
            yield self
        finally:
            _current.reset(token)
            logger.setLevel(saved[0])
            logger.handlers[:] = saved[1]
            logger.propagate = saved[2]


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class QuietPipeConsole(Console):
        """A console that lets a closed pipe end the command quietly with exit 0.

        Rich's default answer to a closed pipe is ``SystemExit(1)``, so
        ``autoplay doctor | head -1`` would fail; the error boundary instead
        treats BrokenPipeError as the reader having seen enough.
        """

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return QuietPipeConsole


_current: ContextVar[Output | None] = ContextVar("autoplay_output", default=None)


def current() -> Output:
    """The output of the running invocation (outside one: defaults from the environment)."""
    bound = _current.get()
    return bound if bound is not None else Output()


def of(ctx: Any) -> Output:
    """The output object that the root command put in the Typer context *ctx*."""
    obj = ctx.find_object(Output)
    return obj if obj is not None else current()


def color_enabled(stream: Any) -> bool:
    return current().color_enabled(stream)


def out() -> Console:
    """Rich console on stdout, for human-readable data."""
    return current().out()


def err() -> Console:
    """Rich console on stderr, for diagnostics, progress and summaries."""
    return current().err()


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
    current().warn(message)


def print_error(message: str) -> None:
    """The one-line ``Error: ...`` on stderr."""
    line = f"Error: {message}"
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()


def configure_logging(verbose: bool = False) -> None:
    """Log INFO records with --verbose (DEBUG with --debug) for the running invocation."""
    current().set_verbose(verbose)


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
