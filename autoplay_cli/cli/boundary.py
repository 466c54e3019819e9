"""The CLI's one error boundary: AutoplayError -> ``Error: ...`` line and exit code."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from autoplay_cli.cli import output
from autoplay_cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, AutoplayError

F = TypeVar("F", bound=Callable[..., Any])


def _quiet_broken_pipe() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not complain.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def exit_code_for(exc: BaseException) -> int:
    """Report *exc* the house way and return the exit code to use."""
    import traceback

    if isinstance(exc, AutoplayError):
        if output.current().debug:
            traceback.print_exception(exc, file=sys.stderr)
        output.print_error(exc.one_line())
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("Interrupted.\n")
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        _quiet_broken_pipe()
        return 0
    if output.current().debug:
        traceback.print_exception(exc, file=sys.stderr)
    output.print_error(
        f"unexpected internal error: {type(exc).__name__}: {exc} — rerun with --debug "
        "(or AUTOPLAY_DEBUG=1) for the traceback and report it"
    )
    return EXIT_FAILURE


def boundary(func: F) -> F:
    """Wrap a command callback so every failure leaves through :func:`exit_code_for`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
                raise  # a usage error raised by Typer itself
            raise typer.Exit(exit_code_for(exc)) from None

    return wrapper  # type: ignore[return-value]
