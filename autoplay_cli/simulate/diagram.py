"""The session state machine as a Mermaid ``stateDiagram-v2``, optionally with run counts."""

from __future__ import annotations

from collections import Counter

# (from, to, label): the only transitions the FSM allows (docs/wire.md §5).
TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    ("thinking", "proactive_assistance", "trigger fires, no cooldown"),
    ("thinking", "reactive_assistance", "user opens chat (clears cooldown)"),
    ("proactive_assistance", "thinking", "interaction timeout (starts cooldown)"),
    ("reactive_assistance", "thinking", "interaction timeout (starts cooldown)"),
)


def mermaid(counts: Counter[tuple[str, str]] | None = None) -> str:
    """The diagram; with *counts* (from ``Report.transitions()``) each edge says how often."""
    lines = ["stateDiagram-v2", "    [*] --> thinking"]
    for source, target, label in TRANSITIONS:
        if counts is not None:
            label = f"{label} ×{counts.get((source, target), 0)}"
        lines.append(f"    {source} --> {target}: {label}")
    lines += [
        "    note right of thinking",
        "        proactive offers are blocked while a cooldown is active",
        "    end note",
        "    note left of reactive_assistance",
        "        never directly to or from proactive_assistance",
        "    end note",
    ]
    return "\n".join(lines) + "\n"
