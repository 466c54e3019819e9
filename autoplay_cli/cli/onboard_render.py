"""How ``autoplay onboard`` shows its result: one JSON object, or a panel on stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoplay_cli.cli import output
from autoplay_cli.cli.flags import Speller, spelled

if TYPE_CHECKING:
    from autoplay_cli.onboarding import OnboardPlan, OnboardResult


def render_dry_run(plan: OnboardPlan, json_: bool, spell: Speller | None = None) -> None:
    if json_:
        output.emit_json(plan.describe())
        return
    output.info("Dry run: nothing was sent.")
    lines = plan.describe_lines()
    if spell is not None:
        lines = [spelled(line, spell) for line in lines]
    output.emit_text("\n".join(lines))


def render_result(
    result: OnboardResult,
    json_: bool,
    out: output.Output | None = None,
    spell: Speller | None = None,
) -> None:
    """The result; *spell* names the settings in its notes, steps and error as flags."""
    if spell is not None:
        import dataclasses

        s = spell
        result = dataclasses.replace(
            result,
            notes=[spelled(n, s) for n in result.notes],
            next_steps=[spelled(n, s) for n in result.next_steps],
        )
    if json_:
        data = result.to_dict()
        if result.error is not None and spell is not None:
            data["error"] = result.error.one_line(spell)
        output.emit_json(data)
        return
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    rows = result.rows()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True, overflow="ignore")
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    body = Table.grid()
    body.add_row(grid)
    for note in result.notes:
        body.add_row(Text("\n" + note))
    steps = [f"  {n}. {step}" for n, step in enumerate(result.next_steps, 1)]
    body.add_row(Text("\nNext steps:\n" + "\n".join(steps)))
    verb = "re-registered" if result.reregistered else "registered"
    panel = Panel(body, title=Text(f"Product {result.product_id} {verb}"), title_align="left")
    console = (out or output.current()).out()
    # Never fold a secret across lines: widen to the longest row rather than wrap it.
    widest = max(len(label) for label, _ in rows) + max(len(value) for _, value in rows) + 8
    width = console.width
    console.width = max(width, widest)
    try:
        console.print(panel)
    finally:
        console.width = width
