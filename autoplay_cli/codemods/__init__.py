"""Codemods: the import-migration table (data) and the libcst rewriter that applies it.

``migrate`` walks a tree; ``rewriter.rewrite_source`` rewrites one module's bytes.
"""

from __future__ import annotations

from autoplay_cli.codemods.migration import FileOutcome, Finding, MigrationReport, Mode, migrate

__all__ = ["FileOutcome", "Finding", "MigrationReport", "Mode", "migrate"]
