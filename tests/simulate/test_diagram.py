"""The Mermaid diagram lists exactly the transitions the FSM allows."""

from __future__ import annotations

from collections import Counter

from autoplay_cli.simulate import mermaid


def test_diagram_edges() -> None:
    text = mermaid()
    edges = [line.strip() for line in text.splitlines() if "-->" in line]
    assert edges[0] == "[*] --> thinking"
    pairs = {tuple(e.split(":")[0].split(" --> ")) for e in edges[1:]}
    assert pairs == {
        ("thinking", "proactive_assistance"),
        ("thinking", "reactive_assistance"),
        ("proactive_assistance", "thinking"),
        ("reactive_assistance", "thinking"),
    }
    counted = mermaid(Counter({("thinking", "reactive_assistance"): 2}))
    assert "user opens chat (clears cooldown) ×2" in counted
    assert "trigger fires, no cooldown ×0" in counted
