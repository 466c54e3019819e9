"""What a module binds from the SDK (read from its ``ast``) and what a rewrite reports.

Pure Python and ``ast`` only: no libcst, so worker processes and ``--check`` stay light.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from autoplay_cli.codemods.mapping import ImportMap, Verdict


@dataclass
class Review:
    """A legacy reference the tool will not guess at."""

    line: int
    message: str
    kind: str = "review"  # or "port": code to port by hand to a newer API


@dataclass
class RewriteResult:
    code: bytes
    imports: int = 0
    references: int = 0
    reviews: list[Review] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.imports + self.references


class RoundTripError(Exception):
    """libcst does not give this file back byte for byte, in a way the rewrite cannot undo."""


class ParseFailure(Exception):
    """The source does not parse; *line* is where the parser stopped (0 when unknown)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class Bindings:
    """Which local names come from the SDK, wherever the import sits in the module."""

    def __init__(self, table: ImportMap) -> None:
        self.table = table
        self.sdk_names: set[str] = set()
        # Local name -> the SDK module it is bound to (``import autoplay_sdk[.x]`` binds
        # the root itself), for attribute chains that reach a legacy module through it.
        self.module_aliases: dict[str, str] = {}
        self.renamed_locals: dict[str, str] = {}
        # ids of the Name nodes that use an SDK import of a renamed name, resolved scope by
        # scope; None while nothing else binds those names, so every use is the import's.
        self.renamed_uses: set[int] | None = None
        # Something other than an SDK import binds a renamed name (a parameter, ...).
        self.rename_shadowed = False
        self.unnamed_modules: set[str] = set()
        # SDK modules the imports load (each with its parents), named as written.
        self.loaded: set[str] = set()
        self.sdk_star = False  # ``from autoplay_sdk[.x] import *`` somewhere in the module
        # Renamed names used but bound nowhere: they can only come from a star import.
        self.star_names: set[str] = set()

    def note_import(self, path: str, asname: str | None) -> None:
        if not self.table.in_sdk(path):
            return
        self.loaded.add(path)
        if self.table.module(path).verdict is Verdict.UNNAMED:
            self.unnamed_modules.add(path)
        if asname is not None:
            self.sdk_names.add(asname)
            self.module_aliases[asname] = path
        else:
            self.sdk_names.add(self.table.root)
            self.module_aliases[self.table.root] = self.table.root

    def note_import_from(self, module: str, name: str, asname: str | None) -> None:
        if not self.table.in_sdk(module):
            return
        self.loaded.add(module)
        if self.table.exact(f"{module}.{name}") is not None:
            self.loaded.add(f"{module}.{name}")
            self.module_aliases[asname or name] = f"{module}.{name}"
        if asname is not None:
            self.sdk_names.add(asname)
            return
        self.sdk_names.add(name)
        new = self.table.renamed(name)
        if new is not None and self.table.exact(f"{module}.{name}") is None:
            self.renamed_locals[name] = new

    def loads(self, path: str, *, after_rewrite: bool) -> bool:
        """Does an import of this module load *path*, before or after the rewrite?"""
        for imported in self.loaded:
            if after_rewrite:
                imported = self.table.exact(imported) or imported
            if imported == path or imported.startswith(path + "."):
                return True
        return False

    @property
    def interesting_names(self) -> set[str]:
        """Names whose uses the rewriter may touch."""
        return {self.table.root, *self.sdk_names, *self.renamed_locals}


def ast_bindings(tree: ast.AST | Iterable[ast.AST], bindings: Bindings) -> None:
    """Note every import and every other binding of a renamed name in *tree* (a module,
    or the statements of it that can hold one)."""
    renames = bindings.table.renames
    roots = [tree] if isinstance(tree, ast.AST) else tree
    for node in (node for root in roots for node in ast.walk(root)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bindings.note_import(alias.name, alias.asname)
                bindings.rename_shadowed |= (alias.asname or "") in renames
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                if alias.name != "*":
                    bindings.note_import_from(node.module, alias.name, alias.asname)
                else:
                    bindings.sdk_star |= bindings.table.in_sdk(node.module)
            if not bindings.table.in_sdk(node.module):
                bindings.rename_shadowed |= any((a.asname or a.name) in renames for a in node.names)
        elif renames and binds_one_of(node, renames):
            bindings.rename_shadowed = True


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def note_imports(statements: Iterable[ast.stmt], bindings: Bindings) -> None:
    """Note the imports among *statements* and the statements nested in them.

    Statements only (expressions never import), so this is cheap; other bindings of a
    renamed name are the fixers' to find (``fixers.names``).
    """
    renames = bindings.table.renames
    todo: list[ast.AST] = list(statements)
    while todo:
        node = todo.pop()
        kind = type(node)
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                bindings.note_import(alias.name, alias.asname)
                bindings.rename_shadowed |= (alias.asname or "") in renames
            continue
        if kind is ast.ImportFrom:
            module = node.module  # type: ignore[attr-defined]
            if not node.level and module:  # type: ignore[attr-defined]
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.name != "*":
                        bindings.note_import_from(module, alias.name, alias.asname)
                    else:
                        bindings.sdk_star |= bindings.table.in_sdk(module)
                if bindings.table.in_sdk(module):
                    continue
            bindings.rename_shadowed |= any(
                (a.asname or a.name) in renames
                for a in node.names  # type: ignore[attr-defined]
            )
            continue
        for name in _BODIES:
            children = getattr(node, name, None)
            if children:
                todo.extend(children)


def binds_one_of(node: ast.AST, names: dict[str, str]) -> bool:
    """Does *node* bind one of *names* other than by an import from the SDK?"""
    if isinstance(node, ast.Name):
        return not isinstance(node.ctx, ast.Load) and node.id in names
    if isinstance(node, ast.arg):
        return node.arg in names
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name in names
    if isinstance(node, ast.ImportFrom):  # relative: the project's own module
        return any((a.asname or a.name) in names for a in node.names)
    if isinstance(node, ast.alias):  # seen with its statement
        return False
    bound = getattr(node, "name", None) or getattr(node, "rest", None)  # except/match
    return isinstance(bound, str) and bound in names


def split_string(value: str) -> tuple[str, str, str] | None:
    """(prefix, body, quote) of a plain string literal; None for bytes, f-strings, escapes."""
    index = 0
    while index < len(value) and value[index] in "rRuU":
        index += 1
    prefix, rest = value[:index], value[index:]
    if not rest or rest[0] not in "'\"":
        return None
    quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[0]
    body = rest[len(quote) : -len(quote)]
    if "\\" in body or quote in body:
        return None
    return prefix, body, quote
