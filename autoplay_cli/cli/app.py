"""The ``autoplay`` command: the command registry, the root options, and ``main()``.

Only typer, the standard library and light project modules are imported here.
Commands load lazily (Click's ``list_commands``/``get_command`` pattern): an
invocation imports the one command it runs, and ``autoplay --help`` lists the
registry's summaries without importing any command module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import typer

from autoplay_cli import __version__
from autoplay_cli.cli import output
from autoplay_cli.cli.boundary import boundary, exit_code_for
from autoplay_cli.cli.groups import HelpfulGroup, NamedCommand, plain_help


class Command(NamedTuple):
    """One registry entry: the command's name, where it lives, and its one-line summary.

    *attr* names a command function or a ``typer.Typer`` group in *module*. The
    summary is the only place the line shown by ``autoplay --help`` is written.
    """

    name: str
    module: str
    attr: str
    summary: str


# The registry, in the order of an integration's life. Adding a command is one
# line here; its module is imported only when the command runs or shows its help.
COMMANDS: tuple[Command, ...] = (
    Command("emulate", "autoplay_cli.cli.emulate", "emulate", "Run a local fake connector."),
    Command(
        "onboard", "autoplay_cli.cli.onboard", "onboard", "Register a product and get its keys."
    ),
    Command("doctor", "autoplay_cli.cli.doctor", "doctor", "Check a configuration end to end."),
    Command("tail", "autoplay_cli.cli.tail", "tail", "Follow, record or replay the live stream."),
    Command("simulate", "autoplay_cli.cli.simulate", "simulate", "Run sessions through triggers."),
    Command("relay", "autoplay_cli.cli.relay", "relay", "Run the pipeline live to a chatbot."),
    Command(
        "migrate-sessions",
        "autoplay_cli.cli.migrate_sessions",
        "migrate_sessions",
        "Upgrade SDK-stored Redis sessions.",
    ),
    Command(
        "migrate-imports",
        "autoplay_cli.cli.migrate_imports",
        "migrate_imports",
        "Rewrite legacy autoplay_sdk imports.",
    ),
    Command(
        "install-skills",
        "autoplay_cli.cli.install_skills",
        "install_skills",
        "Install the bundled agent skills.",
    ),
    Command("config", "autoplay_cli.cli.config_cmd", "app", "Show and edit settings and profiles."),
)


def load_command(entry: Command) -> Any:
    """Import *entry*'s module and build its Click command, every callback behind the boundary."""
    module = importlib.import_module(entry.module)
    obj = getattr(module, entry.attr)
    # The command's flags, for the errors it reports; known once it is built.
    flags: dict[str, str] = {}
    if isinstance(obj, typer.Typer):
        for info in obj.registered_commands:
            if info.callback is not None and not getattr(info.callback, "__wrapped__", None):
                info.callback = boundary(info.callback, flags)
        command = typer.main.get_command(obj)
    else:
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(name=entry.name, cls=NamedCommand)(boundary(obj, flags))
        command = typer.main.get_command(single)
    from autoplay_cli.cli.flags import declared

    flags.update(declared(command))
    command.name = entry.name
    command.short_help = entry.summary
    if getattr(module, "EPILOG", None) and not command.epilog:
        command.epilog = module.EPILOG  # a module's EPILOG (examples) ends its --help
    from autoplay_cli.cli.common_options import name_metavars

    return name_metavars(plain_help(command))


class LazyGroup(HelpfulGroup):
    """The root group: lists :data:`COMMANDS` and imports a command only when it is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = next((e for e in COMMANDS if e.name == cmd_name), None)
        return None if entry is None else load_command(entry)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # The summaries come from the registry, so the index imports no command.
        with formatter.section("Commands"):
            formatter.write_dl([(entry.name, entry.summary) for entry in COMMANDS])


EXAMPLES = """\b
Examples:
  autoplay emulate                 # a fake connector on http://127.0.0.1:8765
  autoplay onboard --help          # what registering a product needs
  autoplay doctor --json           # check everything, as one JSON object"""


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"autoplay {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=LazyGroup,
    name="autoplay",
    help="Toolkit for the Autoplay real-time user-activity platform.",
    epilog=EXAMPLES,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
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
    # One output object for this invocation, in the context; it is bound (and
    # logging routed to stderr) only until the context closes.
    ctx.obj = ctx.with_resource(output.Output(debug=debug, no_color=no_color).bound())


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on *argv* and return the exit code (no ``sys.exit``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="autoplay", standalone_mode=False)
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
