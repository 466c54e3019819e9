"""``autoplay install-skills``: copy the bundled agent skills where coding agents look for them.

Three subcommands: ``install`` (the default, so ``autoplay install-skills --agent claude``
installs), ``list`` and ``validate DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from autoplay_cli.cli.groups import NamedCommand

AGENT_HELP = (
    "Agent to install for (repeatable): claude, cursor, codex, copilot, gemini, agents. "
    "Default: detected from the project."
)
DEST_HELP = "Use this one folder instead of agent folders (relative to here)."
JSON_HELP = "One JSON object per line."


def examples(*lines: str) -> str:
    """A help epilog listing *lines* as examples, kept as typed (``\\b``: no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


class DefaultToInstall(TyperGroup):
    """A group whose first word, when it names no subcommand, belongs to ``install``.

    ``autoplay install-skills --chatbot ada`` is ``autoplay install-skills install
    --chatbot ada``; ``--help`` alone still shows the group's help.
    """

    default_command = "install"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        help_names = ctx.help_option_names or ["--help"]
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            # `install` takes no argument, so a bare word can only be a mistyped subcommand.
            ctx.fail(f"No such command {args[0]!r} (try: {', '.join(self.commands)})")
        if not args or (args[0] not in self.commands and args[0] not in help_names):
            args = [self.default_command, *args]
        return list(super().parse_args(ctx, args))


install_skills = typer.Typer(
    name="install-skills",
    cls=DefaultToInstall,
    help="Install the bundled agent skills for Claude Code, Cursor, Codex, Copilot, Gemini CLI.\n\n"
    "Without a subcommand, `install` runs: `autoplay install-skills --agent claude` installs.",
    epilog=examples(
        "autoplay install-skills --chatbot intercom --user-activity posthog",
        "autoplay install-skills list --agent claude",
        "autoplay install-skills validate my-skills/",
    ),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)


@install_skills.command(
    "install",
    cls=NamedCommand,
    epilog=examples(
        "autoplay install-skills                     # every skill, agents detected here",
        "autoplay install-skills --chatbot ada --agent claude --dry-run",
        "autoplay install-skills --migrate --force   # adopt old SDK copies, update edits",
    ),
)
def install(
    ctx: typer.Context,
    chatbot: Annotated[
        list[str] | None,
        typer.Option(
            "--chatbot",
            metavar="NAME",
            help="Chatbot skill to install (repeatable): intercom, ada, botpress, dify, "
            "crisp, landbot, tidio.",
        ),
    ] = None,
    user_activity: Annotated[
        list[str] | None,
        typer.Option(
            "--user-activity",
            metavar="NAME",
            help="Activity provider skill (repeatable): posthog, fullstory.",
        ),
    ] = None,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="Install the migration skill, and adopt unmodified skills left by the older SDK.",
        ),
    ] = False,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Install every skill (the default when nothing is selected)."),
    ] = False,
    agent: Annotated[
        list[str] | None, typer.Option("--agent", metavar="NAME", help=AGENT_HELP)
    ] = None,
    dest: Annotated[Path | None, typer.Option("--dest", metavar="DIR", help=DEST_HELP)] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Update locally edited skills too, after backing them up."),
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    old_list: Annotated[bool, typer.Option("--list", hidden=True)] = False,
    old_validate: Annotated[str | None, typer.Option("--validate", hidden=True)] = None,
) -> None:
    """Install or update the bundled skills (the default subcommand).

    Skills you edited are kept (--force backs them up, then updates them); folders
    that did not come from this command are never touched.
    """
    from autoplay_cli.errors import UsageError

    # The flags of earlier releases: say where they went rather than "no such option".
    if old_list:
        raise UsageError("--list is now a subcommand", hint="run `autoplay install-skills list`")
    if old_validate is not None:
        raise UsageError(
            "--validate is now a subcommand",
            hint=f"run `autoplay install-skills validate {old_validate}`",
        )
    from autoplay_cli import skillpack
    from autoplay_cli.cli import install_skills_render as report

    root = skillpack.find_project_root(Path.cwd())
    skills = skillpack.select(chatbot or [], user_activity or [], migrate=migrate, all_=all_)
    targets, how = skillpack.resolve_targets(root, agent or [], _as_typed(dest))
    the_plan = skillpack.make_plan(targets, skills, skillpack.load(), force=force, migrate=migrate)
    if not dry_run:
        skillpack.apply(the_plan)
    from autoplay_cli.cli import flags

    report.outcome(the_plan, root, how, json_, dry_run, flags.of(ctx))


@install_skills.command(
    "list",
    cls=NamedCommand,
    epilog=examples(
        "autoplay install-skills list",
        "autoplay install-skills list --agent claude --json",
    ),
)
def list_(
    agent: Annotated[
        list[str] | None, typer.Option("--agent", metavar="NAME", help=AGENT_HELP)
    ] = None,
    dest: Annotated[Path | None, typer.Option("--dest", metavar="DIR", help=DEST_HELP)] = None,
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show the catalog and the state of what is installed here.

    States: current, outdated, modified, missing, unmanaged.
    """
    from autoplay_cli.cli import install_skills_render as report
    from autoplay_cli.skillpack import find_project_root

    report.listing(find_project_root(Path.cwd()), agent or [], _as_typed(dest), json_)


@install_skills.command(
    "validate",
    cls=NamedCommand,
    epilog=examples(
        "autoplay install-skills validate my-skills/",
        "autoplay install-skills validate .claude/skills/my-skill --json",
    ),
)
def validate(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="A skill folder (holding SKILL.md), or a folder of skill folders.",
            show_default=False,
        ),
    ],
    json_: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Check skill folders against the Agent Skills specification.

    Errors exit 1; warnings alone exit 0.
    """
    from autoplay_cli.cli import install_skills_render as report

    report.validation(directory, json_)


def _as_typed(dest: Path | None) -> Path | None:
    # As typed: relative to where the user stands, not to the project root.
    return None if dest is None else Path.cwd() / dest
