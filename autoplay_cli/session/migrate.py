"""Upgrade every session stored by autoplay-sdk 0.7.x in Redis to this toolkit's layout.

``autoplay migrate-sessions`` calls :func:`migrate_sessions`; each key is upgraded
by one compare-and-set, so workers may keep running while it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoplay_cli.errors import AutoplayError, SnapshotError
from autoplay_cli.session.state import Clock
from autoplay_cli.session.stores import (
    SESSION_KEY_PREFIX,
    ConcurrentUpdateError,
    RedisSessionStore,
)

MAX_LISTED_FAILURES = 20


@dataclass
class MigrationReport:
    """What a run found and did; ``failed`` names keys left as they were, and why."""

    dry_run: bool
    key_prefix: str
    scanned: int = 0
    upgraded: int = 0
    current: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return len(self.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "dry_run": self.dry_run,
            "key_prefix": self.key_prefix,
            "scanned": self.scanned,
            "upgraded": self.upgraded,
            "current": self.current,
            "failed": self.failures,
            "failures": [
                {"key": key, "error": error} for key, error in self.failed[:MAX_LISTED_FAILURES]
            ],
        }


async def migrate_sessions(
    url: str,
    *,
    dry_run: bool = False,
    key_prefix: str = SESSION_KEY_PREFIX,
    clock: Clock | None = None,
) -> MigrationReport:
    """Upgrade every SDK-written session under *key_prefix* at *url*; nothing with *dry_run*.

    Keys already in this toolkit's layout are counted as current. A key that
    cannot be read (not JSON, not a session) is counted as failed, named, and
    left untouched. Redis being unreachable raises ``StoreUnavailableError``.
    """
    report = MigrationReport(dry_run=dry_run, key_prefix=key_prefix)
    async with RedisSessionStore(url, key_prefix=key_prefix, clock=clock) as store:
        await store.ping()
        async for session_id in store.session_ids():
            report.scanned += 1
            try:
                outcome = await store.upgrade(session_id, dry_run=dry_run)
            except (SnapshotError, ConcurrentUpdateError, ValueError) as exc:
                message = exc.message if isinstance(exc, AutoplayError) else str(exc)
                report.failed.append((store.key(session_id), message))
                continue
            if outcome == "upgraded":
                report.upgraded += 1
            else:
                report.current += 1
    return report
