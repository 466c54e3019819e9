"""``autoplay install-skills``: copy the bundled agent skills where coding agents look for them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli.cli import output
from autoplay_cli.errors import AutoplayError, InputError, UsageError

if TYPE_CHECKING:
    from autoplay_cli.skillpack.plan import Plan


def _say(message: str) -> None:
    # Long paths and hints must stay on one line for grep and logs: no wrapping.
    output.err().print(message, markup=False, soft_wrap=True, highlight=False)


def _validate(directory: Path, json_: bool) -> None:
    from autoplay_cli.skillpack.validate import validate_tree

    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder", hint="pass a skill folder or a parent")
    folders, problems = validate_tree(directory)
    for p in problems:
        if json_:
            output.emit_json(
                {"path": str(p.path), "line": p.line, "severity": p.severity, "message": p.message}
            )
        else:
            output.emit_text(str(p))
    if not folders:
        raise InputError(
            f"no skill folders in {directory}", hint="a skill is a folder with SKILL.md"
        )
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        raise AutoplayError(
            f"{errors} error(s) in {len(folders)} skill folder(s) under {directory}",
            hint="fix them per https://agentskills.io/specification",
        )
    _say(f"{len(folders)} skill folder(s) valid, {len(problems)} warning(s)")


def _list(root: Path, agents: list[str], dest: Path | None, json_: bool) -> None:
    from autoplay_cli.skillpack import bundle, catalog, plan
    from autoplay_cli.skillpack.agents import resolve_targets

    found = bundle.load()
    rows = plan.status(resolve_targets(root, agents, dest)[0], found)
    if json_:
        output.emit_json({"kind": "bundle", "source": found.source, "location": found.location})
        for s in catalog.CATALOG:
            output.emit_json(s.to_dict())
        for r in rows:
            output.emit_json(r.to_dict(root))
        return
    _say(f"Bundled skills from the {found.source}: {found.location}")
    for s in catalog.CATALOG:
        output.emit_text(
            f"{s.name:<26} {s.version:<7} {s.family:<9} autoplay>={s.min_toolkit:<7} {s.summary}"
        )
    for r in rows:
        output.emit_text(
            f"{plan.relative(r.folder / r.skill, root):<44} {r.state:<10} "
            f"installed {r.installed or '-'}, bundled {r.bundled}"
        )


def _render(the_plan: Plan, root: Path, how: str, json_: bool, dry_run: bool) -> None:
    from autoplay_cli.skillpack.plan import relative

    for i in the_plan.items:
        if json_:
            output.emit_json(i.to_dict(root))
            continue
        version = i.version if i.installed in (None, i.version) else f"{i.installed} -> {i.version}"
        extra = f" [{', '.join(i.modified)}]" if i.modified else ""
        note = f"  ({i.note})" if i.note else ""
        if i.backup is not None:
            note += f"  backup: {relative(i.backup, root)}"
        output.emit_text(f"{i.action.value:<14} {relative(i.path, root)}  {version}{extra}{note}")
    where = ", ".join(
        relative(t.folder, root) + (f" ({', '.join(t.agents)})" if t.agents else "")
        for t in the_plan.targets
    )
    counts = ", ".join(f"{n} {a}" for a, n in the_plan.counts().items() if n)
    _say(f"Targets ({how}): {where}")
    _say(f"{'Dry run, nothing written' if dry_run else 'Done'}: {counts}")
    kept = sorted({i.skill for i in the_plan.items if i.action.value == "kept-modified"})
    if kept:
        _say(
            f"Warning: kept locally edited skill(s): {', '.join(kept)} "
            "(--force backs them up and updates them)"
        )


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
        _validate(validate, json_)
        return
    from autoplay_cli.skillpack import bundle, catalog, plan
    from autoplay_cli.skillpack.agents import find_project_root, resolve_targets

    root = find_project_root(Path.cwd())
    if dest is not None:
        dest = Path.cwd() / dest  # as typed: relative to where the user stands, not the root
    if list_:
        _list(root, agent or [], dest, json_)
        return
    skills = catalog.select(chatbot or [], user_activity or [], migrate=migrate, all_=all_)
    targets, how = resolve_targets(root, agent or [], dest)
    the_plan = plan.make_plan(targets, skills, bundle.load(), force=force, migrate=migrate)
    if not dry_run:
        plan.apply(the_plan)
    _render(the_plan, root, how, json_, dry_run)
