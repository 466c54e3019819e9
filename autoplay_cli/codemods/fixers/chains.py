"""Fixer: attribute chains that reach a legacy module or a renamed name through an import.

``sdk.chatbot.X`` (with ``import autoplay_sdk as sdk``) is respelled under the alias;
a chain the alias cannot reach any more is reported; ``sdk.ConversationEvent`` is renamed.
"""

from __future__ import annotations

import ast

from autoplay_cli.codemods.fixers.base import CHAIN_INNER, IN_FSTRING, Context, fixer
from autoplay_cli.codemods.source import Unsupported


@fixer(ast.Attribute)
def fix_chain(ctx: Context, node: ast.AST, flags: int) -> None:
    if flags & CHAIN_INNER:
        return  # seen as part of the longest chain that holds it
    # The root first: most chains (``self.x``) start elsewhere and need no more.
    current: ast.AST = node
    while type(current) is ast.Attribute:
        current = current.value  # type: ignore[attr-defined]
    if type(current) is not ast.Name:
        return
    root = current.id  # type: ignore[attr-defined]
    bindings = ctx.bindings
    module = bindings.module_aliases.get(root)
    in_sdk = root in bindings.sdk_names
    if module is None and not in_sdk:
        return
    chain: list[ast.AST] = []
    current = node
    while type(current) is ast.Attribute:
        chain.append(current)
        current = current.value  # type: ignore[attr-defined]
    if flags & IN_FSTRING:
        raise Unsupported("an SDK name inside an f-string")
    chain.append(current)
    chain.reverse()
    parts = [root, *(c.attr for c in chain[1:])]  # type: ignore[attr-defined]
    if module is not None:
        _reach_through_alias(ctx, chain, root, module, module + "." + ".".join(parts[1:]))
    if in_sdk:
        for index, part in enumerate(parts[1:], start=1):
            new_name = ctx.table.renamed(part)
            if new_name is not None:
                if ctx.source.segment(chain[-1]) != ".".join(parts):
                    raise Unsupported("a chain spelled with spaces, parentheses or line breaks")
                _, end = ctx.source.span(chain[index])
                ctx.source.replace(end - len(part), end, new_name)
                ctx.references += 1


def _reach_through_alias(
    ctx: Context, chain: list[ast.AST], alias: str, module: str, full: str
) -> None:
    """A chain ``alias.x.y`` that names a legacy row below the module *alias* binds."""
    table, bindings = ctx.table, ctx.bindings
    hit = table.longest_prefix(full)
    if hit is None or len(hit.old) <= len(module):
        return  # the import statement's own rewrite covers it
    if any(full == f or full.startswith(f + ".") for f in bindings.unnamed_modules):
        return  # already reported at its import
    below = hit.old[len(module) :]
    moved_module = table.exact(module)
    if moved_module is not None and moved_module + below == hit.new:
        return  # the row moved along with the module the alias binds
    prefix_node = chain[hit.old.count(".") - module.count(".")]
    line = prefix_node.lineno  # type: ignore[attr-defined]
    if moved_module is None and hit.new.startswith(module + "."):
        # The alias binds a module that stays (the root): respell the path under it.
        new_path = alias + hit.new[len(module) :]
        start, end = ctx.source.span(prefix_node)
        old_path = alias + hit.old[len(module) :]
        if ctx.source.text[start:end] != old_path:
            raise Unsupported("a chain spelled with spaces, parentheses or line breaks")
        ctx.source.replace(start, end, new_path)
        ctx.references += 1
        if (
            bindings.loads(hit.old, after_rewrite=False)
            and not bindings.loads(hit.new, after_rewrite=True)
            and hit.old not in ctx.unloaded_reported
        ):
            # ``import a.old.child`` loaded ``a.old``; its new home is not a parent of
            # ``child``'s, so the respelled chain would meet an unloaded module.
            ctx.unloaded_reported.add(hit.old)
            ctx.review(
                line,
                f"`{hit.new}` (was `{hit.old}`) is no longer loaded by this module's "
                f"imports; add `import {hit.new}`",
            )
        return
    ctx.review(
        line,
        f"`{alias}{below}` reaches legacy `{hit.old}` through `{module}`, which moves "
        f"to `{moved_module}`; import `{hit.new}` directly",
    )
