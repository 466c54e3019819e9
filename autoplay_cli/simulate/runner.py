"""One call from command-line choices to a report: inputs, config, overrides, store.

``autoplay simulate`` parses its options into :class:`RunOptions` and calls
:func:`run`; tests and integrators can do the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from autoplay_cli.errors import InputError, UsageError
from autoplay_cli.simulate.engine import (
    DEFAULT_PULSE_S,
    MAX_PULSE_S,
    MIN_PULSE_S,
    simulate,
    valid_pulse,
)
from autoplay_cli.simulate.inputs import load_inputs
from autoplay_cli.simulate.report import Report
from autoplay_cli.triggers.config import (
    TriggerConfig,
    load_trigger_config,
    parse_set,
    parse_toggle,
)

STORE_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass
class RunOptions:
    """Everything a simulation run needs, as given on the command line."""

    files: list[Path] = field(default_factory=list)
    config: Path | None = None
    interaction_timeout_s: float | None = None
    cooldown_period_s: float | None = None
    toggles: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    store: str | None = None
    generate: int | None = None
    seed: int = 0
    pulse_s: float = DEFAULT_PULSE_S
    demo: bool = False
    keep_steps: bool = True
    sessions: list[str] = field(default_factory=list)


def demo_files() -> tuple[Path, Path]:
    """The bundled demo scenario and its trigger config (copies of ``examples/simulate``)."""
    folder = resources.files("autoplay_cli.simulate") / "demo"
    return Path(str(folder / "demo.ndjson")), Path(str(folder / "triggers.toml"))


def resolve_config(options: RunOptions, named_by_scenario: str | None) -> TriggerConfig:
    """``options.config`` beats the scenario header's ``config``; then the other overrides."""
    path = options.config or (Path(named_by_scenario) if named_by_scenario else None)
    config = load_trigger_config(path) if path else TriggerConfig()
    for name, value in (
        ("interaction_timeout_s", options.interaction_timeout_s),
        ("cooldown_period_s", options.cooldown_period_s),
    ):
        cooldown = name == "cooldown_period_s"
        bad = value is not None and (
            not math.isfinite(value) or value < 0 or (value == 0 and not cooldown)
        )
        if value is not None and bad:
            raise UsageError(
                f"`{name}` must be {'≥' if cooldown else '>'} 0 seconds, got {value:g}",
                setting=name,
            )
    toggles = dict(parse_toggle(t) for t in options.toggles)
    return config.with_overrides(
        interaction_timeout_s=options.interaction_timeout_s,
        cooldown_period_s=options.cooldown_period_s,
        toggles=toggles,
        sets=[parse_set(s) for s in options.sets],
    )


def run(
    options: RunOptions, around: Callable[[], AbstractContextManager[object]] = nullcontext
) -> Report:
    """Load the inputs, resolve the configuration, and simulate.

    The simulation itself runs inside ``around()`` (once the inputs are loaded): the
    command uses it for process-wide tuning, which this library never does itself.
    """
    files = list(options.files)
    if options.demo:
        files.insert(0, demo_files()[0])
    if not files and options.generate is None:
        raise UsageError(
            "nothing to simulate: give scenario or recording FILEs, `demo`, or `generate` N",
            hint="try `autoplay simulate --demo` or "
            "`autoplay simulate examples/simulate/demo.ndjson`",
        )
    if options.store is not None and not options.store.startswith(STORE_SCHEMES):
        raise UsageError(
            f"`store` {options.store!r}: expected a redis:// URL",
            setting="store",
            hint="e.g. `store` redis://127.0.0.1:6379/15; leave it out to simulate in memory",
        )
    if not valid_pulse(options.pulse_s):
        raise UsageError(
            f"`pulse_s` must be 0 or {MIN_PULSE_S:g}–{MAX_PULSE_S:g} seconds, "
            f"got {options.pulse_s:g}",
            setting="pulse_s",
            hint="0 ticks each session exactly at its deadline",
        )
    generated = []
    if options.generate is not None:
        if options.generate < 1:
            raise UsageError(f"`generate` must be ≥ 1, got {options.generate}", setting="generate")
        from autoplay_cli.emulator.traffic import generate_sessions

        generated = generate_sessions(options.generate, seed=options.seed)
    # Views: the engine reads the same attributes from them, without a model per envelope.
    inputs = load_inputs(files, generated, views=True)
    if options.generate is not None:
        inputs.names.append(f"generated: {options.generate} sessions, seed {options.seed}")
    config = resolve_config(options, inputs.config)
    if not inputs.events:
        raise InputError(
            "the input holds no events", hint="a scenario needs at least one actions or chat event"
        )
    with around():
        report = simulate(
            inputs,
            config,
            store_url=options.store,
            pulse_s=options.pulse_s,
            keep_steps=options.keep_steps,
            snapshots=options.keep_steps,
        )
    # Sessions are simulated together (they may share conversations); --session only
    # narrows what is shown.
    return report.only(options.sessions) if options.sessions else report
