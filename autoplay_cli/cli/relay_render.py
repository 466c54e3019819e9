"""How ``autoplay relay`` talks to the operator: logs (plain or NDJSON) and the summary.

Deliveries for ``--to -`` go to stdout; everything else goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoplay_cli.relay.runner import RelayOptions, RelaySummary


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": round(record.created, 3),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def configure(*, json_: bool, verbose: bool) -> None:
    """Relay logs at INFO on stderr (plain or NDJSON); the rest of the package per --verbose."""
    from autoplay_cli.cli.output import configure_logging

    configure_logging(verbose)
    package = logging.getLogger("autoplay_cli")
    for handler in package.handlers:
        if getattr(handler, "_autoplay", False):
            handler.setFormatter(
                JsonFormatter()
                if json_
                else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
    logging.getLogger("autoplay_cli.relay").setLevel(logging.DEBUG if verbose else logging.INFO)


def run(options: RelayOptions) -> RelaySummary:
    """Run the relay to its end; the summary goes to stderr (also on Ctrl-C)."""
    from autoplay_cli.relay.runner import RelaySummary, run_relay

    summary = RelaySummary()
    log = logging.getLogger("autoplay_cli.relay")
    try:
        asyncio.run(run_relay(options, summary))
    finally:
        for line in summary.describe().splitlines():
            log.info("%s", line)
    return summary


def resend(path: Path, to: str, secret: str | None, max_attempts: int) -> tuple[int, int]:
    """``--resend-dead-letters``: send the file's deliveries again; report on stderr."""
    from autoplay_cli.errors import UsageError
    from autoplay_cli.relay.destinations import Destination, StdoutDestination, WebhookDestination
    from autoplay_cli.relay.sender import RetryPolicy
    from autoplay_cli.relay.sender import resend as resend_file

    if to == "intercom":
        raise UsageError("--to intercom is not available in this version")
    destination: Destination = (
        StdoutDestination() if to == "-" else WebhookDestination(to, secret or "")
    )
    started = time.monotonic()
    delivered, failed = asyncio.run(
        resend_file(path, destination, policy=RetryPolicy(max_attempts=max_attempts))
    )
    log = logging.getLogger("autoplay_cli.relay")
    log.info(
        "resent %d deliveries from %s in %.1f s; %d failed again%s",
        delivered,
        path,
        time.monotonic() - started,
        failed,
        f" (kept in {path})" if failed else "",
    )
    sys.stderr.flush()
    return delivered, failed
