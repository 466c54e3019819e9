"""Fixer: ``import autoplay_sdk.old[ as x]`` names the module's new home."""

from __future__ import annotations

import ast

from autoplay_cli.codemods.fixers.base import Context, fixer, unnamed_message
from autoplay_cli.codemods.mapping import Verdict
from autoplay_cli.codemods.source import Unsupported


@fixer(ast.Import)
def fix_import(ctx: Context, node: ast.AST, flags: int) -> None:
    assert isinstance(node, ast.Import)
    changed = False
    for alias in node.names:
        resolution = ctx.table.module(alias.name)
        if resolution.verdict is Verdict.MOVED:
            assert resolution.new is not None
            start = ctx.source.offset(alias.lineno, alias.col_offset)
            end = start + len(alias.name)
            if ctx.source.text[start:end] != alias.name:
                raise Unsupported("a dotted name spelled with spaces or line breaks")
            ctx.source.replace(start, end, resolution.new)
            changed = True
        elif resolution.verdict is Verdict.UNNAMED:
            assert resolution.legacy_parent is not None
            ctx.review(node.lineno, unnamed_message(alias.name, resolution.legacy_parent))
    if changed:
        ctx.imports += 1
