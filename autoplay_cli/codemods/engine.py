"""Rewrite one module: ``ast`` finds what needs work, the fixers splice new text in place.

Only the top-level statements whose lines name something of interest are walked. A
construct the fixers do not handle sends the file to the libcst rewriter (the reference
implementation), as does source that ``ast`` on this Python cannot parse.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from autoplay_cli.codemods.bindings import (
    Bindings,
    ParseFailure,
    Review,
    RewriteResult,
    ast_bindings,
    note_imports,
)
from autoplay_cli.codemods.fixers import REGISTRY, Context
from autoplay_cli.codemods.fixers.base import (
    CHAIN_INNER,
    IN_ALL,
    IN_ANNOTATION,
    IN_FSTRING,
)
from autoplay_cli.codemods.fixers.calls import ALL_METHODS
from autoplay_cli.codemods.fixers.manual_ports import find_manual_ports
from autoplay_cli.codemods.mapping import DEFAULT_MAP, ImportMap
from autoplay_cli.codemods.source import SourceText, Unsupported

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def rewrite_source(source: bytes, table: ImportMap = DEFAULT_MAP) -> RewriteResult:
    """Rewrite one module's bytes.

    Raises ``ParseFailure`` when it does not parse, ``RoundTripError`` when the libcst
    path cannot give it back byte for byte, and ``UnicodeDecodeError``, ``LookupError``
    or ``SyntaxError`` when it cannot be decoded.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Not Python for this interpreter (or too deep for its parser): libcst decides.
        return _full_path(source, table, None)
    try:
        result = _splice(source, tree, table)
    except Unsupported:
        result = _full_path(source, table, tree)
    return result


def rewrite_by_splicing(source: bytes, table: ImportMap = DEFAULT_MAP) -> RewriteResult:
    """The splicing path alone: raises ``Unsupported`` where the libcst path would take
    the file (differential tests compare the two)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise Unsupported("ast cannot parse it") from exc
    return _splice(source, tree, table)


def _full_path(source: bytes, table: ImportMap, tree: ast.Module | None) -> RewriteResult:
    import libcst

    from autoplay_cli.codemods.rewriter import rewrite_source as rewrite_with_libcst

    try:
        result = rewrite_with_libcst(source, table)
    except libcst.ParserSyntaxError as exc:
        reason = str(getattr(exc, "message", "") or exc).strip().splitlines()[0]
        raise ParseFailure(int(getattr(exc, "raw_line", 0) or 0), reason) from exc
    result.reviews = _merged(result.reviews, _manual_ports(source, tree, table))
    return result


def _manual_ports(source: bytes, tree: ast.Module | None, table: ImportMap) -> list[Review]:
    if tree is None or not table.manual or b"agent_states" not in source:
        return []
    bindings = Bindings(table)
    ast_bindings(tree, bindings)
    return find_manual_ports(tree, bindings, table)


def _merged(reviews: list[Review], ports: list[Review]) -> list[Review]:
    """One list in line order (a stable sort: same-line items keep the rewriter's order)."""
    return sorted([*reviews, *ports], key=lambda review: review.line)


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _lines_naming(source: SourceText, names: Iterable[str], also: Iterable[int] = ()) -> list[int]:
    """The lines where one of *names* appears as a whole word (in code, a string or a
    comment: a superset is fine), with the lines *also*. ``str.find`` per name: no regex
    to build per file."""
    text, starts, found = source.text, source.line_starts, set(also)
    for name in names:
        size = len(name)
        start = text.find(name)
        while start >= 0:
            end = start + size
            # Slices, not indexing: empty at either end of the text (``text[-1:0]`` too).
            before, after = text[start - 1 : start], text[end : end + 1]
            if (
                before not in _WORD_CHARS
                and after not in _WORD_CHARS
                and not (before > "\x7f" and before.isidentifier())
                and not (after > "\x7f" and after.isidentifier())
            ):
                found.add(bisect_right(starts, start))
            start = text.find(name, end)
    return sorted(found)


def _covers(lines: list[int], first: int, last: int) -> bool:
    index = bisect_left(lines, first)
    return index < len(lines) and lines[index] <= last


def _statements_naming(tree: ast.Module, lines: list[int]) -> Iterator[ast.stmt]:
    """The top-level statements whose lines (comments and decorators included) match."""
    if not lines:
        return
    first = 1
    for statement in tree.body:
        last = statement.end_lineno or statement.lineno
        # Statements can share a line (``a; b``): each is looked at for its own lines.
        first = min(first, statement.lineno)
        if _covers(lines, first, last):
            yield statement
        first = last + 1


def _splice(source_bytes: bytes, tree: ast.Module, table: ImportMap) -> RewriteResult:
    source = SourceText.decode(source_bytes)
    # Imports of the SDK name its root on their lines: only statements holding it count.
    roots = _lines_naming(source, [table.root])
    candidates = list(_statements_naming(tree, roots))
    if not candidates:
        return RewriteResult(source_bytes)
    bindings = Bindings(table)
    note_imports(candidates, bindings)
    if bindings.renamed_locals and bindings.rename_shadowed:
        raise Unsupported("a renamed name that something else binds too: scopes decide")
    if bindings.sdk_star and any(re.search(rf"\b{n}\b", source.text) for n in table.renames):
        raise Unsupported("a renamed name that may come from a star import")
    ctx = Context(table, bindings, source)
    # A name imported from the SDK matters only through a renamed attribute of it
    # (``chat.ConversationEvent``), on a line that spells the renamed name anyway; module
    # aliases lead chains to moved modules by themselves.
    names = {*bindings.module_aliases, *bindings.renamed_locals, *table.renames}
    names.discard(table.root)
    lines = _lines_naming(source, names, also=roots)
    for statement in _statements_naming(tree, lines):
        _walk(ctx, statement, lines)
    reviews = _merged(ctx.reviews, _manual_ports(source_bytes, tree, table))
    if not source.edits:
        return RewriteResult(source_bytes, reviews=reviews)
    code = source.encode(source.result())
    return RewriteResult(code, ctx.imports, ctx.references, reviews)


# The fields that hold statements (``handlers`` holds except clauses, each with a body).
_STATEMENT_LISTS = frozenset({"body", "orelse", "finalbody", "handlers"})

# The fields of each node type that hold nodes (``ctx`` and operators never matter).
_SKIPPED_FIELDS = frozenset({"ctx", "op"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)  # type: ignore[attr-defined]
        _CHILD_FIELDS[kind] = fields
    return fields


def _walk(ctx: Context, statement: ast.stmt, lines: list[int]) -> None:
    """Visit the nodes under *statement* that can matter (iteratively: deep code must not
    recurse); nested statements none of whose lines name anything are skipped."""
    stack: list[tuple[ast.AST, int]] = [(statement, 0)]
    registry = REGISTRY
    while stack:
        node, flags = stack.pop()
        kind = type(node)
        fixers = registry.get(kind)
        if fixers is not None:
            for fix in fixers:
                fix(ctx, node, flags)
        inherited = flags & ~CHAIN_INNER
        if kind is ast.Attribute:
            value = node.value  # type: ignore[attr-defined]
            stack.append((value, inherited | (CHAIN_INNER if type(value) is ast.Attribute else 0)))
            continue
        if kind is ast.Name or kind is ast.Constant or kind is ast.Import or kind is ast.ImportFrom:
            continue  # leaves, as far as the fixers go
        if kind is ast.Assign:
            if any(_is_all(t) for t in node.targets):  # type: ignore[attr-defined]
                inherited |= IN_ALL
        elif kind is ast.AugAssign:
            if _is_all(node.target):  # type: ignore[attr-defined]
                inherited |= IN_ALL
        elif kind is ast.AnnAssign:
            if _is_all(node.target):  # type: ignore[attr-defined]
                inherited |= IN_ALL
            else:
                stack.append((node.annotation, inherited | IN_ANNOTATION))  # type: ignore[attr-defined]
                for child in (node.target, node.value):  # type: ignore[attr-defined]
                    if child is not None:
                        stack.append((child, inherited))
                continue
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if (
                type(func) is ast.Attribute
                and type(func.value) is ast.Name
                and f"{func.value.id}.{func.attr}" in ALL_METHODS
            ):
                inherited |= IN_ALL
        elif kind is ast.JoinedStr:
            inherited |= IN_FSTRING
        elif kind is ast.arg:
            if node.annotation is not None:  # type: ignore[attr-defined]
                stack.append((node.annotation, inherited | IN_ANNOTATION))  # type: ignore[attr-defined]
            continue
        returns = getattr(node, "returns", None) if kind in _FUNCTIONS else None
        fields = _CHILD_FIELDS.get(kind) or _child_fields(kind)
        for name in fields:
            value = getattr(node, name)
            if value is None or value is returns:
                continue
            if type(value) is list:
                if name in _STATEMENT_LISTS:
                    # Decorators sit before a statement's ``lineno``, but they are not
                    # in these lists: a nested statement's own lines decide.
                    for child in value:
                        if type(child) is ast.ExceptHandler or _covers(
                            lines, child.lineno, child.end_lineno or child.lineno
                        ):
                            stack.append((child, inherited))
                    continue
                for child in value:
                    if isinstance(child, ast.AST):  # not the names of ``global``
                        stack.append((child, inherited))
            elif isinstance(value, ast.AST):
                stack.append((value, inherited))
        if returns is not None:
            stack.append((returns, inherited | IN_ANNOTATION))


def _is_all(target: ast.AST) -> bool:
    return type(target) is ast.Name and target.id == "__all__"  # type: ignore[attr-defined]
