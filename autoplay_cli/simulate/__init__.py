"""Replay recorded or scripted sessions through the triggers and the session FSM.

Inputs (scenarios, recordings, generated sessions) and virtual clock, the engine,
and the report model; no CLI imports. ``autoplay simulate`` is a thin layer over
:func:`run`, which calls :func:`simulate`. The face is ``__all__``; the modules
behind it (``inputs``, ``engine``, ``report``, …) are internals.
"""

from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.diagram import mermaid
from autoplay_cli.simulate.engine import DEFAULT_PULSE_S, Engine, simulate, simulate_async
from autoplay_cli.simulate.inputs import (
    EVENT_KINDS,
    Scenario,
    SimEvent,
    SimulationInput,
    load_inputs,
    load_scenario,
    parse_scenario,
)
from autoplay_cli.simulate.report import (
    LINE_WIDTH,
    SUMMARY_HEADER,
    TIMELINE_HEADER,
    Report,
    SessionSummary,
    Step,
    format_table,
    layout,
)
from autoplay_cli.simulate.runner import RunOptions, run

__all__ = [
    "DEFAULT_PULSE_S",
    "EVENT_KINDS",
    "LINE_WIDTH",
    "SUMMARY_HEADER",
    "TIMELINE_HEADER",
    "Engine",
    "Report",
    "RunOptions",
    "Scenario",
    "SessionSummary",
    "SimEvent",
    "SimulationInput",
    "Step",
    "VirtualClock",
    "format_table",
    "layout",
    "load_inputs",
    "load_scenario",
    "mermaid",
    "parse_scenario",
    "run",
    "simulate",
    "simulate_async",
]
