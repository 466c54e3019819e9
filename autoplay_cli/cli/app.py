"""The ``autoplay`` command: the root options, the command index, and ``main()``.

Only typer, the standard library and light project modules are imported here;
each command imports its heavy dependencies inside its body, so that
``autoplay --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from autoplay_cli import __version__
from autoplay_cli.cli import output
from autoplay_cli.cli.errors import boundary, exit_code_for

# The command index: (command name, module, attribute), in the order of an
# integration's life. The attribute is a command function or a ``typer.Typer``
# group. HELP holds each command's one-liner so that ``autoplay --help`` lists
# every command without importing any of them; a test keeps it equal to the
# first line of the command's own docstring.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("emulate", "autoplay_cli.cli.emulate", "emulate"),
    ("onboard", "autoplay_cli.cli.onboard", "onboard"),
    ("doctor", "autoplay_cli.cli.doctor", "doctor"),
    ("tail", "autoplay_cli.cli.tail", "tail"),
    ("simulate", "autoplay_cli.cli.simulate", "simulate"),
    ("relay", "autoplay_cli.cli.relay", "relay"),
    ("migrate-imports", "autoplay_cli.cli.migrate_imports", "migrate_imports"),
    ("install-skills", "autoplay_cli.cli.install_skills", "install_skills"),
    ("config", "autoplay_cli.cli.config_cmd", "app"),
)
HELP: dict[str, str] = {
    "emulate": "Serve a local fake connector: SSE stream, POST /products, ingest webhook, "
    "fake Unkey.",
    "onboard": "Register a product with the connector and show its stream key and webhook "
    "secret once.",
    "doctor": "Check the configuration, connector, stream key, Unkey and Redis; exit 0 only "
    "if all pass.",
    "tail": "Follow the live activity stream; filter, record, replay or forward it.",
    "simulate": "Replay recorded or scripted sessions through the triggers and the session FSM.",
    "relay": "Run the proactive pipeline live: stream -> triggers -> offers and notes -> chatbot.",
    "migrate-imports": "Rewrite legacy autoplay_sdk import paths to the canonical ones of "
    "SDK 0.7.4+.",
    "install-skills": "Install the bundled agent skills for Claude Code, Cursor, Codex, "
    "Copilot, Gemini CLI.",
    "config": "Show and edit settings (flag > env > profile file > default).",
}

APP_SETTINGS = {
    "name": "autoplay",
    "help": "Toolkit for the Autoplay real-time user-activity platform.",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    # Plain help: Typer's rich help pulls in rich.markdown and friends, which
    # would more than double the start-up time of every `--help`.
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}
ROOT_FLAGS = frozenset({"--version", "--debug", "--no-color", "-h", "--help"})


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"autoplay {__version__}\n")
        raise typer.Exit(0)


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="AUTOPLAY_DEBUG",
            help="Show tracebacks and debug logs (env AUTOPLAY_DEBUG=1).",
        ),
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Disable colour (also: NO_COLOR=1).")
    ] = False,
) -> None:
    """Toolkit for the Autoplay real-time user-activity platform."""
    output.OPTIONS.debug = debug
    output.OPTIONS.no_color = no_color
    output.replace_unencodable()
    output.configure_logging()


def _placeholder() -> None:
    """Stands in for a command that this invocation does not run."""


def _short_help(obj: object) -> str:
    doc = obj.info.help if isinstance(obj, typer.Typer) else getattr(obj, "__doc__", None)
    lines = str(doc or "").strip().splitlines()
    return lines[0] if lines else ""


def _register(
    target: typer.Typer, commands: Sequence[tuple[str, str, str]], *, only: str | None = "*"
) -> None:
    """Add *commands* to *target*; with *only*, every other command is a cheap stand-in.

    Building a command's parameters (signatures, type hints) is the bulk of
    Typer's start-up cost, so one invocation builds only the command it runs;
    the others keep their name and help line for ``autoplay --help``.
    """
    for name, module_name, attr in commands:
        if only != "*" and name != only:
            target.command(name=name, help=HELP.get(name, ""), add_help_option=False)(_placeholder)
            continue
        obj = getattr(importlib.import_module(module_name), attr)
        if isinstance(obj, typer.Typer):
            for info in obj.registered_commands:
                if info.callback is not None and not getattr(info.callback, "__wrapped__", None):
                    info.callback = boundary(info.callback)
            target.add_typer(obj, name=name)
        else:
            target.command(name=name)(boundary(obj))


def build_app(only: str | None = "*") -> typer.Typer:
    """The root app; with *only*, just that command is fully built (see :func:`_register`)."""
    built = typer.Typer(**APP_SETTINGS)  # type: ignore[arg-type]
    built.callback()(root)
    _register(built, COMMANDS, only=only)
    return built


def _invoked_command(args: Sequence[str]) -> str | None:
    """The subcommand named in *args*: the first word after the root's own flags."""
    for arg in args:
        if arg not in ROOT_FLAGS:
            return None if arg.startswith("-") else arg
    return None


def app_for(args: Sequence[str]) -> typer.Typer:
    """A root app in which only the command that *args* invoke is fully built."""
    return build_app(only=_invoked_command(args))


def __getattr__(name: str) -> typer.Typer:
    # ``app`` (every command fully built, for CliRunner and introspection) is made
    # on first use, so that `autoplay --help` imports no command module at all.
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on *argv* and return the exit code (no ``sys.exit``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app_for(args)(args=args, prog_name="autoplay", standalone_mode=False)
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # Ctrl-C at a prompt
            return exit_code_for(exc.__context__)
        output.print_error("aborted")
        return 1
    except (Exception, KeyboardInterrupt) as exc:
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            # A usage error detected by Typer: one line, plus where to look.
            ctx = getattr(exc, "ctx", None)
            where = f"`{ctx.command_path} --help`" if ctx is not None else "`autoplay --help`"
            output.print_error(f"{exc.format_message()} — see {where}")
            return int(exc.exit_code)
        return exit_code_for(exc)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
