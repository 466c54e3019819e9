"""Fixtures for the skill-pack tests: the bundle from the source tree, a fresh project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autoplay_cli.skillpack import bundle as bundle_mod
from autoplay_cli.skillpack.bundle import Bundle, BundledSkill

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return bundle_mod.load(SKILLS_DIR)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git project (the root the installer resolves to)."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    return tree


@pytest.fixture
def make_variant() -> Callable[[Bundle, dict[str, dict[str, bytes | None]]], Bundle]:
    return variant


def tree(root: Path) -> dict[str, bytes]:
    """Every file under *root* (outside .git), by relative path, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def variant(base: Bundle, changes: dict[str, dict[str, bytes | None]]) -> Bundle:
    """A copy of *base* with some files replaced (bytes) or removed (None), per skill."""
    skills = {}
    for name, skill in base.skills.items():
        files = dict(skill.files)
        for rel, data in changes.get(name, {}).items():
            if data is None:
                files.pop(rel, None)
            else:
                files[rel] = data
        skills[name] = BundledSkill(name, files)
    return Bundle("given", "variant", skills)
