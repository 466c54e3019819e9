"""What every fixer shares: the per-file context, the walk flags and the registry.

A fixer is a function ``(ctx, node, flags)`` registered for one ``ast`` node type; it
plans edits on ``ctx.source`` and adds reviews, or raises ``Unsupported``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

from autoplay_cli.codemods.bindings import Bindings, Review
from autoplay_cli.codemods.mapping import ImportMap, Verdict
from autoplay_cli.codemods.source import SourceText

# Flags the walk hands down to a node's descendants.
IN_ALL = 1  # inside an assignment to ``__all__`` or a call that grows it
IN_ANNOTATION = 2  # inside a parameter, return or variable annotation
IN_FSTRING = 4  # inside an f-string (positions there differ across Python versions)
CHAIN_INNER = 8  # the ``.value`` of an attribute: part of a longer chain

Fixer = Callable[["Context", ast.AST, int], None]

#: node type -> the fixers that look at it, in registration order.
REGISTRY: dict[type[ast.AST], list[Fixer]] = {}


def fixer(*node_types: type[ast.AST]) -> Callable[[Fixer], Fixer]:
    """Register a fixer for the given node types."""

    def register(func: Fixer) -> Fixer:
        for node_type in node_types:
            REGISTRY.setdefault(node_type, []).append(func)
        return func

    return register


@dataclass
class Context:
    """One module being rewritten: its text, what it binds, and what was found."""

    table: ImportMap
    bindings: Bindings
    source: SourceText
    imports: int = 0
    references: int = 0
    reviews: list[Review] = field(default_factory=list)
    unloaded_reported: set[str] = field(default_factory=set)

    def review(self, line: int, message: str) -> None:
        self.reviews.append(Review(line, message))

    def module_home(self, line: int, path: str) -> str | None:
        """Where module *path* lives now (itself when it stays, or when its home is gone:
        ``manual_ports`` reports those); None, reported, when the table cannot say."""
        resolution = self.table.module(path)
        if resolution.verdict is Verdict.UNNAMED:
            assert resolution.legacy_parent is not None
            self.review(line, unnamed_message(path, resolution.legacy_parent))
            return None
        return resolution.new if resolution.verdict is Verdict.MOVED else path


def unnamed_message(path: str, parent: str) -> str:
    return (
        f"`{path}` is a submodule of legacy `{parent}` that the migration table does "
        "not name; find its canonical path by hand"
    )


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
