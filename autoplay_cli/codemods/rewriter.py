"""The libcst rewriter: the reference implementation, and the path for what the fixers leave.

``engine`` sends it the files the splicing fixers do not handle (scope questions, star
imports, syntax this Python's ``ast`` cannot parse); the tests check the fixers against it.
It edits only the nodes it must, so comments, blank lines, quotes, indentation,
line endings and the encoding declaration come back byte for byte.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import ImportAssignment, MetadataWrapper, PositionProvider, ScopeProvider

from autoplay_cli.codemods.bindings import (
    Bindings,
    Review,
    RewriteResult,
    RoundTripError,
    ast_bindings,
    split_string,
)
from autoplay_cli.codemods.mapping import DEFAULT_MAP, ImportMap, Verdict, is_dotted

# Calls whose first (or named) string argument is a dotted target. Patch targets are
# ``module.attribute`` paths (so is pytest's ``monkeypatch.setattr("a.b.C", v)``); the
# others name a module.
# ``__all__`` grown in place: its strings name re-exported bindings too.
_ALL_METHODS = frozenset({"__all__.append", "__all__.extend", "__all__.insert"})
_PATCH_SUFFIXES = ("patch", "patch.dict", "patch.multiple")
_MONKEYPATCH_METHODS = (".setattr", ".delattr")
_MODULE_CALLS = ("import_module", "importlib.import_module", "__import__")


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a chain of plain names and attributes, else None.

    Parentheses around the whole chain are fine; inside it they make it "not a name".
    """
    parts: list[str] = []
    outermost = node
    while isinstance(node, cst.Attribute):
        if node.lpar and node is not outermost:
            return None
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name) or (node.lpar and node is not outermost):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def build_dotted(path: str) -> cst.Attribute | cst.Name:
    parts = path.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _chain_nodes(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The nodes of a dotted chain, root first: ``a``, ``a.b``, ``a.b.c``."""
    chain: list[cst.BaseExpression] = []
    current: cst.BaseExpression = node
    while isinstance(current, cst.Attribute):
        chain.append(current)
        current = current.value
    chain.append(current)
    return list(reversed(chain))


class _CstBindings(cst.CSTVisitor):
    """Collect :class:`Bindings` from a libcst tree (when ``ast`` cannot read the file)."""

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            path = dotted_name(alias.name)
            if path is not None:
                asname = alias.asname.name if alias.asname is not None else None
                self.bindings.note_import(
                    path, asname.value if isinstance(asname, cst.Name) else None
                )
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        module = dotted_name(node.module) if node.module is not None else None
        if node.relative or module is None:
            return False
        if isinstance(node.names, cst.ImportStar):
            self.bindings.sdk_star |= self.bindings.table.in_sdk(module)
            return False
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                asname = alias.asname.name if alias.asname is not None else None
                self.bindings.note_import_from(
                    module, alias.name.value, asname.value if isinstance(asname, cst.Name) else None
                )
        return False


def _ast_relevant(statements: Sequence[ast.stmt], bindings: Bindings) -> bool:
    """Can the rewriter change anything in these statements? (Cheap: ``ast`` is C-backed.)"""
    root, names = bindings.table.root, bindings.interesting_names
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Import) and any(
                bindings.table.in_sdk(alias.name) for alias in node.names
            ):
                return True
            if isinstance(node, ast.ImportFrom) and bindings.table.in_sdk(node.module or ""):
                return True
            if isinstance(node, ast.Name) and node.id in names:
                return True
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and (root in node.value or any(n in node.value for n in bindings.renamed_locals))
            ):
                return True
    return False


def _resolve_renamed_names(module: cst.Module, bindings: Bindings) -> None:
    """Find, scope by scope, the uses of renamed names: ``renamed_uses``, ``star_names``.

    A parameter, class attribute or local that merely shares the name is another
    binding: renaming it would break keyword calls and attribute lookups elsewhere.
    """
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    table = bindings.table
    uses = bindings.renamed_uses = set()
    for scope in {id(s): s for s in scopes.values() if s is not None}.values():
        if bindings.sdk_star:
            bindings.star_names.update(
                name
                for name in table.renames
                if any(not access.referents for access in scope.accesses[name])
            )
        for name in bindings.renamed_locals:
            for assignment in scope.assignments[name]:
                if not isinstance(assignment, ImportAssignment):
                    continue
                node = assignment.node
                if not (
                    isinstance(node, cst.ImportFrom)
                    and not node.relative
                    and table.in_sdk(dotted_name(node.module) or "")
                ):
                    continue
                uses.update(
                    id(r.node) for r in assignment.references if isinstance(r.node, cst.Name)
                )


def _skippable_statements(module: cst.Module, tree: ast.Module, bindings: Bindings) -> set[int]:
    """ids of top-level statements the transformer need not enter.

    libcst and ``ast`` agree on the top-level statements, except that one libcst line
    holds each ``a; b`` group; when the two do not line up, nothing is skipped.
    """
    skip: set[int] = set()
    position = 0
    for statement in module.body:
        width = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = tree.body[position : position + width]
        if len(group) != width:
            return set()
        if not _ast_relevant(group, bindings):
            skip.add(id(statement))
        position += width
    return skip if position == len(tree.body) else set()


class ImportRewriter(cst.CSTTransformer):
    """Rewrite imports, attribute chains, name uses and string targets of one module."""

    def __init__(self, table: ImportMap, bindings: Bindings, skip: set[int] | None = None) -> None:
        super().__init__()
        self.table = table
        self.bindings = bindings
        self._skip_statements = skip or set()
        self.imports = 0
        self.references = 0
        self.pending_reviews: list[tuple[cst.CSTNode, str]] = []
        self._seen_chains: set[int] = set()
        self._prefix_replacements: dict[int, str] = {}
        self._renamed_attrs: dict[int, str] = {}
        self._skip_names: set[int] = set()  # attribute and keyword names: never a binding's use
        self._unloaded_reported: set[str] = set()
        self._all_depth = 0
        self._annotation_depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Statements that cannot change are not entered: libcst's traversal costs more
        # than its parse.
        if id(node) in self._skip_statements:
            return False
        return super().on_visit(node)

    # -- reporting -------------------------------------------------------------------------

    def _review(self, node: cst.CSTNode, path: str, parent: str) -> None:
        # Lines are resolved after the pass, and only when there is something to report:
        # position metadata costs a full extra pass over the tree.
        self.pending_reviews.append(
            (
                node,
                f"`{path}` is a submodule of legacy `{parent}` that the migration table does "
                "not name; find its canonical path by hand",
            )
        )

    def _module_home(self, node: cst.CSTNode, path: str) -> str | None:
        """Where module *path* lives now; None, reported for review, when the table cannot say."""
        resolution = self.table.module(path)
        if resolution.verdict is Verdict.UNNAMED:
            assert resolution.legacy_parent is not None
            self._review(node, path, resolution.legacy_parent)
            return None
        return resolution.new if resolution.verdict is Verdict.MOVED else path

    # -- import statements -----------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        names: list[cst.ImportAlias] = []
        changed = False
        for alias in updated_node.names:
            path = dotted_name(alias.name)
            resolution = self.table.module(path) if path else None
            if resolution is not None and resolution.verdict is Verdict.MOVED:
                assert resolution.new is not None
                alias = alias.with_changes(name=build_dotted(resolution.new))
                changed = True
            elif resolution is not None and resolution.verdict is Verdict.UNNAMED:
                assert path is not None and resolution.legacy_parent is not None
                self._review(original_node, path, resolution.legacy_parent)
            names.append(alias)
        if not changed:
            return updated_node
        self.imports += 1
        return updated_node.with_changes(names=names)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.FlattenSentinel[cst.BaseSmallStatement]:
        if updated_node.relative or updated_node.module is None:
            return updated_node
        module = dotted_name(updated_node.module)
        if module is None or not self.table.in_sdk(module):
            return updated_node
        base = self._module_home(original_node, module)
        if base is None:
            return updated_node
        if isinstance(updated_node.names, cst.ImportStar):
            for name in sorted(self.bindings.star_names):
                self.pending_reviews.append(
                    (
                        original_node,
                        f"`{name}` may come from this star import; SDK 0.7.9 renamed it "
                        f"`{self.table.renames[name]}`: import it by name",
                    )
                )
            if base == module:
                return updated_node
            self.imports += 1
            return updated_node.with_changes(module=build_dotted(base))

        # Group the names by the module they come from now, keeping their order.
        groups: dict[str, list[tuple[int, cst.ImportAlias]]] = {}
        changed = base != module
        placed: set[tuple[str, str, str | None]] = set()
        for index, alias in enumerate(updated_node.names):
            target, new_alias = self._place_alias(module, base, alias)
            changed = changed or target != module or new_alias is not alias
            key = _alias_key(target, new_alias)
            if key in placed and not _carries_comment(alias):
                # ``import ConversationEvent, ConversationEventType`` would name one thing twice.
                continue
            placed.add(key)
            groups.setdefault(target, []).append((index, new_alias))
        if not changed:
            return updated_node
        self.imports += 1
        statements = self._split_statement(updated_node, module, groups)
        return statements[0] if len(statements) == 1 else cst.FlattenSentinel(statements)

    def _place_alias(
        self, module: str, base: str, alias: cst.ImportAlias
    ) -> tuple[str, cst.ImportAlias]:
        """Where one imported name lives now, and the alias node that imports it."""
        if not isinstance(alias.name, cst.Name):
            return base, alias
        name = alias.name.value
        submodule = self.table.exact(f"{module}.{name}")
        if submodule is not None:
            # ``from pkg import moved_module``: import it from its new parent, and keep the
            # local name with ``as`` when the module's own name changed.
            parent, _, last = submodule.rpartition(".")
            if last == name:
                return parent, alias
            asname = alias.asname or cst.AsName(name=cst.Name(name))
            return parent, alias.with_changes(name=cst.Name(last), asname=asname)
        new_name = self.table.renamed(name)
        if new_name is not None:
            return base, alias.with_changes(name=cst.Name(new_name))
        return base, alias

    @staticmethod
    def _split_statement(
        node: cst.ImportFrom, module: str, groups: dict[str, list[tuple[int, cst.ImportAlias]]]
    ) -> list[cst.ImportFrom]:
        """One ``from ... import`` per group, each closed the way the original was."""
        statements: list[cst.ImportFrom] = []
        assert isinstance(node.names, Sequence)
        final_index = len(node.names) - 1
        final = node.names[final_index]
        final_ws = final.comma.whitespace_after if isinstance(final.comma, cst.Comma) else None
        rpar = node.rpar
        for target, members in groups.items():
            aliases = [alias for _, alias in members]
            last = aliases[-1]
            new_rpar = rpar
            holds_final = members[-1][0] == final_index
            if isinstance(last.comma, cst.Comma):
                ws = last.comma.whitespace_after
                if rpar is not None and isinstance(ws, cst.ParenthesizedWhitespace):
                    if not holds_final:
                        # The comma's line break now closes this statement: indent the
                        # ``)`` as the original one was, and give it no second newline.
                        if isinstance(final_ws, cst.ParenthesizedWhitespace):
                            closing = final_ws.last_line
                        elif isinstance(rpar.whitespace_before, cst.ParenthesizedWhitespace):
                            closing = rpar.whitespace_before.last_line
                        else:
                            closing = cst.SimpleWhitespace("")
                        aliases[-1] = last.with_changes(
                            comma=last.comma.with_changes(
                                whitespace_after=ws.with_changes(last_line=closing)
                            )
                        )
                        new_rpar = rpar.with_changes(whitespace_before=cst.SimpleWhitespace(""))
                else:
                    aliases[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            statements.append(
                node.with_changes(
                    module=node.module if target == module else build_dotted(target),
                    names=aliases,
                    rpar=new_rpar,
                )
            )
        return statements

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        if len(original_node.body) != 1 or len(updated_node.body) == 1:
            return updated_node
        # One import became several: one line each, same indentation; the trailing
        # comment (often a linter suppression) applies to every one of them.
        lines = [
            cst.SimpleStatementLine(
                body=[stmt.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)],
                leading_lines=updated_node.leading_lines if index == 0 else (),
                trailing_whitespace=updated_node.trailing_whitespace,
            )
            for index, stmt in enumerate(updated_node.body)
        ]
        return cst.FlattenSentinel(lines)

    # -- attribute chains and names --------------------------------------------------------

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self._skip_names.add(id(node.attr))
        if id(node) in self._seen_chains:
            return True
        chain = _chain_nodes(node)
        for inner in chain:
            self._seen_chains.add(id(inner))
        path = dotted_name(node)
        if path is None:
            return True
        parts = path.split(".")
        root = parts[0]
        module = self.bindings.module_aliases.get(root)
        if module is not None:
            self._reach_through_alias(chain, root, module, module + path[len(root) :])
        if root in self.bindings.sdk_names:
            for index, part in enumerate(parts[1:], start=1):
                new_name = self.table.renamed(part)
                if new_name is not None:
                    attr_node = chain[index]
                    assert isinstance(attr_node, cst.Attribute)
                    self._renamed_attrs[id(attr_node.attr)] = new_name
        return True

    def _reach_through_alias(
        self, chain: list[cst.BaseExpression], alias: str, module: str, full: str
    ) -> None:
        """A chain ``alias.x.y`` that names a legacy row below the module *alias* binds."""
        hit = self.table.longest_prefix(full)
        if hit is None or len(hit.old) <= len(module):
            return  # the import statement's own rewrite covers it
        if any(full == f or full.startswith(f + ".") for f in self.bindings.unnamed_modules):
            return  # already reported at its import
        below = hit.old[len(module) :]
        moved_module = self.table.exact(module)
        if moved_module is not None and moved_module + below == hit.new:
            return  # the row moved along with the module the alias binds
        prefix_node = chain[hit.old.count(".") - module.count(".")]
        if moved_module is None and hit.new.startswith(module + "."):
            # The alias binds a module that stays (the root): respell the path under it.
            self._prefix_replacements[id(prefix_node)] = alias + hit.new[len(module) :]
            if (
                self.bindings.loads(hit.old, after_rewrite=False)
                and not self.bindings.loads(hit.new, after_rewrite=True)
                and hit.old not in self._unloaded_reported
            ):
                # ``import a.old.child`` loaded ``a.old``; its new home is not a parent of
                # ``child``'s, so the respelled chain would meet an unloaded module.
                self._unloaded_reported.add(hit.old)
                self.pending_reviews.append(
                    (
                        prefix_node,
                        f"`{hit.new}` (was `{hit.old}`) is no longer loaded by this module's "
                        f"imports; add `import {hit.new}`",
                    )
                )
            return
        self.pending_reviews.append(
            (
                prefix_node,
                f"`{alias}{below}` reaches legacy `{hit.old}` through `{module}`, which moves "
                f"to `{moved_module}`; import `{hit.new}` directly",
            )
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        new_path = self._prefix_replacements.get(id(original_node))
        if new_path is None:
            return updated_node
        self.references += 1
        return build_dotted(new_path).with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)

    def visit_Arg(self, node: cst.Arg) -> bool:
        if node.keyword is not None:
            self._skip_names.add(id(node.keyword))
        return True

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        renamed = self._renamed_attrs.get(id(original_node))
        uses = self.bindings.renamed_uses
        if renamed is None and (
            id(original_node) in uses
            if uses is not None
            else id(original_node) not in self._skip_names
        ):
            renamed = self.bindings.renamed_locals.get(original_node.value)
        if renamed is None:
            return updated_node
        self.references += 1
        return updated_node.with_changes(value=renamed)

    # -- string targets --------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> bool:
        if any(dotted_name(t.target) == "__all__" for t in node.targets):
            self._all_depth += 1
        return True

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if any(dotted_name(t.target) == "__all__" for t in original_node.targets):
            self._all_depth -= 1
        return updated_node

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if dotted_name(node.target) == "__all__":
            self._all_depth += 1
        return True

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        if dotted_name(original_node.target) == "__all__":
            self._all_depth -= 1
        return updated_node

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        if dotted_name(node.target) == "__all__":
            self._all_depth += 1
        return True

    def leave_AugAssign(
        self, original_node: cst.AugAssign, updated_node: cst.AugAssign
    ) -> cst.AugAssign:
        if dotted_name(original_node.target) == "__all__":
            self._all_depth -= 1
        return updated_node

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        self._annotation_depth += 1
        return True

    def leave_Annotation(
        self, original_node: cst.Annotation, updated_node: cst.Annotation
    ) -> cst.Annotation:
        self._annotation_depth -= 1
        return updated_node

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        if not (self._all_depth or self._annotation_depth):
            return updated_node
        parts = split_string(updated_node.value)
        if parts is None:
            return updated_node
        prefix, body, quote = parts
        if self._all_depth:
            # A re-exported name in ``__all__`` follows the renamed binding.
            new_body = self.bindings.renamed_locals.get(body, body)
        else:
            new_body = self._rewrite_annotation(body)
        if new_body == body:
            return updated_node
        self.references += 1
        return updated_node.with_changes(value=f"{prefix}{quote}{new_body}{quote}")

    def _rewrite_annotation(self, text: str) -> str:
        """A string annotation (forward reference) names types by dotted path or local name."""

        def moved(match: re.Match[str]) -> str:
            hit = self.table.longest_prefix(match.group(0))
            return hit.rewritten if hit is not None else match.group(0)

        text = self.table.path_pattern.sub(moved, text)
        for old, new in self.bindings.renamed_locals.items():
            text = re.sub(rf"(?<![\w.]){re.escape(old)}\b", new, text)
        return text

    def visit_Call(self, node: cst.Call) -> bool:
        if dotted_name(node.func) in _ALL_METHODS:
            self._all_depth += 1
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if dotted_name(original_node.func) in _ALL_METHODS:
            self._all_depth -= 1
        callee = dotted_name(updated_node.func)
        if callee is None:
            return updated_node
        if callee in _MODULE_CALLS or callee.endswith(".import_module"):
            kind, keyword = "module", "name"
        elif any(callee == s or callee.endswith("." + s) for s in _PATCH_SUFFIXES):
            kind, keyword = "attr", "in_dict" if callee.endswith(".dict") else "target"
        elif callee.endswith(_MONKEYPATCH_METHODS):
            first = updated_node.args[0].value if updated_node.args else None
            if not isinstance(first, cst.SimpleString):
                return self._rename_patched_attribute(updated_node, "name")
            kind, keyword = "attr", "target"
        elif callee == "patch.object" or callee.endswith(".patch.object"):
            return self._rename_patched_attribute(updated_node, "attribute")
        else:
            return updated_node
        args = list(updated_node.args)
        for index, arg in enumerate(args):
            positional_first = index == 0 and arg.keyword is None and not arg.star
            named = arg.keyword is not None and arg.keyword.value == keyword
            if not (positional_first or named):
                continue
            if not isinstance(arg.value, cst.SimpleString):
                self._review_built_target(original_node, arg.value)
                return updated_node
            new_value = self._rewrite_target(original_node, arg.value, kind)
            if new_value is None:
                return updated_node
            self.references += 1
            args[index] = arg.with_changes(value=new_value)
            return updated_node.with_changes(args=args)
        return updated_node

    def _review_built_target(self, call: cst.Call, value: cst.BaseExpression) -> None:
        """A target built at run time (f-string, concatenation) that spells a legacy path."""
        if not isinstance(
            value, (cst.FormattedString, cst.ConcatenatedString, cst.BinaryOperation)
        ):
            return
        text = cst.Module([]).code_for_node(value)
        for match in self.table.path_pattern.finditer(text):
            hit = self.table.longest_prefix(match.group(0))
            if hit is not None:
                self.pending_reviews.append(
                    (
                        call,
                        f"a target built at run time names legacy `{hit.old}`; "
                        f"rewrite it to `{hit.new}` by hand",
                    )
                )
                return

    def _rename_patched_attribute(self, call: cst.Call, keyword: str) -> cst.Call:
        """``patch.object(<SDK module>, "ConversationEvent")`` patches the renamed name
        (so does ``monkeypatch.setattr``); *keyword* names the attribute parameter."""
        args = list(call.args)
        positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
        target = next((a for a in args if a.keyword and a.keyword.value == "target"), None)
        if target is None and positional:
            target = args[positional[0]]
        index = next(
            (i for i, a in enumerate(args) if a.keyword and a.keyword.value == keyword), None
        )
        if index is None and len(positional) > 1:
            index = positional[1]
        root = (dotted_name(target.value) or "").split(".")[0] if target is not None else ""
        if index is None or root not in self.bindings.sdk_names:
            return call
        value = args[index].value
        parts = split_string(value.value) if isinstance(value, cst.SimpleString) else None
        new_name = self.table.renamed(parts[1]) if parts is not None else None
        if parts is None or new_name is None:
            return call
        prefix, _, quote = parts
        self.references += 1
        args[index] = args[index].with_changes(
            value=cst.SimpleString(f"{prefix}{quote}{new_name}{quote}")
        )
        return call.with_changes(args=args)

    def _rewrite_target(
        self, call: cst.Call, string: cst.SimpleString, kind: str
    ) -> cst.SimpleString | None:
        parts = split_string(string.value)
        if parts is None:
            return None
        prefix, body, quote = parts
        if not is_dotted(body) or not self.table.in_sdk(body):
            return None
        if kind == "module":
            new_body = self._module_home(call, body)
        else:
            hit = self.table.longest_prefix(body)
            new_body = hit.rewritten if hit is not None else body
            new_body = ".".join(self.table.renamed(p) or p for p in new_body.split("."))
        if new_body == body or new_body is None:
            return None
        return string.with_changes(value=f"{prefix}{quote}{new_body}{quote}")


def _alias_key(target: str, alias: cst.ImportAlias) -> tuple[str, str, str | None]:
    asname = alias.asname.name if alias.asname is not None else None
    return (
        target,
        dotted_name(alias.name) or "",
        asname.value if isinstance(asname, cst.Name) else None,
    )


def _carries_comment(alias: cst.ImportAlias) -> bool:
    comma = alias.comma
    ws = comma.whitespace_after if isinstance(comma, cst.Comma) else None
    return isinstance(ws, cst.ParenthesizedWhitespace) and ws.first_line.comment is not None


def rewrite_source(source: bytes, table: ImportMap = DEFAULT_MAP) -> RewriteResult:
    """Rewrite one module's source; raises ``libcst.ParserSyntaxError`` when it does not parse.

    The bytes go in and come out as bytes, so libcst keeps the file's own encoding
    (from its declaration) and its line endings.
    """
    module = cst.parse_module(source)
    bindings = Bindings(table)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        # Syntax this interpreter does not know but libcst does: the slow, full way.
        module.visit(_CstBindings(bindings))
        bindings.rename_shadowed = True  # unknown: let scopes decide
        skip: set[int] = set()
    else:
        ast_bindings(tree, bindings)
        skip = _skippable_statements(module, tree, bindings)
    # Scope analysis costs more than the parse, so only when a name could be ambiguous.
    if (bindings.renamed_locals and bindings.rename_shadowed) or bindings.sdk_star:
        _resolve_renamed_names(module, bindings)
    rewriter = ImportRewriter(table, bindings, skip)
    new_module = module.visit(rewriter)
    reviews: list[Review] = []
    if rewriter.pending_reviews:
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        reviews = [
            Review(positions[node].start.line if node in positions else 0, message)
            for node, message in rewriter.pending_reviews
        ]
    code = source
    if rewriter.imports or rewriter.references:
        code = new_module.bytes
        roundtrip = module.bytes
        if roundtrip != source:
            code = apply_onto_original(source, roundtrip, code)
        if source.endswith(b"\r") and not code.endswith((b"\r", b"\n")):
            # libcst drops the final line break of a file whose lines end in a bare CR.
            code += b"\r"
    return RewriteResult(code, rewriter.imports, rewriter.references, reviews)


def apply_onto_original(source: bytes, roundtrip: bytes, rewritten: bytes) -> bytes:
    """Carry the rewrite's line changes over to the original bytes.

    libcst reprints a few constructs in its own way (``except E :`` loses its space), so
    its unchanged output is not always the input. Lines the rewrite did not touch are
    taken from the original; that needs the reprint to keep every line where it was.
    """
    original = source.splitlines(keepends=True)
    reprinted = roundtrip.splitlines(keepends=True)
    if len(original) != len(reprinted):
        raise RoundTripError(
            f"libcst reprints this file with {len(reprinted)} lines instead of {len(original)}"
        )
    changed = rewritten.splitlines(keepends=True)
    out: list[bytes] = []
    matcher = difflib.SequenceMatcher(None, reprinted, changed, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out.extend(original[i1:i2] if tag == "equal" else changed[j1:j2])
    return b"".join(out)
