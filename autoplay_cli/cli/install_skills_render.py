"""How ``autoplay install-skills`` reports: plans, the catalog listing, validation findings.

Data lines go to stdout (text or ``--json``); summaries and warnings to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from autoplay_cli.cli import output
from autoplay_cli.cli.flags import Speller, spelled
from autoplay_cli.errors import AutoplayError, InputError

if TYPE_CHECKING:
    from autoplay_cli.skillpack import Plan


def say(message: str) -> None:
    # Long paths and hints must stay on one line for grep and logs: no wrapping.
    output.err().print(message, markup=False, soft_wrap=True, highlight=False)


def validation(directory: Path, json_: bool) -> None:
    """``install-skills validate DIR``: print each finding; raise on an error or no skill."""
    from autoplay_cli.skillpack import validate_tree

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
    say(f"{len(folders)} skill folder(s) valid, {len(problems)} warning(s)")


def listing(root: Path, agents: list[str], dest: Path | None, json_: bool) -> None:
    """``install-skills list``: the bundled catalog, then what each target folder holds."""
    from autoplay_cli import skillpack

    found = skillpack.load()
    rows = skillpack.status(skillpack.resolve_targets(root, agents, dest)[0], found)
    if json_:
        output.emit_json({"kind": "bundle", "source": found.source, "location": found.location})
        for s in skillpack.CATALOG:
            output.emit_json(s.to_dict())
        for r in rows:
            output.emit_json(r.to_dict(root))
        return
    say(f"Bundled skills from the {found.source}: {found.location}")
    for s in skillpack.CATALOG:
        output.emit_text(
            f"{s.name:<26} {s.version:<7} {s.family:<9} autoplay>={s.min_toolkit:<7} {s.summary}"
        )
    for r in rows:
        output.emit_text(
            f"{skillpack.relative(r.folder / r.skill, root):<44} {r.state:<10} "
            f"installed {r.installed or '-'}, bundled {r.bundled}"
        )


def outcome(
    the_plan: Plan, root: Path, how: str, json_: bool, dry_run: bool, spell: Speller | None = None
) -> None:
    """One line per planned item, then the targets and the counts on stderr.

    *spell* says the settings an item's note names (`force`) as the command's flags.
    """
    from autoplay_cli.skillpack import relative

    for i in the_plan.items:
        said = i.note if spell is None or not i.note else spelled(i.note, spell)
        if json_:
            output.emit_json({**i.to_dict(root), "note": said})
            continue
        version = i.version if i.installed in (None, i.version) else f"{i.installed} -> {i.version}"
        extra = f" [{', '.join(i.modified)}]" if i.modified else ""
        note = f"  ({said})" if said else ""
        if i.backup is not None:
            note += f"  backup: {relative(i.backup, root)}"
        output.emit_text(f"{i.action.value:<14} {relative(i.path, root)}  {version}{extra}{note}")
    where = ", ".join(
        relative(t.folder, root) + (f" ({', '.join(t.agents)})" if t.agents else "")
        for t in the_plan.targets
    )
    counts = ", ".join(f"{n} {a}" for a, n in the_plan.counts().items() if n)
    say(f"Targets ({how}): {where}")
    say(f"{'Dry run, nothing written' if dry_run else 'Done'}: {counts}")
    kept = sorted({i.skill for i in the_plan.items if i.action.value == "kept-modified"})
    if kept:
        say(
            f"Warning: kept locally edited skill(s): {', '.join(kept)} "
            "(--force backs them up and updates them)"
        )
