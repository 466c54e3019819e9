"""Fixer: calls whose string argument names an SDK path or attribute (patch targets, imports).

The calls are a table: what the callee is called, what its target string names, and the
parameter that holds it. A target built at run time that spells a legacy path is reported.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from autoplay_cli.codemods.bindings import split_string
from autoplay_cli.codemods.fixers.base import IN_FSTRING, Context, dotted, fixer
from autoplay_cli.codemods.mapping import is_dotted
from autoplay_cli.codemods.source import Unsupported


@dataclass(frozen=True)
class CallRule:
    """One kind of call, by its dotted callee: ``name`` exactly; ``.name`` as the end of a
    longer one (``monkeypatch.setattr``, not the builtin); ``*.name`` either way."""

    callee: str
    #: "module" (the string names a module), "attr" (``module.attribute`` path),
    #: "setattr" (``attr`` for a string target, else ``object`` with the name second),
    #: "object" (an object, then the name of the attribute patched on it).
    kind: str
    #: the parameter that holds the string (the first positional argument otherwise).
    keyword: str

    def matches(self, callee: str) -> bool:
        if self.callee.startswith("*."):
            return callee == self.callee[2:] or callee.endswith(self.callee[1:])
        if self.callee.startswith("."):
            return callee.endswith(self.callee)
        return callee == self.callee


#: First match wins. ``monkeypatch.setattr("a.b.C", v)`` is a patch target too.
CALLS: tuple[CallRule, ...] = (
    CallRule("__import__", "module", "name"),
    CallRule("*.import_module", "module", "name"),
    CallRule("*.patch", "attr", "target"),
    CallRule("*.patch.dict", "attr", "in_dict"),
    CallRule("*.patch.multiple", "attr", "target"),
    CallRule(".setattr", "setattr", "name"),
    CallRule(".delattr", "setattr", "name"),
    CallRule("*.patch.object", "object", "attribute"),
)

# The methods that grow ``__all__`` in place (their strings name re-exported bindings).
ALL_METHODS = frozenset({"__all__.append", "__all__.extend", "__all__.insert"})

# One complete string literal (libcst's SimpleString), as opposed to concatenated parts.
_ONE_LITERAL = re.compile(
    r"""[rRbBuU]{0,2}(?:'''(?:(?!''')[^\\]|\\.)*'''|\"\"\"(?:(?!\"\"\")[^\\]|\\.)*\"\"\""""
    r"""|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\Z""",
    re.S,
)


@functools.lru_cache(maxsize=1024)
def rule_for(callee: str) -> CallRule | None:
    return next((rule for rule in CALLS if rule.matches(callee)), None)


def _is_one_literal(ctx: Context, node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (str, bytes))
        and _ONE_LITERAL.match(ctx.source.segment(node)) is not None
    )


#: The last part of every callee the rules name: a call ending otherwise needs no look.
_LAST_PARTS = frozenset(rule.callee.rpartition(".")[2] for rule in CALLS)


@fixer(ast.Call)
def fix_call(ctx: Context, node: ast.AST, flags: int) -> None:
    assert isinstance(node, ast.Call)
    func = node.func
    kind_of_func = type(func)
    last = (
        func.attr  # type: ignore[attr-defined]
        if kind_of_func is ast.Attribute
        else func.id  # type: ignore[attr-defined]
        if kind_of_func is ast.Name
        else None
    )
    if last not in _LAST_PARTS:
        return  # most calls: no dotted name to build
    callee = dotted(func)
    rule = rule_for(callee) if callee is not None else None
    if rule is None:
        return
    if flags & IN_FSTRING:
        if ctx.table.root in ctx.source.segment(node) or ctx.bindings.sdk_names:
            raise Unsupported("a patch or import call inside an f-string")
        return
    kind = rule.kind
    if kind == "setattr":
        first = _first_argument(node)
        if first is None or not _is_one_literal(ctx, first):
            _rename_patched_attribute(ctx, node, "name")
            return
        kind = "attr"
    elif kind == "object":
        _rename_patched_attribute(ctx, node, rule.keyword)
        return
    keyword = "target" if rule.kind == "setattr" else rule.keyword
    value: ast.AST | None = None
    if node.args and not isinstance(node.args[0], ast.Starred):
        value = node.args[0]
    else:
        value = next((k.value for k in node.keywords if k.arg == keyword), None)
    if value is None:
        return
    if not _is_one_literal(ctx, value):
        _review_built_target(ctx, node, value)
        return
    _rewrite_target(ctx, node, value, kind)


def _first_argument(call: ast.Call) -> ast.AST | None:
    """The value of the first argument as written, positional or keyword."""
    candidates: list[ast.AST] = [*call.args[:1], *call.keywords[:1]]
    if not candidates:
        return None
    first = min(candidates, key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
    return first.value if isinstance(first, (ast.Starred, ast.keyword)) else first


def _review_built_target(ctx: Context, call: ast.Call, value: ast.AST) -> None:
    """A target built at run time (f-string, concatenation) that spells a legacy path."""
    built = isinstance(value, (ast.JoinedStr, ast.BinOp)) or (
        isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes))
    )
    if not built:
        return
    for match in ctx.table.path_pattern.finditer(ctx.source.segment(value)):
        hit = ctx.table.longest_prefix(match.group(0))
        if hit is not None:
            ctx.review(
                call.lineno,
                f"a target built at run time names legacy `{hit.old}`; "
                f"rewrite it to `{hit.new}` by hand",
            )
            return


def _rewrite_target(ctx: Context, call: ast.Call, string: ast.AST, kind: str) -> None:
    start, end = ctx.source.span(string)
    parts = split_string(ctx.source.text[start:end])
    if parts is None:
        return
    prefix, body, quote = parts
    if not is_dotted(body) or not ctx.table.in_sdk(body):
        return
    if kind == "module":
        new_body = ctx.module_home(call.lineno, body)
    else:
        hit = ctx.table.longest_prefix(body)
        new_body = hit.rewritten if hit is not None else body
        new_body = ".".join(ctx.table.renamed(p) or p for p in new_body.split("."))
    if new_body is None or new_body == body:
        return
    ctx.source.replace(start, end, f"{prefix}{quote}{new_body}{quote}")
    ctx.references += 1


def _rename_patched_attribute(ctx: Context, call: ast.Call, keyword: str) -> None:
    """``patch.object(<SDK module>, "ConversationEvent")`` patches the renamed name
    (so does ``monkeypatch.setattr``); *keyword* names the attribute parameter."""
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    target = next((k.value for k in call.keywords if k.arg == "target"), None)
    if target is None and positional:
        target = positional[0]
    attribute = next((k.value for k in call.keywords if k.arg == keyword), None)
    if attribute is None and len(positional) > 1:
        attribute = positional[1]
    root = (dotted(target) or "").split(".")[0] if target is not None else ""
    if attribute is None or root not in ctx.bindings.sdk_names:
        return
    if not _is_one_literal(ctx, attribute):
        return
    start, end = ctx.source.span(attribute)
    parts = split_string(ctx.source.text[start:end])
    new_name = ctx.table.renamed(parts[1]) if parts is not None else None
    if parts is None or new_name is None:
        return
    prefix, _, quote = parts
    ctx.source.replace(start, end, f"{prefix}{quote}{new_name}{quote}")
    ctx.references += 1
