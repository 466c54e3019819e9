"""Fixer: ``from autoplay_sdk.old import a, b`` imports each name from where it lives now.

A moved module, a moved submodule imported by name (kept under its old local name with
``as``) and a renamed name are respelled in place; names whose homes differ split the
statement into one line per home.
"""

from __future__ import annotations

import ast
import re

from autoplay_cli.codemods.fixers.base import Context, fixer
from autoplay_cli.codemods.source import Unsupported

_FROM = re.compile(r"from(?:[ \t\f]|\\(?:\r\n|\r|\n))+")
_IDENTIFIER_CHAR = re.compile(r"[\w.]")


def _place(
    ctx: Context, module: str, base: str, alias: ast.alias
) -> tuple[str, str | None, str | None]:
    """(module the name comes from now, its new spelling or None, its local name)."""
    name = alias.name
    submodule = ctx.table.exact(f"{module}.{name}")
    if submodule is not None:
        parent, _, last = submodule.rpartition(".")
        if last == name:
            return parent, None, alias.asname
        # The module's own name changed: keep the local name the code uses.
        spelled = last if alias.asname is not None else f"{last} as {name}"
        return parent, spelled, alias.asname or name
    new_name = ctx.table.renamed(name)
    if new_name is not None:
        return base, new_name, alias.asname
    return base, None, alias.asname


def _name_span(ctx: Context, alias: ast.alias) -> tuple[int, int]:
    start = ctx.source.offset(alias.lineno, alias.col_offset)
    end = start + len(alias.name)
    if ctx.source.text[start:end] != alias.name:
        raise Unsupported("an imported name spelled across lines")
    return start, end


@fixer(ast.ImportFrom)
def fix_import_from(ctx: Context, node: ast.AST, flags: int) -> None:
    assert isinstance(node, ast.ImportFrom)
    module = node.module
    if node.level or module is None or not ctx.table.in_sdk(module):
        return
    base = ctx.module_home(node.lineno, module)
    if base is None:
        return
    text = ctx.source.text
    start, end = ctx.source.span(node)
    keyword = _FROM.match(text, start)
    module_start = keyword.end() if keyword else start
    module_end = module_start + len(module)
    if (
        keyword is None
        or text[module_start:module_end] != module
        or _IDENTIFIER_CHAR.match(text, module_end)
    ):
        raise Unsupported("a module name spelled with spaces or line breaks")

    if node.names[0].name == "*":
        # A renamed name that may come from the star import needs scope analysis: the
        # engine sends such files to the libcst path before any fixer runs.
        if base != module:
            ctx.source.replace(module_start, module_end, base)
            ctx.imports += 1
        return

    groups: dict[str, list[tuple[int, str | None]]] = {}
    changed = base != module
    placed: set[tuple[str, str, str | None]] = set()
    twice = False
    for index, alias in enumerate(node.names):
        target, spelled, local = _place(ctx, module, base, alias)
        changed = changed or target != module or spelled is not None
        key = (target, (spelled or alias.name).split(" ")[0], local)
        twice = twice or key in placed
        placed.add(key)
        groups.setdefault(target, []).append((index, spelled))
    if not changed:
        return
    if twice:
        # libcst drops the second name (unless a comment rides on it): its call.
        raise Unsupported("an import that would name one thing twice")
    ctx.imports += 1
    last_alias = node.names[-1]
    _, last_end = ctx.source.span(last_alias)
    _check_trailing_comma(text[last_end:end])
    if len(groups) == 1:
        [(target, members)] = groups.items()
        if target != module:
            ctx.source.replace(module_start, module_end, target)
        for index, respelled in members:
            if respelled is not None:
                ctx.source.replace(*_name_span(ctx, node.names[index]), respelled)
        return
    _split(ctx, node, module, (start, end), (module_start, module_end), groups)


def _check_trailing_comma(rest: str) -> None:
    """A comma after the last name stays only when a line break follows it (libcst's rule)."""
    if "," not in rest:
        return
    head = rest.lstrip(" \t")
    after = head[1:].lstrip(" \t")
    if not head.startswith(",") or not after.startswith(("#", "\n", "\r")):
        raise Unsupported("a trailing comma on the same line")


def _split(
    ctx: Context,
    node: ast.ImportFrom,
    module: str,
    span: tuple[int, int],
    module_span: tuple[int, int],
    groups: dict[str, list[tuple[int, str | None]]],
) -> None:
    """One statement per new home, each on its own line(s) with the original's indentation
    and trailing comment (a linter suppression applies to every one of them).

    Names keep the comma and comment that followed them; in parentheses, a statement
    that does not hold the last name closes where the original closed.
    """
    source, text = ctx.source, ctx.source.text
    start, end = span
    line_start = source.line_starts[node.lineno - 1]
    end_line = node.end_lineno or node.lineno
    line_end = source.line_starts[end_line - 1] + len(source.line_text(end_line))
    indent, trailing = text[line_start:start], text[end:line_end]
    spans = [source.span(alias) for alias in node.names]
    between = text[module_span[1] : spans[0][0]]
    parenthesized = "(" in between
    if (
        indent.strip()
        or "\\" in text[start:end]
        or (node.lineno != end_line and not parenthesized)
        or not trailing.endswith(("\n", "\r"))
        or trailing.lstrip(" \t\f")[:1] not in ("#", "\n", "\r")
    ):
        raise Unsupported("a split of an import that is not alone on its line(s)")
    for alias in node.names:
        _name_span(ctx, alias)
    separators = [text[spans[i][1] : spans[i + 1][0]] for i in range(len(spans) - 1)]
    final_index = len(node.names) - 1
    final_tail = text[spans[-1][1] : end]  # ``)`` and what precedes it, in parentheses
    closing = ""
    if parenthesized:
        newline = max(final_tail.rfind("\n"), final_tail.rfind("\r"))
        closing = final_tail[newline + 1 : final_tail.rfind(")")]
        if newline < 0 or closing.strip():
            raise Unsupported("a closing parenthesis on the line of the last name")
    head = text[start : module_span[0]]
    lines = []
    for target, members in groups.items():
        parts = []
        for position, (index, spelled) in enumerate(members):
            alias = node.names[index]
            alias_text = text[spans[index][0] : spans[index][1]]
            if spelled is not None:
                alias_text = spelled + alias_text[len(alias.name) :]
            parts.append(alias_text)
            if position < len(members) - 1:
                parts.append(separators[index])
            elif index == final_index:
                parts.append(final_tail)
            elif parenthesized:
                # The comma's line break now closes this statement.
                separator = separators[index]
                newline = max(separator.rfind("\n"), separator.rfind("\r"))
                if newline < 0:
                    raise Unsupported("names sharing a line inside parentheses")
                parts.append(separator[: newline + 1] + closing + ")")
        name = module if target == module else target
        lines.append(f"{indent}{head}{name}{between}{''.join(parts)}{trailing}")
    source.replace(line_start, line_end, "".join(lines))
