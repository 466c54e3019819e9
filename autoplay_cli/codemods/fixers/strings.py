"""Fixer: strings that name SDK things by text: ``__all__`` entries and string annotations.

An ``__all__`` entry follows a renamed binding; a string annotation (forward reference)
follows moved paths and renamed names.
"""

from __future__ import annotations

import ast
import functools
import re

from autoplay_cli.codemods.bindings import split_string
from autoplay_cli.codemods.fixers.base import IN_ALL, IN_ANNOTATION, IN_FSTRING, Context, fixer
from autoplay_cli.codemods.source import Unsupported


def mentions_sdk(ctx: Context, value: str) -> bool:
    """Could a libcst pass change this string's text?"""
    return ctx.table.root in value or any(name in value for name in ctx.bindings.renamed_locals)


@fixer(ast.Constant)
def fix_string(ctx: Context, node: ast.AST, flags: int) -> None:
    assert isinstance(node, ast.Constant)
    if not flags & (IN_ALL | IN_ANNOTATION) or not isinstance(node.value, str):
        return
    if flags & IN_FSTRING:
        if mentions_sdk(ctx, node.value):
            raise Unsupported("an SDK path inside an f-string")
        return
    start, end = ctx.source.span(node)
    parts = split_string(ctx.source.text[start:end])
    if parts is None:
        # Escapes (left alone) or implicitly concatenated parts (rewritten one by one).
        if mentions_sdk(ctx, node.value):
            raise Unsupported("a concatenated or escaped string naming the SDK")
        return
    prefix, body, quote = parts
    if flags & IN_ALL:
        # A re-exported name in ``__all__`` follows the renamed binding.
        new_body = ctx.bindings.renamed_locals.get(body, body)
    else:
        new_body = rewrite_annotation(ctx, body)
    if new_body != body:
        ctx.source.replace(start, end, f"{prefix}{quote}{new_body}{quote}")
        ctx.references += 1


def rewrite_annotation(ctx: Context, text: str) -> str:
    """A string annotation names types by dotted path or by local name."""

    def moved(match: re.Match[str]) -> str:
        hit = ctx.table.longest_prefix(match.group(0))
        return hit.rewritten if hit is not None else match.group(0)

    if ctx.table.root in text:
        text = ctx.table.path_pattern.sub(moved, text)
    for old, new in ctx.bindings.renamed_locals.items():
        if old in text:
            text = _local_name(old).sub(new, text)
    return text


@functools.lru_cache(maxsize=256)
def _local_name(name: str) -> re.Pattern[str]:
    """*name* used on its own in a string annotation (not as an attribute)."""
    return re.compile(rf"(?<![\w.]){re.escape(name)}\b")
