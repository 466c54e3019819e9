"""Command and group classes that shape ``autoplay``'s help.

Pass ``typer.Typer(cls=HelpfulGroup)`` for a command group: ``autoplay config``
then prints the same help as ``autoplay config --help`` and exits 0, as ``gh``
and ``docker`` do, instead of a usage error. ``@app.command(cls=NamedCommand)``
shows arguments by name (``KEY VALUE``) rather than ``{key} <str>``.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


class HelpfulGroup(TyperGroup):
    """A Typer group that prints its help on stdout and exits 0 when given no arguments."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # A group that runs its own callback without a subcommand keeps doing so.
        if not args and not ctx.resilient_parsing and not self.invoke_without_command:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


def plain_help(command: Any) -> Any:
    """Give *command* and its subcommands plain help, examples last; return *command*.

    Typer's rich help imports rich.markdown and friends, which would more than
    double the time of every ``--help``; a group built on its own (rather than
    through the root app) would otherwise default to it. An ``Examples:``
    paragraph of a docstring moves to the epilog, so help ends with it.
    """
    import inspect

    command.rich_markup_mode = None
    help_text = inspect.cleandoc(command.help or "")
    head, marker, examples = help_text.partition("\b\nExamples:")
    if marker and not command.epilog:
        command.help = head.rstrip()
        command.epilog = marker + examples
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    return command


def _argument_name(param: Any) -> str:
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


class NamedCommand(TyperCommand):
    """A Typer command whose usage line and argument list name each argument's value."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_argument_name(param))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args: list[tuple[str, str]] = []
        opts: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((_argument_name(param).strip("[]"), record[1]))
            else:
                opts.append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)
