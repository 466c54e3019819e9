"""Rendering of ``autoplay simulate`` results: the coloured timeline, summary, JSON, diagram."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from autoplay_cli.cli import output

if TYPE_CHECKING:
    from autoplay_cli.simulate import Report

DECISION_STYLES = {
    "offer": "bold green",
    "blocked": "yellow",
    "rejected": "bold red",
    "timeout": "cyan",
    "skipped": "dim",
    "-": "dim",
    "no-op": "dim",
}
STATE_STYLES = {"proactive": "green", "reactive": "magenta", "thinking": ""}


def _print_table(
    header: tuple[str, ...],
    rows: list[tuple[str, ...]],
    styles: dict[int, dict[str, str]],
    *,
    width: int | None = None,
) -> None:
    """Columns as in ``report.format_table``; colour only when the terminal allows it."""
    from autoplay_cli.simulate import format_table, layout

    lines = format_table(header, rows, width)
    if not output.color_enabled(sys.stdout):
        output.emit_text("\n".join(lines))
        return
    from rich.text import Text

    widths, placed = layout(header, rows, width or 10**9)
    console = output.out()
    console.print(Text(lines[0], style="bold"), soft_wrap=True)
    for row, (inline, below) in zip(rows, placed, strict=True):
        text = Text()
        cells = row if inline else (*row[:-1], "")
        for i, cell in enumerate(cells):
            pad = "" if i == len(cells) - 1 else " " * (widths[i] - len(cell) + 2)
            style = next((s for k, s in styles.get(i, {}).items() if cell.startswith(k)), "")
            text.append(cell, style=style)
            text.append(pad)
        text.rstrip()
        console.print(text, soft_wrap=True)
        for extra in below:
            console.print(Text(extra, style="dim"), soft_wrap=True)


def human(report: Report, *, summary_only: bool = False) -> None:
    """The timeline, then the per-session summary and the overall figures."""
    from autoplay_cli.simulate import LINE_WIDTH, SUMMARY_HEADER, TIMELINE_HEADER

    if not summary_only:
        _print_table(
            TIMELINE_HEADER,
            report.timeline_rows(),
            {4: DECISION_STYLES, 5: STATE_STYLES},
            width=LINE_WIDTH,
        )
        output.emit_text("")
    output.emit_text("Summary")
    _print_table(SUMMARY_HEADER, report.summary_rows(), {})
    output.emit_text("\n".join(report.overall_lines()))


def json_lines(report: Report, *, summary_only: bool = False) -> None:
    if not summary_only:
        for step in report.steps:
            output.emit_json(step.to_json(report.start))
    output.emit_json(report.summary_json())


def diagram(text: str, *, json_: bool) -> None:
    if json_:
        output.emit_json({"type": "diagram", "format": "mermaid", "diagram": text})
    else:
        output.emit_text(text.rstrip("\n"))
