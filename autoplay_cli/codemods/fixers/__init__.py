"""The import rewriter as fixers: one module per kind of rewrite, registered by node type.

``imports`` and ``from_imports`` respell import statements, ``chains`` attribute chains,
``names`` uses of renamed names, ``strings`` ``__all__`` entries and string annotations,
``calls`` patch and import targets (a table of call names); ``manual_ports`` reports.
"""

from __future__ import annotations

from autoplay_cli.codemods.fixers import calls, chains, from_imports, imports, names, strings
from autoplay_cli.codemods.fixers.base import REGISTRY, Context

__all__ = [
    "REGISTRY",
    "Context",
    "calls",
    "chains",
    "from_imports",
    "imports",
    "names",
    "strings",
]
