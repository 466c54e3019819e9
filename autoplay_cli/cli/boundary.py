"""The CLI's one error boundary: AutoplayError -> ``Error: ...`` line and exit code.

It is also where an error's settings become the running command's flags
(:mod:`autoplay_cli.cli.flags`): the library names them, the command spells them.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
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


def describe(exc: AutoplayError, flags: Mapping[str, str] | None = None) -> str:
    """*exc* on one line, its settings spelled as the flags in *flags* (name -> flag).

    An error about one setting that neither names it nor brings a hint gets
    ``check FLAG``, so the user learns which flag to fix.
    """
    from autoplay_cli.cli.flags import speller  # loaded with the first error, not at start-up

    spell = speller(flags or {})
    text = exc.one_line(spell)
    setting = exc.setting
    unnamed = setting and not exc.hint and f"`{setting}`" not in exc.message
    if unnamed and (flag := spell(str(setting))):
        text = f"{text} — check {flag}"
    return text


def exit_code_for(exc: BaseException, flags: Mapping[str, str] | None = None) -> int:
    """Report *exc* the house way and return the exit code to use.

    *flags* are the running command's (parameter name -> flag), for :func:`describe`.
    """
    import traceback

    if isinstance(exc, AutoplayError):
        if output.current().debug:
            traceback.print_exception(exc, file=sys.stderr)
        output.print_error(describe(exc, flags))
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


def boundary(func: F, flags: Mapping[str, str] | None = None) -> F:
    """Wrap a command callback so every failure leaves through :func:`exit_code_for`.

    *flags* are the command's own (filled in once the command is built).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
                raise  # a usage error raised by Typer itself
            raise typer.Exit(exit_code_for(exc, flags)) from None

    return wrapper  # type: ignore[return-value]
