"""``autoplay simulate``: replay sessions through the triggers and the state machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autoplay_cli.cli import output


def simulate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILES",
            help="Scenarios (.ndjson), recordings (`tail --record`) or `emulate` scenarios "
            "(.toml/.json), merged by time.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Trigger config (TOML or JSON); beats the scenario's own.",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help="One JSON object per step (with the state snapshot), then a summary."
        ),
    ] = False,
    diagram: Annotated[
        bool,
        typer.Option(
            "--diagram", help="Print the state machine as Mermaid (with counts when given input)."
        ),
    ] = False,
    summary_only: Annotated[
        bool, typer.Option("--summary-only", help="Print only the summary, not the timeline.")
    ] = False,
    interaction_timeout: Annotated[
        float | None,
        typer.Option(
            "--interaction-timeout",
            metavar="SECONDS",
            help="Override every interaction timeout (tours' own still win).",
            show_default=False,
        ),
    ] = None,
    cooldown: Annotated[
        float | None, typer.Option("--cooldown", metavar="SECONDS", help="Override every cooldown.")
    ] = None,
    trigger: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger",
            metavar="ID=on|off",
            help="Turn a trigger on or off (repeatable).",
            show_default=False,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="TRIGGER.PARAM=VALUE",
            help="Set a trigger parameter (repeatable).",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="URL",
            help="Run through Redis (redis://…) instead of memory; same result.",
            show_default=False,
        ),
    ] = None,
    generate: Annotated[
        int | None,
        typer.Option(
            "--generate",
            metavar="N",
            help="Also simulate N synthetic sessions (emulator personas).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --generate.")] = 0,
    pulse: Annotated[
        float,
        typer.Option(
            "--pulse",
            metavar="SECONDS",
            help="Tick waiting sessions every SECONDS of virtual time (0: at each deadline).",
        ),
    ] = 1.0,
    session: Annotated[
        list[str] | None,
        typer.Option(
            "--session",
            metavar="ID",
            help="Show only this session (repeatable); all are still simulated.",
            show_default=False,
        ),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Run the bundled demo scenario.")] = False,
) -> None:
    """Replay recorded or scripted sessions through the triggers and the session FSM."""
    from autoplay_cli.simulate.runner import RunOptions, run

    options = RunOptions(
        files=list(files or []),
        config=config,
        interaction_timeout_s=interaction_timeout,
        cooldown_period_s=cooldown,
        toggles=list(trigger or []),
        sets=list(set_ or []),
        store=store,
        generate=generate,
        seed=seed,
        pulse_s=pulse,
        demo=demo,
        keep_steps=not summary_only or diagram,
        sessions=list(session or []),
    )
    from autoplay_cli.cli import simulate_render as render
    from autoplay_cli.simulate.diagram import mermaid

    if diagram and not (options.files or options.generate or options.demo):
        render.diagram(mermaid(), json_=json_)
        return
    report = run(options)
    if diagram:
        render.diagram(mermaid(report.transitions()), json_=json_)
    elif json_:
        render.json_lines(report, summary_only=summary_only)
    else:
        output.info(f"Simulated {', '.join(report.names)}")
        render.human(report, summary_only=summary_only)
    if report.namespace:
        # On stderr, so stdout stays identical to an in-memory run.
        output.info(f"Redis keys of this run: {report.namespace}* (kept 1 h for inspection)")
