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
from typing import TYPE_CHECKING, Any

from autoplay_cli.errors import respell

if TYPE_CHECKING:
    from autoplay_cli.cli.flags import Speller
    from autoplay_cli.relay import RelayOptions, RelaySummary


def _unchanged(name: str) -> str | None:
    return None


class PlainFormatter(logging.Formatter):
    """``time level logger: message``, the settings a message names spelled as flags."""

    def __init__(self, spell: Speller = _unchanged) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.spell = spell

    def formatMessage(self, record: logging.LogRecord) -> str:
        return respell(super().formatMessage(record), self.spell)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message."""

    def __init__(self, spell: Speller = _unchanged) -> None:
        super().__init__()
        self.spell = spell

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": round(record.created, 3),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": respell(record.getMessage(), self.spell),
            },
            ensure_ascii=False,
        )


def configure(*, json_: bool, verbose: bool, spell: Speller = _unchanged) -> None:
    """Relay logs at INFO on stderr (plain or NDJSON); the rest of the package per --verbose.

    The settings the library's messages name (`count`) are spelled by *spell* (``--count``).
    """
    from autoplay_cli.cli.output import configure_logging

    configure_logging(verbose)
    package = logging.getLogger("autoplay_cli")
    for handler in package.handlers:
        # The invocation's own stderr handler (whoever installed it): our format on it.
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
            handler.setFormatter(JsonFormatter(spell) if json_ else PlainFormatter(spell))
    logging.getLogger("autoplay_cli.relay").setLevel(logging.DEBUG if verbose else logging.INFO)


class Status:
    """The operator's view while running: a live line on a TTY, a log line now and then
    elsewhere (every ``every_s`` seconds)."""

    def __init__(self, *, tty: bool, every_s: float = 30.0) -> None:
        self.tty = tty
        self.every_s = every_s
        self._last: tuple[float, int] | None = None
        self._logged = 0.0
        self._live: Any = None

    def line(self, summary: RelaySummary, now: float) -> str:
        relay, sender = summary.relay, summary.sender
        if relay is None or sender is None:
            return "relay: starting"
        c, st = relay.counters, sender.stats
        events = sum(c.events.values())
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (events - self._last[1]) / (now - self._last[0])
        self._last = (now, events)
        lag = summary.health.lag_s(now) if summary.health is not None else None
        return (
            f"relay: {rate:,.0f} events/s · {len(relay.store.sessions)} sessions · offers "
            f"{c.offers} made, {sum(c.blocked.values())} blocked · deliveries {st.delivered} ok, "
            f"{st.retrying} retrying, {st.dead} dead"
            + (f" · lag {lag:.1f} s" if lag is not None else "")
        )

    def __call__(self, summary: RelaySummary) -> None:
        now = time.time()
        if self.tty:
            from rich.live import Live
            from rich.text import Text

            from autoplay_cli.cli.output import err

            text = Text(self.line(summary, now))
            if self._live is None:
                self._live = Live(text, console=err(), transient=True, auto_refresh=False)
                self._live.start()
            self._live.update(text, refresh=True)
        elif now - self._logged >= self.every_s:
            self._logged = now
            logging.getLogger("autoplay_cli.relay").info("%s", self.line(summary, now))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def run(options: RelayOptions, *, json_: bool = False) -> RelaySummary:
    """Run the relay to its end; the summary goes to stderr (also on Ctrl-C)."""
    from autoplay_cli.cli.output import stderr_is_tty
    from autoplay_cli.cli.tuning import HOT_LOOP_YOUNG, quiet_collector
    from autoplay_cli.relay import RelaySummary, run_relay

    summary = RelaySummary()
    status = Status(tty=stderr_is_tty() and not json_)
    log = logging.getLogger("autoplay_cli.relay")
    try:
        with quiet_collector(HOT_LOOP_YOUNG):
            asyncio.run(run_relay(options, summary, on_status=status))
    finally:
        status.stop()
        for line in summary.describe().splitlines():
            log.info("%s", line)
    return summary


def resend(
    path: Path,
    to: str,
    secret: str | None,
    max_attempts: int,
    intercom_admin_id: str | None = None,
) -> tuple[int, int]:
    """``--resend-dead-letters``: send the file's deliveries again; report on stderr."""
    from autoplay_cli.relay import Destination, RetryPolicy, StdoutDestination, WebhookDestination
    from autoplay_cli.relay import resend as resend_file

    destination: Destination
    if to == "intercom":
        from autoplay_cli.relay import IntercomDestination

        destination = IntercomDestination(intercom_admin_id)
    elif to == "-":
        destination = StdoutDestination()
    else:
        destination = WebhookDestination(to, secret or "")
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
