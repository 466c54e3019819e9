"""File discovery: Python sources only; .gitignore, environments, build dirs and --exclude."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoplay_cli.codemods.discover import discover
from autoplay_cli.errors import InputError


def make(root: Path, *relative: str) -> None:
    for rel in relative:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def found(*paths: Path, **kw: object) -> list[str]:
    root = paths[0]
    return sorted(
        Path(p).relative_to(root).as_posix() if Path(p) != root else "."
        for p in discover(list(paths), **kw)  # type: ignore[arg-type]
    )


def test_only_python_sources_are_taken(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "b.pyi", "c.txt", "pkg/d.py", "pkg/e.pyc", "setup.cfg")
    assert found(tmp_path) == ["a.py", "b.pyi", "pkg/d.py"]


def test_vcs_environment_and_build_directories_are_skipped(tmp_path: Path) -> None:
    make(
        tmp_path,
        "keep.py",
        ".git/hooks/x.py",
        ".venv/lib/x.py",
        "venv/x.py",
        "build/lib/x.py",
        "dist/x.py",
        "node_modules/x.py",
        "__pycache__/x.py",
        "pkg.egg-info/x.py",
        ".tox/py311/x.py",
        "src/site-packages/x.py",
        "myenv/lib/x.py",
        "condaenv/x.py",
    )
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "condaenv" / "conda-meta").mkdir()
    assert found(tmp_path) == ["keep.py"]


def test_gitignore_files_are_respected_and_the_deepest_rule_wins(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(
        tmp_path,
        "app/main.py",
        "app/gen/out.py",
        "app/secret.py",
        "app/keep_secret.py",
        "app/sub/local.py",
        "app/sub/other.py",
        "scratch.py",
    )
    (tmp_path / ".gitignore").write_text("gen/\n*secret.py\n!keep_secret.py\nscratch.py\n")
    (tmp_path / "app" / "sub" / ".gitignore").write_text("local.py\n")
    assert found(tmp_path) == ["app/keep_secret.py", "app/main.py", "app/sub/other.py"]
    # Starting below the repository root still applies the root's .gitignore.
    sub = tmp_path / "app"
    assert found(sub) == ["keep_secret.py", "main.py", "sub/other.py"]
    assert "gen/out.py" in found(sub, respect_gitignore=False)


def test_exclude_globs_match_names_and_relative_paths(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "tests/test_a.py", "migrations/0001.py", "pkg/migrations/0002.py")
    assert found(tmp_path, exclude=["migrations"]) == ["a.py", "tests/test_a.py"]
    assert found(tmp_path, exclude=["tests/*", "*/0002.py"]) == ["a.py", "migrations/0001.py"]
    assert found(tmp_path, exclude=["test_*.py"]) == [
        "a.py",
        "migrations/0001.py",
        "pkg/migrations/0002.py",
    ]


def test_a_file_named_explicitly_is_taken_unless_excluded(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    make(tmp_path, "ignored.py", "script")
    assert list(discover([tmp_path / "ignored.py", tmp_path / "script"])) == [
        tmp_path / "ignored.py",
        tmp_path / "script",
    ]
    assert list(discover([tmp_path / "ignored.py"], exclude=["ignored.py"])) == []


def test_each_file_is_yielded_once(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    assert len(list(discover([tmp_path, tmp_path / "a.py", tmp_path]))) == 1


def test_a_link_and_its_target_are_one_file(tmp_path: Path) -> None:
    # Two entries for one file made the second write fail as "changed while migrated".
    make(tmp_path, "real.py", "outside/other.py")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a_link.py").symlink_to(tmp_path / "real.py")
    (tmp_path / "tree" / "out.py").symlink_to(tmp_path / "outside" / "other.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    # A walk follows no link, so it never reaches files outside the tree.
    assert found(tmp_path / "tree") == []
    assert sorted(Path(p).name for p in discover([tmp_path])) == ["other.py", "real.py"]
    # A link named explicitly is followed, and is the same file as its target.
    assert [p.name for p in discover([tmp_path / "link.py", tmp_path / "real.py"])] == ["link.py"]


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(discover([tmp_path / "nope"]))


def test_fifos_and_dangling_links_are_not_taken(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    assert found(tmp_path) == ["a.py"]


def test_exclude_does_not_look_above_the_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The directory the user runs in may itself be called "tests-something".
    root = tmp_path / "tests-project"
    make(root, "a.py", "tests/b.py", "src/legacy/c.py", "src/d.py")
    monkeypatch.chdir(root)
    assert [p.as_posix() for p in discover([Path(".")], exclude=["*tests*"])] == [
        "a.py",
        "src/d.py",
        "src/legacy/c.py",
    ]
    # ...while a glob may name the path as it was given.
    assert [p.as_posix() for p in discover([Path("src")], exclude=["src/legacy"])] == ["src/d.py"]
