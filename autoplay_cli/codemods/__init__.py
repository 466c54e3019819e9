"""Codemods: the import-migration table (data) and the rewriter that applies it.

``migrate`` walks a tree; ``engine.rewrite_source`` rewrites one module's bytes through
the fixers (``fixers/``), or the libcst reference path (``rewriter``) where they stop.
The face is ``__all__``; ``import_map`` (the table, data) is public too, the other
modules are internals.
"""

from __future__ import annotations

from autoplay_cli.codemods.migration import FileOutcome, Finding, MigrationReport, Mode, migrate

__all__ = ["FileOutcome", "Finding", "MigrationReport", "Mode", "migrate"]
