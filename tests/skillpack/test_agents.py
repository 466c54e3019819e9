"""The agent folder map: detection, defaults, explicit choices, one write per folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoplay_cli.errors import UsageError
from autoplay_cli.skillpack import agents
from autoplay_cli.skillpack.agents import AGENTS, detect, find_project_root, resolve_targets

MARKERS = [(a.name, m) for a in AGENTS for m in a.markers]


@pytest.mark.parametrize(("name", "marker"), MARKERS, ids=[f"{n}:{m}" for n, m in MARKERS])
def test_each_marker_detects_its_agent(project: Path, name: str, marker: str) -> None:
    path = project / marker
    if marker.endswith((".md", "rules")):  # a file such as CLAUDE.md or .cursorrules
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    else:
        path.mkdir(parents=True)
    assert name in detect(project)
    targets, how = resolve_targets(project)
    assert how == "detected"
    assert project / agents.BY_NAME[name].folder in [t.folder for t in targets]


def test_every_agent_row_is_documented() -> None:
    for a in AGENTS:
        assert a.docs.startswith("https://"), a
        assert a.folder.endswith("/skills") and a.markers


def test_nothing_detected_falls_back_to_the_shared_folder(project: Path) -> None:
    targets, how = resolve_targets(project)
    assert how == "default"
    assert [t.folder for t in targets] == [project / ".agents" / "skills"]


def test_agents_sharing_a_folder_get_one_target(project: Path) -> None:
    targets, how = resolve_targets(project, ["codex", "gemini", "copilot", "claude", "codex"])
    assert how == "agent"
    assert [(t.folder, t.agents) for t in targets] == [
        (project / ".agents/skills", ("codex", "gemini", "copilot")),
        (project / ".claude/skills", ("claude",)),
    ]


def test_a_symlinked_folder_is_written_once(project: Path) -> None:
    (project / ".agents" / "skills").mkdir(parents=True)
    (project / ".claude").mkdir()
    os.symlink(project / ".agents" / "skills", project / ".claude" / "skills")
    targets, _ = resolve_targets(project, ["claude", "codex"])
    assert len(targets) == 1
    assert set(targets[0].agents) == {"claude", "codex"}


def test_dest_overrides_and_cannot_mix_with_agent(project: Path) -> None:
    targets, how = resolve_targets(project, dest=Path("vendor/skills"))
    assert how == "dest"
    assert [t.folder for t in targets] == [project / "vendor/skills"]
    with pytest.raises(UsageError):
        resolve_targets(project, ["claude"], Path("x"))


def test_unknown_agent_lists_the_valid_ones(project: Path) -> None:
    with pytest.raises(UsageError) as info:
        resolve_targets(project, ["windsurf"])
    assert "claude" in (info.value.hint or "")


def test_project_root_is_the_nearest_git_folder(project: Path, tmp_path: Path) -> None:
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    assert find_project_root(sub) == project.resolve()
    loose = tmp_path / "loose"
    loose.mkdir()
    assert find_project_root(loose) == loose.resolve()
