"""Lookups over the import-migration table: whole dotted components, longest prefix first.

Pure Python (no libcst), so the CLI and the byte pre-filter can use it cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from autoplay_cli.codemods import import_map


class Verdict(Enum):
    """What the table says about one module path."""

    UNCHANGED = "unchanged"  # not under the SDK, the SDK root, or already canonical
    MOVED = "moved"  # a row of the table: rewrite to ``Resolution.new``
    UNNAMED = "unnamed"  # a submodule of a legacy module that the table does not name
    MANUAL = "manual"  # under a module whose listed home is gone: a manual port


@dataclass(frozen=True)
class Resolution:
    verdict: Verdict
    new: str | None = None  # the canonical path, for MOVED
    legacy_parent: str | None = None  # the legacy row it sits under, for UNNAMED and MANUAL


@dataclass(frozen=True)
class PrefixHit:
    """The longest legacy row that is a whole-component prefix of a dotted path."""

    old: str
    new: str
    rest: str  # what follows the prefix, with its leading dot ("" for an exact hit)

    @property
    def rewritten(self) -> str:
        return self.new + self.rest


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")


def is_dotted(text: str) -> bool:
    """True when *text* is a plain dotted Python path (``a.b.c``)."""
    return _DOTTED.match(text) is not None


class ImportMap:
    """The table, indexed for the questions the rewriter asks."""

    def __init__(
        self,
        moves: tuple[tuple[str, str], ...] = import_map.MODULE_MOVES,
        renames: tuple[tuple[str, str], ...] = import_map.NAME_RENAMES,
        root: str = import_map.ROOT,
        manual: tuple[str, ...] = import_map.MANUAL_PORTS,
    ) -> None:
        self.root = root
        if len(dict(moves)) != len(moves):
            raise ValueError("the import-migration table lists a legacy path twice")
        # Rows whose target is gone are not rewritten; their subtree is a manual port,
        # except where a longer row still has a live home.
        self.manual = tuple(sorted(manual, key=lambda old: old.count(".")))
        self.moves = {old: new for old, new in moves if old not in manual}
        self.renames = dict(renames)
        # Longest first, so a nested row beats its parent row.
        self._by_length = sorted(self.moves, key=lambda old: old.count("."), reverse=True)
        # A dotted path under the root inside free text, e.g. "Optional[autoplay_sdk.x.Y]".
        self.path_pattern = re.compile(rf"(?<![\w.]){re.escape(root)}(?:\.[A-Za-z_]\w*)+")
        words = {old.split(".")[1] for old in [*self.moves, *self.manual]} | set(self.renames)
        alternation = b"|".join(re.escape(w.encode()) for w in sorted(words))
        # A file can only need work if it names the root and one legacy word.
        self._word_pattern = re.compile(rb"\b(?:" + alternation + rb")\b")

    def in_sdk(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + ".")

    def longest_prefix(self, path: str) -> PrefixHit | None:
        """The longest row equal to *path* or to a leading run of its dotted components."""
        if not path.startswith(self.root + "."):
            return None
        for old in self._by_length:
            if path == old or path.startswith(old + "."):
                return PrefixHit(old, self.moves[old], path[len(old) :])
        return None

    def manual_port(self, path: str) -> str | None:
        """The gone legacy module that *path* sits under (no live row covers it), or None."""
        for old in self.manual:
            if (path == old or path.startswith(old + ".")) and self.longest_prefix(path) is None:
                return old
        return None

    def module(self, path: str) -> Resolution:
        """Resolve a path that names a module (an import statement, ``import_module``)."""
        hit = self.longest_prefix(path)
        if hit is None:
            gone = self.manual_port(path)
            if gone is not None:
                return Resolution(Verdict.MANUAL, legacy_parent=gone)
            return Resolution(Verdict.UNCHANGED)
        if not hit.rest:
            return Resolution(Verdict.MOVED, new=hit.new)
        return Resolution(Verdict.UNNAMED, legacy_parent=hit.old)

    def exact(self, path: str) -> str | None:
        """The canonical path when *path* is itself a row of the table."""
        return self.moves.get(path)

    def renamed(self, name: str) -> str | None:
        return self.renames.get(name)

    def may_need_work(self, data: bytes) -> bool:
        """Cheap byte scan: can this source contain a legacy reference at all?"""
        return self.root.encode() in data and self._word_pattern.search(data) is not None


DEFAULT_MAP = ImportMap()
