"""``autoplay migrate-sessions``: upgrade sessions stored by autoplay-sdk 0.7.x in Redis."""

from __future__ import annotations

from typing import Annotated

import typer

from autoplay_cli.cli import output


def migrate_sessions(
    redis: Annotated[
        str,
        typer.Option(
            "--redis",
            "--redis-url",
            metavar="URL",
            help="The Redis the SDK's workers store sessions in (redis://, rediss://, unix://).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be upgraded; write nothing.")
    ] = False,
    key_prefix: Annotated[
        str,
        typer.Option(
            "--key-prefix",
            metavar="PREFIX",
            help="Prefix of the session keys.",
        ),
    ] = "autoplay:session_state:",
    json_: Annotated[
        bool, typer.Option("--json", help="One JSON summary object on stdout.")
    ] = False,
) -> None:
    """Upgrade sessions stored in Redis by autoplay-sdk 0.7.x to this toolkit's layout.

    Every key PREFIX* holding the SDK's JSON string is rewritten, in one atomic
    step per key, as this toolkit's session hash (its timers restart from now:
    the SDK's stamps are meaningless outside the process that wrote them).
    Safe while workers run: a key a worker changes meanwhile is read again.
    Keys already upgraded are counted as current. Exit 0 when every key is
    readable, 9 when some could not be read (they are named and left as they are).

    \b
    Examples:
      autoplay migrate-sessions --redis redis://127.0.0.1:6379/0 --dry-run
      autoplay migrate-sessions --redis redis://127.0.0.1:6379/0
      autoplay migrate-sessions --redis redis://127.0.0.1:6379/0 --json
    """
    import asyncio

    from autoplay_cli.errors import PartialFailureError, UsageError
    from autoplay_cli.redact import mask_url
    from autoplay_cli.session import migrate_sessions as migrate

    if not redis.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(
            f"--redis {mask_url(redis)!r}: expected a redis:// URL",
            hint="e.g. --redis redis://127.0.0.1:6379/0",
        )
    report = asyncio.run(migrate(redis, dry_run=dry_run, key_prefix=key_prefix))
    if json_:
        output.emit_json(report.to_json())
    else:
        verb = "would upgrade" if dry_run else "upgraded"
        output.emit_text(
            f"{_n(report.scanned, 'session key')} scanned at {mask_url(redis)}: "
            f"{verb} {report.upgraded}, already current {report.current}, "
            f"unreadable {report.failures}"
        )
        for key, error in report.failed[:20]:
            output.warn(f"{key}: {error}")
    if report.failed:
        raise PartialFailureError(
            f"{_n(report.failures, 'key')} could not be read (left unchanged)",
            hint="inspect or delete them; the other sessions were processed",
        )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
