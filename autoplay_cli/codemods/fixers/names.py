"""Fixer: uses of a renamed name imported from the SDK (``ConversationEvent``) follow it.

Only while nothing else binds the name: the engine sends files where a parameter, a
class attribute or another import shares it to the libcst path, which resolves scopes.
"""

from __future__ import annotations

import ast

from autoplay_cli.codemods.bindings import binds_one_of
from autoplay_cli.codemods.fixers.base import IN_FSTRING, Context, fixer
from autoplay_cli.codemods.source import Unsupported


@fixer(ast.Name)
def fix_name(ctx: Context, node: ast.AST, flags: int) -> None:
    assert isinstance(node, ast.Name)
    new_name = ctx.bindings.renamed_locals.get(node.id)
    if new_name is None:
        return
    if flags & IN_FSTRING:
        raise Unsupported("a renamed name inside an f-string")
    start, end = ctx.source.span(node)
    ctx.source.replace(start, end, new_name)
    ctx.references += 1


_BINDERS = [
    ast.Name,
    ast.arg,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.ExceptHandler,
    ast.MatchAs,
    ast.MatchStar,
    ast.MatchMapping,
]
_BINDERS += [getattr(ast, n) for n in ("TypeVar", "ParamSpec", "TypeVarTuple") if hasattr(ast, n)]


@fixer(*_BINDERS)
def refuse_shadowed_renames(ctx: Context, node: ast.AST, flags: int) -> None:
    # A parameter, a class attribute or a local of the renamed name is another binding:
    # which uses are the import's is a question of scopes, for the libcst path.
    if ctx.bindings.renamed_locals and binds_one_of(node, ctx.table.renames):
        raise Unsupported("a renamed name that something else binds too: scopes decide")


@fixer(ast.Global, ast.Nonlocal, ast.MatchClass)
def refuse_names_as_text(ctx: Context, node: ast.AST, flags: int) -> None:
    # ``global X`` and ``case C(X=...)`` hold names as plain text in ``ast``, without
    # positions; libcst sees (and renames) them, so it takes such a file.
    names = getattr(node, "names", None) or getattr(node, "kwd_attrs", None) or []
    if any(name in ctx.bindings.renamed_locals for name in names):
        raise Unsupported("a renamed name in a global, nonlocal or class pattern")
