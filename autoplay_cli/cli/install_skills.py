"""``autoplay install-skills``: copy the bundled agent skills where coding agents look for them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autoplay_cli.errors import UsageError


def install_skills(
    chatbot: Annotated[
        list[str] | None,
        typer.Option(
            "--chatbot",
            metavar="NAME",
            help="Chatbot skill to install "
            "(repeatable): intercom, ada, botpress, dify, crisp, "
            "landbot, tidio.",
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
        list[str] | None,
        typer.Option(
            "--agent",
            metavar="NAME",
            help="Agent to install for (repeatable): "
            "claude, cursor, codex, copilot, gemini, agents. "
            "Default: detected from the project.",
        ),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option(
            "--dest", metavar="DIR", help="Install into this one folder (relative to here)."
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Show the catalog and what is installed here.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Update locally edited skills too, after backing them up."),
    ] = False,
    validate: Annotated[
        Path | None,
        typer.Option(
            "--validate",
            metavar="DIR",
            help="Check a skill folder (or a folder of skills) against the Agent Skills spec.",
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Install the bundled agent skills for Claude Code, Cursor, Codex, Copilot, Gemini CLI."""
    from autoplay_cli.cli import install_skills_render as report

    if validate is not None:
        if (
            list_
            or chatbot
            or user_activity
            or migrate
            or all_
            or agent
            or dest
            or force
            or dry_run
        ):
            raise UsageError("--validate cannot be combined with install options")
        report.validation(validate, json_)
        return
    from autoplay_cli.skillpack import bundle, catalog, plan
    from autoplay_cli.skillpack.agents import find_project_root, resolve_targets

    root = find_project_root(Path.cwd())
    if dest is not None:
        dest = Path.cwd() / dest  # as typed: relative to where the user stands, not the root
    if list_:
        report.listing(root, agent or [], dest, json_)
        return
    skills = catalog.select(chatbot or [], user_activity or [], migrate=migrate, all_=all_)
    targets, how = resolve_targets(root, agent or [], dest)
    the_plan = plan.make_plan(targets, skills, bundle.load(), force=force, migrate=migrate)
    if not dry_run:
        plan.apply(the_plan)
    report.outcome(the_plan, root, how, json_, dry_run)
