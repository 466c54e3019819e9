"""Which files a migration looks at: Python sources under the given paths, minus ignored ones.

Directory walks skip version-control, virtual-environment and build directories,
paths matched by ``.gitignore`` files, ``--exclude`` globs and symbolic links. A file
named explicitly (a link too) is always taken unless an ``--exclude`` glob matches it.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from autoplay_cli.errors import InputError

SOURCE_SUFFIXES = (".py", ".pyi")

# Directories no user wants rewritten: tool caches, environments, build output.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".direnv",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "__pypackages__",
        "node_modules",
        "site-packages",
        "dist-packages",
        "build",
        "dist",
        "_build",
        "buck-out",
    }
)


def _is_environment(path: Path) -> bool:
    # A virtual environment or conda prefix, whatever it is called.
    return (path / "pyvenv.cfg").is_file() or (path / "conda-meta").is_dir()


@dataclass
class _IgnoreFile:
    base: Path
    spec: object  # pathspec.GitIgnoreSpec, imported lazily


class _GitIgnores:
    """The ``.gitignore`` files that apply to a walk, deepest last (the deepest wins)."""

    def __init__(self) -> None:
        self._cache: dict[Path, _IgnoreFile | None] = {}

    def _load(self, directory: Path) -> _IgnoreFile | None:
        if directory not in self._cache:
            file = directory / ".gitignore"
            entry = None
            if file.is_file():
                import pathspec

                try:
                    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = []
                entry = _IgnoreFile(directory, pathspec.GitIgnoreSpec.from_lines(lines))
            self._cache[directory] = entry
        return self._cache[directory]

    def ancestors(self, start: Path) -> list[Path]:
        """Directories from the repository root (or filesystem root) down to *start*."""
        chain = [start]
        current = start
        while not (current / ".git").exists() and current.parent != current:
            current = current.parent
            chain.append(current)
        return list(reversed(chain))

    def any_file(self, directories: Sequence[Path]) -> bool:
        """Does one of *directories* hold a .gitignore?"""
        return any(self._load(directory) is not None for directory in directories)

    def ignored(self, path: Path, directories: Sequence[Path], *, is_dir: bool) -> bool:
        verdict: bool | None = None
        for directory in directories:
            entry = self._load(directory)
            if entry is None:
                continue
            try:
                relative = path.relative_to(entry.base).as_posix()
            except ValueError:
                continue
            result = entry.spec.check_file(relative + "/" if is_dir else relative)  # type: ignore[attr-defined]
            if result.include is not None:
                verdict = bool(result.include)
        return bool(verdict)


def _excluded(shown: Path, relative: str, globs: Sequence[str]) -> bool:
    """Does a glob match the name, the path below the argument, or the path as given?"""
    if not globs:
        return False
    candidates = {shown.name, relative, shown.as_posix()}
    return any(fnmatch.fnmatch(c, g.rstrip("/")) for g in globs for c in candidates)


def discover(
    paths: Sequence[Path], *, exclude: Sequence[str] = (), respect_gitignore: bool = True
) -> Iterator[Path]:
    """Yield each Python source under *paths* once, in a stable order."""
    seen: set[str] = set()  # real paths, as strings: cheaper to build and hash than Paths
    ignores = _GitIgnores()
    for given in paths:
        if not given.exists():
            raise InputError(
                f"{given}: no such file or directory", hint="pass existing files or directories"
            )
        start = Path(os.path.abspath(given))
        if start.is_file():
            # Keyed by the real path: a link named beside its target is one file.
            real = os.path.realpath(start)
            if not _excluded(given, given.name, exclude) and real not in seen:
                seen.add(real)
                yield given
            continue
        base = ignores.ancestors(start)[:-1] if respect_gitignore else []
        # The walk follows no links, so below *start* a real path is the real path of
        # *start* joined with the relative one: no realpath() per file.
        real_start = os.path.realpath(start)
        for directory, dirnames, filenames in os.walk(start):
            here = Path(directory)
            scope = [*base, *(_parents_within(here, start))] if respect_gitignore else []
            # Most trees have few .gitignore files: skip the per-file check where none apply.
            scoped = respect_gitignore and ignores.any_file(scope)
            kept = []
            for name in sorted(dirnames):
                sub = here / name
                if name in SKIPPED_DIRS or name.endswith(".egg-info") or _is_environment(sub):
                    continue
                relative = sub.relative_to(start).as_posix()
                if _excluded(given / relative, relative, exclude):
                    continue
                if scoped and ignores.ignored(sub, scope, is_dir=True):
                    continue
                kept.append(name)
            dirnames[:] = kept
            prefix = os.path.relpath(directory, start)
            prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(directory, name)
                # Walks follow no links, to files as to directories: a link's target is
                # visited where it lives (if inside the tree and not ignored), and a link
                # out of the tree must not let the rewrite reach files the user did not name.
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue
                if not stat.S_ISREG(mode):  # a link, or a FIFO that would block
                    continue
                relative = prefix + name
                real = os.path.join(real_start, relative)
                if real in seen:
                    continue
                shown = given / relative  # built once: a Path costs microseconds
                if _excluded(shown, relative, exclude):
                    continue
                if scoped and ignores.ignored(here / name, scope, is_dir=False):
                    continue
                seen.add(real)
                yield shown


def _parents_within(directory: Path, start: Path) -> list[Path]:
    """*start* and each directory between it and *directory*, top down."""
    chain = [directory]
    current = directory
    while current != start and current.parent != current:
        current = current.parent
        chain.append(current)
    return list(reversed(chain))
