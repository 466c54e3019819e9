"""Report code that uses an SDK module whose listed home no release ships (a manual port).

``autoplay_sdk.agent_states`` maps to ``agent_state.v1``, gone after SDK 0.7.4: such
imports, chains and string targets are left as they are and reported, line by line.
"""

from __future__ import annotations

import ast

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.bindings import Bindings, Review
from autoplay_cli.codemods.fixers.base import dotted
from autoplay_cli.codemods.mapping import ImportMap, is_dotted


def port_message(path: str, gone: str) -> str:
    return (
        f"`{path}` is under `{gone}`, whose listed home (`agent_state.v1`) no SDK release "
        f"after 0.7.4 ships; {import_map.MANUAL_PORT_POINTER}"
    )


def find_manual_ports(tree: ast.Module, bindings: Bindings, table: ImportMap) -> list[Review]:
    """One review per line that imports or names a module needing a manual port."""
    found: dict[int, Review] = {}

    def report(line: int, path: str) -> None:
        gone = table.manual_port(path)
        if gone is not None and line not in found:
            found[line] = Review(line, port_message(path, gone), kind="port")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                report(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if table.in_sdk(node.module):
                # Per name: a submodule with a live home moves out from under the module.
                for alias in node.names:
                    named = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
                    report(node.lineno, named)
        elif isinstance(node, ast.Attribute):
            path = dotted(node)
            if path is None:
                continue
            root, _, rest = path.partition(".")
            module = bindings.module_aliases.get(root)
            # A chain through a binding of the gone module itself is covered by its import.
            if module is not None and table.manual_port(module) is None:
                report(node.lineno, f"{module}.{rest}")
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and is_dotted(node.value)
        ):
            report(node.lineno, node.value)
    return sorted(found.values(), key=lambda r: r.line)
