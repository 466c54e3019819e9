"""Helpers for rewriter tests: rewrite and check against the libcst reference, table rows.

The differential check: the splicing rewriter gives exactly what the libcst one gives.
"""

from __future__ import annotations

import textwrap

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.bindings import RewriteResult
from autoplay_cli.codemods.engine import rewrite_by_splicing, rewrite_source
from autoplay_cli.codemods.mapping import DEFAULT_MAP
from autoplay_cli.codemods.rewriter import rewrite_source as rewrite_with_libcst
from autoplay_cli.codemods.source import Unsupported

#: How many checked inputs the splicing path took, and how many it left to libcst.
TALLY = {"spliced": 0, "left": 0}


def _facts(result: RewriteResult) -> tuple[bytes, int, int, list[tuple[int, str]]]:
    reviews = sorted((r.line, r.message) for r in result.reviews if r.kind == "review")
    return result.code, result.imports, result.references, reviews


def assert_same_as_libcst(source: bytes, result: RewriteResult) -> bool:
    """Check *result* (the engine's) against the libcst rewriter; True if it was spliced.

    Also checks the byte pre-filter: a file it drops must need no work at all.
    """
    if not DEFAULT_MAP.may_need_work(source):
        assert result.code == source and result.reviews == []
    try:
        spliced = rewrite_by_splicing(source)
    except Unsupported:
        TALLY["left"] += 1
        return False
    TALLY["spliced"] += 1
    reference = rewrite_with_libcst(source)
    assert _facts(spliced) == _facts(reference)
    assert _facts(result) == _facts(reference)
    return True


ROWS = tuple(row for row in import_map.MODULE_MOVES if row[0] not in import_map.MANUAL_PORTS)
IDS = [old for old, _ in ROWS]


def rewrite(source: str | bytes) -> RewriteResult:
    """The rewrite of *source*, checked against the libcst reference implementation."""
    data = source.encode() if isinstance(source, str) else source
    result = rewrite_source(data)
    assert_same_as_libcst(data, result)
    return result


def check_transformed(before: str, after: str) -> RewriteResult:
    """*before* becomes exactly *after*, which still parses and is a fixed point."""
    before, after = textwrap.dedent(before), textwrap.dedent(after)
    result = rewrite(before)
    assert result.code.decode() == after
    compile(result.code, "<rewritten>", "exec")
    again = rewrite(result.code)
    assert again.code == result.code and again.changes == 0
    return result


def check_noop(source: str) -> RewriteResult:
    source = textwrap.dedent(source)
    result = rewrite(source)
    assert result.code.decode() == source
    assert result.changes == 0
    return result


def split(path: str) -> tuple[str, str]:
    parent, _, last = path.rpartition(".")
    return parent, last
