"""Lookups over the import-migration table: whole dotted components, longest prefix first.

Pure Python (no libcst), so the CLI and the byte pre-filter can use it cheaply.
"""

from __future__ import annotations

import mmap
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
        # Prefixes are tried longest first, so a nested row beats its parent row.
        self._deepest = max((old.count(".") + 1 for old in self.moves), default=0)
        # A dotted path under the root inside free text, e.g. "Optional[autoplay_sdk.x.Y]".
        self.path_pattern = re.compile(rf"(?<![\w.]){re.escape(root)}(?:\.[A-Za-z_]\w*)+")
        # The first component under the root of every legacy path: canonical paths reuse
        # some of these words deeper down (``core.models``), so a word alone proves nothing.
        words = sorted({old.split(".")[1] for old in [*self.moves, *self.manual]})
        legacy = b"(?:" + b"|".join(re.escape(w.encode()) for w in words) + b")"
        gap = rb"[ \t\f\\\r\n]*"  # spaces and line continuations between a path's parts
        self._legacy_word = re.compile(rb"\b" + legacy + rb"\b")
        # Matched right after an occurrence of the root (found with ``find``, which is
        # much faster than a regex search over the whole file):
        # ``autoplay_sdk.models``: an import, a chain or a string spelling a legacy path;
        self._legacy_after_root = re.compile(gap + rb"\." + gap + legacy + rb"\b")
        # ``import autoplay_sdk as sdk`` (then ``sdk.models``): an alias of an SDK module;
        self._alias_after_root = re.compile(rb"(?:[ \t]*\.[ \t]*\w+)*[ \t]+as[ \t]+(\w+)")
        # ``from autoplay_sdk import models``: legacy modules imported by name from the root.
        self._from_before_root = re.compile(rb"\bfrom" + gap + rb"\Z")
        self._import_after_root = re.compile(gap + rb"import\b")
        self._legacy_after = legacy
        self._gap = gap
        # Answers by path: a module asks the same few questions many times (each import,
        # chain and string), and the answers are immutable. Bounded, since the paths come
        # from the code being read.
        self._prefix_cache: dict[str, PrefixHit | None] = {}
        self._module_cache: dict[str, Resolution] = {}

    def in_sdk(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + ".")

    def longest_prefix(self, path: str) -> PrefixHit | None:
        """The longest row equal to *path* or to a leading run of its dotted components."""
        try:
            return self._prefix_cache[path]
        except KeyError:
            pass
        hit = self._longest_prefix(path)
        if len(self._prefix_cache) < _CACHE_LIMIT:
            self._prefix_cache[path] = hit
        return hit

    def _longest_prefix(self, path: str) -> PrefixHit | None:
        if not path.startswith(self.root + "."):
            return None
        parts = path.split(".")
        for count in range(min(len(parts), self._deepest), 1, -1):
            old = ".".join(parts[:count])
            new = self.moves.get(old)
            if new is not None:
                return PrefixHit(old, new, path[len(old) :])
        return None

    def manual_port(self, path: str) -> str | None:
        """The gone legacy module that *path* sits under (no live row covers it), or None."""
        for old in self.manual:
            if (path == old or path.startswith(old + ".")) and self.longest_prefix(path) is None:
                return old
        return None

    def module(self, path: str) -> Resolution:
        """Resolve a path that names a module (an import statement, ``import_module``)."""
        resolution = self._module_cache.get(path)
        if resolution is None:
            resolution = self._module(path)
            if len(self._module_cache) < _CACHE_LIMIT:
                self._module_cache[path] = resolution
        return resolution

    def _module(self, path: str) -> Resolution:
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

    def may_need_work(self, data: bytes | mmap.mmap) -> bool:
        """Cheap byte scan: can this source contain a legacy reference at all?

        Conservative (a file that passes may still need nothing), but a canonical file
        fails it: a legacy word must sit where only a legacy path puts it.
        """
        root = self.root.encode()
        position = data.find(root)  # find, not ``in``: *data* may be an mmap
        if position < 0:
            return False
        for name in self.renames:
            if _has_word(data, name.encode()):
                return True
        aliases: list[bytes] = []
        while position >= 0:
            end = position + len(root)
            if _is_word_at(data, position, end):
                if self._legacy_after_root.match(data, end):
                    return True
                alias = self._alias_after_root.match(data, end)
                if alias is not None:
                    aliases.append(alias.group(1))
                before = data[max(0, position - 64) : position]
                after_import = self._import_after_root.match(data, end)
                if (
                    after_import is not None
                    and self._from_before_root.search(before)
                    and self._legacy_word.search(_imported_names(data, after_import.end()))
                ):
                    return True
            position = data.find(root, end)
        for alias_name in aliases:
            through = re.compile(
                rb"\b"
                + re.escape(alias_name)
                + self._gap
                + rb"\."
                + self._gap
                + self._legacy_after
                + rb"\b"
            )
            if through.search(data):
                return True
        return False


#: Paths remembered per table (each cache); beyond it, answers are computed every time.
_CACHE_LIMIT = 4096


def _is_identifier_byte(byte: int) -> bool:
    return byte == 95 or 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122 or byte > 127


def _is_word_at(data: bytes | mmap.mmap, start: int, end: int) -> bool:
    """Is ``data[start:end]`` a whole word (not part of a longer identifier)?"""
    return (start == 0 or not _is_identifier_byte(data[start - 1])) and (
        end >= len(data) or not _is_identifier_byte(data[end])
    )


def _has_word(data: bytes | mmap.mmap, word: bytes) -> bool:
    position = data.find(word)
    while position >= 0:
        if _is_word_at(data, position, position + len(word)):
            return True
        position = data.find(word, position + len(word))
    return False


_CONTINUED_LINE = re.compile(rb"(?:[^\r\n\\]|\\(?:\r\n|\r|\n)?)*")


def _imported_names(data: bytes | mmap.mmap, start: int) -> bytes:
    """The names part of ``from x import ...`` that starts at *start* (or more of it)."""
    rest = data[start : start + 8192]
    head = rest.lstrip(b" \t\\\r\n")
    if head.startswith(b"("):
        close = head.find(b")")
        # A comment may hold a ")" of its own: then keep the whole window.
        return head if close < 0 or b"#" in head[:close] else head[:close]
    match = _CONTINUED_LINE.match(rest)
    return match.group(0) if match else rest


DEFAULT_MAP = ImportMap()
