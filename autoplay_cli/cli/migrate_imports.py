"""``autoplay migrate-imports``: rewrite legacy ``autoplay_sdk`` import paths to canonical ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoplay_cli.cli import output
from autoplay_cli.errors import EXIT_FAILURE, PartialFailureError, UsageError

if TYPE_CHECKING:
    from autoplay_cli.codemods import MigrationReport

#: Show a progress bar only when this many files need parsing (and stderr is a TTY).
PROGRESS_MIN_FILES = 20

#: The end of ``--help`` (``\b`` keeps click from rewrapping the lines).
EPILOG = """\b
Examples:
  autoplay migrate-imports src tests         rewrite in place, report each file
  autoplay migrate-imports --check .         CI or pre-commit: exit 1 if anything is left
  autoplay migrate-imports --diff src > migrate.patch      review, then git apply

Exit codes: 0 done, 1 --check found work, 2 usage error, 8 a path does not
exist, 9 some files failed (each listed, left unchanged). See docs/migrate-imports.md.
"""


def migrate_imports(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or directories to migrate (default: the current directory).",
            metavar="PATHS",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 if anything would change, needs review or a manual port.",
        ),
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print a unified diff on stdout; write nothing.")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Skip paths matching this glob (repeatable).",
            show_default=False,
        ),
    ] = None,
    no_gitignore: Annotated[
        bool, typer.Option("--no-gitignore", help="Also visit paths that .gitignore ignores.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Processes that parse files, this one included (default: one per CPU).",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="One JSON object per line on stdout.")
    ] = False,
) -> None:
    """Rewrite legacy autoplay_sdk import paths to the canonical ones of SDK 0.7.4+."""
    from autoplay_cli.codemods import Mode, migrate

    if diff and json_:
        raise UsageError("--diff and --json both write to stdout", hint="use one of them")
    mode = Mode.DIFF if diff else Mode.CHECK if check else Mode.WRITE
    with output.ProgressBar("migrating", min_total=PROGRESS_MIN_FILES) as progress:
        report = migrate(
            paths or [Path(".")],
            mode=mode,
            exclude=exclude or (),
            respect_gitignore=not no_gitignore,
            jobs=jobs,
            progress=progress,
        )
    if json_:
        _emit_json(report)
    else:
        _emit_text(report)
    if report.failures:
        count = len(report.failures)
        raise PartialFailureError(
            f"{count} file{'s' if count != 1 else ''} could not be migrated and "
            f"{'were' if count != 1 else 'was'} left unchanged (listed above)",
            hint="fix the reported line, then run again; the other files were processed",
        )
    if check and (report.changed or report.reviews):
        raise typer.Exit(EXIT_FAILURE)


def _emit_text(report: MigrationReport) -> None:
    from autoplay_cli.codemods import Mode

    # With --diff, stdout carries the patch; the report moves to stderr.
    say = output.emit_text if report.mode is not Mode.DIFF else _to_stderr
    verb = "rewrote" if report.mode is Mode.WRITE else "would rewrite"
    for outcome in report.outcomes:
        if outcome.diff:
            _emit_bytes(outcome.diff)
        if outcome.changed:
            say(f"{verb} {outcome.path} ({_counts(outcome.imports, outcome.references)})")
        for finding in outcome.reviews:
            say(str(finding))
        if outcome.error is not None:
            say(str(outcome.error))
    files = len(report.changed)
    done = "rewritten" if report.mode is Mode.WRITE else "would be rewritten"
    parts = [
        f"{files} file{'s' if files != 1 else ''} {done} "
        f"({_counts(report.imports, report.references)})"
        if files
        else "nothing to rewrite"
    ]
    ports = sum(1 for finding in report.reviews if finding.kind == "port")
    if len(report.reviews) > ports:
        parts.append(f"{len(report.reviews) - ports} for manual review")
    if ports:
        parts.append(f"{ports} to port by hand")
    if report.failures:
        parts.append(f"{len(report.failures)} failed")
    _to_stderr(
        f"{'; '.join(parts)} — scanned {report.scanned} "
        f"file{'s' if report.scanned != 1 else ''}, parsed {report.candidates}."
    )


def _counts(imports: int, references: int) -> str:
    return (
        f"{imports} import{'s' if imports != 1 else ''}, "
        f"{references} reference{'s' if references != 1 else ''}"
    )


def _emit_bytes(data: bytes) -> None:
    # A patch is the file's own bytes (any encoding), so it bypasses text encoding.
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _to_stderr(line: str) -> None:
    output.err().print(line, markup=False, highlight=False, soft_wrap=True)


def _emit_json(report: MigrationReport) -> None:
    for event in report.events():
        output.emit_json(event)
