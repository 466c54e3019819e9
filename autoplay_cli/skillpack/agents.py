"""Which coding agent reads skills from which project folder, and how to tell it is in use.

The map is data. Folders and markers come from each agent's documentation (URL per row);
several agents share the cross-client ``.agents/skills/`` folder, which is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autoplay_cli.errors import UsageError


@dataclass(frozen=True)
class Agent:
    """One coding agent: its project skills folder and the files that betray its use."""

    name: str
    label: str
    folder: str
    markers: tuple[str, ...]
    docs: str


AGENTS: tuple[Agent, ...] = (
    Agent(
        "claude",
        "Claude Code",
        ".claude/skills",
        (".claude", "CLAUDE.md"),
        "https://code.claude.com/docs/en/skills",
    ),
    Agent(
        "cursor",
        "Cursor",
        ".cursor/skills",
        (".cursor", ".cursorrules"),
        "https://cursor.com/docs/context/skills",
    ),
    Agent(
        "codex",
        "OpenAI Codex",
        ".agents/skills",
        ("AGENTS.md", ".codex"),
        "https://developers.openai.com/codex/skills",
    ),
    Agent(
        "copilot",
        "GitHub Copilot",
        ".agents/skills",
        (".github/copilot-instructions.md", ".github/skills", ".github/instructions"),
        "https://docs.github.com/en/copilot/concepts/agents/about-agent-skills",
    ),
    Agent(
        "gemini",
        "Gemini CLI",
        ".agents/skills",
        ("GEMINI.md", ".gemini"),
        "https://geminicli.com/docs/cli/using-agent-skills/",
    ),
    Agent(
        "agents",
        "any Agent Skills client (shared folder)",
        ".agents/skills",
        (".agents",),
        "https://agentskills.io/specification",
    ),
)

BY_NAME: dict[str, Agent] = {a.name: a for a in AGENTS}

# When no agent's files are found: the shared folder, read by Codex, Copilot and Gemini CLI.
DEFAULT_AGENTS: tuple[str, ...] = ("agents",)


@dataclass(frozen=True)
class Target:
    """One folder to install into, and the agents that read it."""

    folder: Path
    agents: tuple[str, ...]


def find_project_root(start: Path) -> Path:
    """The nearest parent of *start* holding ``.git``; *start* itself when there is none."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def detect(root: Path) -> tuple[str, ...]:
    """Names of the agents whose marker files or folders exist under *root*."""
    return tuple(a.name for a in AGENTS if any((root / m).exists() for m in a.markers))


def _check(names: Iterable[str]) -> list[str]:
    chosen = []
    for raw in names:
        key = raw.strip().lower()
        if key not in BY_NAME:
            raise UsageError(
                f"unknown `agent` {raw!r}",
                setting="agent",
                hint=f"valid values: {', '.join(BY_NAME)}",
            )
        chosen.append(key)
    return chosen


def resolve_targets(
    root: Path, agents: Sequence[str] = (), dest: Path | None = None
) -> tuple[list[Target], str]:
    """The folders to write, and how they were chosen: dest, agent, detected or default.

    Agents resolving to the same folder (also through a symlink) share one target.
    """
    if dest is not None:
        if agents:
            raise UsageError(
                "`dest` and `agent` cannot be combined",
                hint="use `dest` for one explicit folder, or `agent` per agent",
            )
        folder = dest if dest.is_absolute() else root / dest
        return [Target(folder, ())], "dest"
    how = "agent"
    names = _check(agents)
    if not names:
        names, how = list(detect(root)), "detected"
        if not names:
            names, how = list(DEFAULT_AGENTS), "default"
    by_folder: dict[Path, tuple[Path, list[str]]] = {}
    for name in names:
        folder = root / BY_NAME[name].folder
        key = folder.resolve()
        entry = by_folder.setdefault(key, (folder, []))
        if name not in entry[1]:
            entry[1].append(name)
    return [Target(folder, tuple(who)) for folder, who in by_folder.values()], how
