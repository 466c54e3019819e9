"""Rewrite one module: ``ast`` finds what needs work, the fixers splice new text in place.

Only the top-level statements whose lines name something of interest are walked. A
construct the fixers do not handle sends the file to the libcst rewriter (the reference
implementation), as does source that ``ast`` on this Python cannot parse.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from autoplay_cli.codemods.bindings import Bindings, ParseFailure, RewriteResult, ast_bindings
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
    if tree is not None and table.manual and b"agent_states" in source:
        bindings = Bindings(table)
        ast_bindings(tree, bindings)
        result.reviews = _merged(result.reviews, find_manual_ports(tree, bindings, table))
    return result


def _merged(reviews: list, ports: list) -> list:  # type: ignore[type-arg]
    return sorted([*reviews, *ports], key=lambda review: review.line)


def _interesting(names: Iterable[str]) -> re.Pattern[str]:
    alternation = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


def _statements_naming(
    source: SourceText, tree: ast.Module, pattern: re.Pattern[str]
) -> Iterator[ast.stmt]:
    """The top-level statements whose lines (comments and decorators included) match."""
    lines = sorted({source.line_of(m.start()) for m in pattern.finditer(source.text)})
    if not lines:
        return
    first = 1
    for statement in tree.body:
        last = statement.end_lineno or statement.lineno
        # Statements can share a line (``a; b``): each is looked at for its own lines.
        first = min(first, statement.lineno)
        index = bisect_left(lines, first)
        if index < len(lines) and lines[index] <= last:
            yield statement
        first = last + 1


def _splice(source_bytes: bytes, tree: ast.Module, table: ImportMap) -> RewriteResult:
    source = SourceText.decode(source_bytes)
    bindings = Bindings(table)
    # Imports of the SDK name its root on their lines; other bindings of a renamed name
    # spell that name: only the statements holding either need a look.
    roots = _statements_naming(source, tree, _interesting([table.root, *table.renames]))
    candidates = list(roots)
    if not candidates:
        return RewriteResult(source_bytes)
    ast_bindings(candidates, bindings)
    if bindings.renamed_locals and bindings.rename_shadowed:
        raise Unsupported("a renamed name that something else binds too: scopes decide")
    if bindings.sdk_star and any(re.search(rf"\b{n}\b", source.text) for n in table.renames):
        raise Unsupported("a renamed name that may come from a star import")
    ctx = Context(table, bindings, source)
    pattern = _interesting(bindings.interesting_names | set(table.renames))
    for statement in _statements_naming(source, tree, pattern):
        _walk(ctx, statement)
    reviews = ctx.reviews
    if table.manual and b"agent_states" in source_bytes:
        reviews = _merged(reviews, find_manual_ports(tree, bindings, table))
    if not source.edits:
        return RewriteResult(source_bytes, reviews=sorted(reviews, key=lambda r: r.line))
    code = source.encode(source.result())
    return RewriteResult(
        code, ctx.imports, ctx.references, sorted(reviews, key=lambda review: review.line)
    )


def _walk(ctx: Context, statement: ast.stmt) -> None:
    """Visit every node under *statement* (iteratively: deep code must not recurse)."""
    stack: list[tuple[ast.AST, int]] = [(statement, 0)]
    while stack:
        node, flags = stack.pop()
        for fix in REGISTRY.get(type(node), ()):
            fix(ctx, node, flags)
        inherited = flags & ~CHAIN_INNER
        kind = type(node)
        if kind is ast.Attribute:
            value = node.value  # type: ignore[attr-defined]
            stack.append((value, inherited | (CHAIN_INNER if type(value) is ast.Attribute else 0)))
            continue
        if kind is ast.Assign:
            if any(_is_all(t) for t in node.targets):  # type: ignore[attr-defined]
                inherited |= IN_ALL
        elif kind is ast.AugAssign:
            if _is_all(node.target):  # type: ignore[attr-defined]
                inherited |= IN_ALL
        elif kind is ast.AnnAssign:
            if _is_all(node.target):  # type: ignore[attr-defined]
                inherited |= IN_ALL
            elif node.annotation is not None:  # type: ignore[attr-defined]
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
        elif kind in _FUNCTIONS and node.returns is not None:  # type: ignore[attr-defined]
            stack.append((node.returns, inherited | IN_ANNOTATION))  # type: ignore[attr-defined]
            for child in ast.iter_child_nodes(node):
                if child is not node.returns:  # type: ignore[attr-defined]
                    stack.append((child, inherited))
            continue
        for child in ast.iter_child_nodes(node):
            stack.append((child, inherited))


def _is_all(target: ast.AST) -> bool:
    return type(target) is ast.Name and target.id == "__all__"  # type: ignore[attr-defined]
