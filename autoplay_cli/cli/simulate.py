"""``autoplay simulate``: replay sessions through the triggers and the state machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autoplay_cli.cli import output

# Bounds of the command-line values: beyond them a run means nothing (a cooldown of
# 1e308 s) or cannot fit in memory (10,000 generated sessions take about 330 MB).
MAX_TIMING_S = 30 * 86400
MAX_GENERATE = 100_000
TRIGGER_IDS = "canonical_url_ping_pong, user_page_dwell"


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
            help="Override every interaction timeout (tours' own still win); "
            f"at most {MAX_TIMING_S} (30 days).",
            show_default=False,
        ),
    ] = None,
    cooldown: Annotated[
        float | None,
        typer.Option(
            "--cooldown",
            metavar="SECONDS",
            help=f"Override every cooldown; at most {MAX_TIMING_S} (30 days).",
            show_default=False,
        ),
    ] = None,
    trigger: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger",
            metavar="ID=on|off",
            help=f"Turn a trigger on or off (repeatable). IDs: {TRIGGER_IDS}, "
            "or a criteria trigger of the config.",
            show_default=False,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="TRIGGER.PARAM=VALUE",
            help="Set a trigger parameter (repeatable). PARAM: min_cycles, hesitation "
            "(canonical_url_ping_pong); dwell_threshold_seconds, user_page_dwell_max_actions "
            "(user_page_dwell); interaction_timeout_s, cooldown_period_s (any trigger).",
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
    seed: Annotated[int, typer.Option("--seed", metavar="SEED", help="Seed for --generate.")] = 0,
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
    """Replay recorded or scripted sessions through the triggers and the session FSM.

    \b
    Examples:
      autoplay simulate --demo
      autoplay simulate today.ndjson --config triggers.toml --cooldown 30
      autoplay simulate --generate 200 --seed 7 --summary-only
    """
    from autoplay_cli.errors import UsageError
    from autoplay_cli.simulate import RunOptions, run

    for flag, value in (("--interaction-timeout", interaction_timeout), ("--cooldown", cooldown)):
        # Lower bounds and NaN are checked with the config; here only what the flag adds.
        if value is not None and value > MAX_TIMING_S:
            raise UsageError(
                f"{flag} must be at most {MAX_TIMING_S} seconds (30 days), got {value:g}",
                hint="a longer period means the same as 30 days in any simulation",
            )
    if generate is not None and generate > MAX_GENERATE:
        raise UsageError(
            f"--generate must be at most {MAX_GENERATE}, got {generate}",
            hint="about 33 KB of memory per session; run several seeds for more",
        )

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
    from autoplay_cli.cli.tuning import quiet_collector
    from autoplay_cli.simulate import mermaid

    if diagram and not (options.files or options.generate or options.demo):
        render.diagram(mermaid(), json_=json_)
        return
    report = run(options, around=quiet_collector)
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
