"""Find and read the skills shipped with the toolkit.

An installed wheel carries them as package data in ``autoplay_cli/_skills``; a source
checkout or an editable install reads the top-level ``skills/`` folder instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from autoplay_cli.errors import AutoplayError

SKILL_FILE = "SKILL.md"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BundledSkill:
    """One bundled skill: its files as relative POSIX paths mapped to their bytes."""

    name: str
    files: dict[str, bytes]

    def hashes(self) -> dict[str, str]:
        return {rel: sha256(data) for rel, data in sorted(self.files.items())}


@dataclass(frozen=True)
class Bundle:
    """Every bundled skill, and where they were read from."""

    source: str  # "wheel" or "source tree"
    location: str
    skills: dict[str, BundledSkill] = field(default_factory=dict)


def _walk(node: Traversable, prefix: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        # Editor and interpreter droppings are never part of a skill.
        if child.name.startswith(".") or child.name == "__pycache__":
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            files.update(_walk(child, rel + "/"))
        elif child.is_file():
            files[rel] = child.read_bytes()
    return files


def locate() -> tuple[str, Traversable]:
    """Where the bundled skills live: the wheel's package data first, then the source tree."""
    packaged = resources.files("autoplay_cli").joinpath("_skills")
    if packaged.is_dir():
        return "wheel", packaged
    tree = Path(__file__).resolve().parents[2] / "skills"
    if tree.is_dir():
        return "source tree", tree
    raise AutoplayError(
        "the bundled skills are missing from this installation",
        hint="reinstall the toolkit (`pip install --force-reinstall autoplay`)",
    )


def load(root: Traversable | None = None) -> Bundle:
    """Read every bundled skill folder (a folder holding ``SKILL.md``)."""
    if root is None:
        source, root = locate()
    else:
        source = "given"
    skills = {
        child.name: BundledSkill(child.name, _walk(child))
        for child in sorted(root.iterdir(), key=lambda c: c.name)
        if child.is_dir() and child.joinpath(SKILL_FILE).is_file()
    }
    return Bundle(source, str(root), skills)
