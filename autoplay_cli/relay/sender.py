"""The sender: drains the outbox to a destination, with retries and a dead-letter file.

Deliveries go out one at a time, in outbox order (so a conversation's notes arrive
in order). A retryable failure waits (exponential backoff with full jitter, or the
peer's ``Retry-After``) and tries again, up to the budget; then the delivery is
appended to the dead-letter file and counted. An entry leaves the outbox only once
it is delivered or dead-lettered: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoplay_cli.errors import AutoplayError, InputError
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.relay.destinations import Destination, Outcome

log = logging.getLogger(__name__)

DATA_DIR_ENV = "AUTOPLAY_DATA_DIR"
DEFAULT_MAX_ATTEMPTS = 6


def data_dir(env: dict[str, str] | None = None) -> Path:
    """The user data dir: ``$AUTOPLAY_DATA_DIR``, else ``$XDG_DATA_HOME/autoplay``, else
    ``~/.local/share/autoplay``."""
    env = dict(os.environ) if env is None else env
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV])
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "autoplay"


def default_dead_letter_path(product_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in product_id) or "product"
    return data_dir() / "relay" / f"dead-letters-{safe}.ndjson"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one delivery: attempts, and the backoff between them."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number *attempt* (1-based): full jitter."""
        cap = min(self.max_delay_s, self.initial_delay_s * 2 ** (attempt - 1))
        return rng.uniform(cap / 2, cap)


class DeadLetterError(AutoplayError):
    """The dead-letter file cannot be written: the delivery stays in the outbox."""


class DeadLetters:
    """An append-only NDJSON file of deliveries that could not be delivered."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, delivery: Delivery, reason: str, attempts: int, destination: str) -> None:
        line = json.dumps(
            {
                "delivery": delivery.to_dict(),
                "reason": reason,
                "attempts": attempts,
                "destination": destination,
                "dead_at": time.time(),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise DeadLetterError(
                f"cannot write the dead-letter file {self.path}: {exc.strerror or exc}",
                setting="dead_letter",
                hint="free some space or pass `dead_letter` FILE",
            ) from exc


def read_dead_letters(path: Path) -> Iterator[Delivery]:
    """The deliveries of a dead-letter file (or of a ``--to -`` output: plain deliveries)."""
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"dead-letter file {path} does not exist", hint="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):
                raise InputError(f"{where}: not JSON", hint="one delivery per line") from None
            if isinstance(data, dict) and "delivery" in data:
                data = data["delivery"]
            yield Delivery.from_dict(data, where=where)


class SenderStats:
    def __init__(self) -> None:
        self.delivered = 0
        self.retries = 0
        self.dead = 0
        self.retrying = 0  # deliveries currently between attempts
        self.stalls = 0  # drains interrupted by a store or dead-letter failure
        self.latency: list[float] = []  # recent created->delivered seconds (bounded)
        self.by_type: dict[tuple[str, str], int] = {}  # (type, outcome) -> count

    def count(self, delivery: Delivery, outcome: str) -> None:
        key = (delivery.type, outcome)
        self.by_type[key] = self.by_type.get(key, 0) + 1


class Sender:
    """Drains a store's outbox to one destination (see the module docstring)."""

    def __init__(
        self,
        store: Any,
        destination: Destination,
        *,
        policy: RetryPolicy | None = None,
        dead_letters: DeadLetters | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        on_delivered: Callable[[Delivery, float], None] | None = None,
        on_retry: Callable[[Delivery, Outcome, int], None] | None = None,
        on_dead: Callable[[Delivery, str], None] | None = None,
    ) -> None:
        self.store = store
        self.destination = destination
        self.policy = policy or RetryPolicy()
        self.dead_letters = dead_letters
        self.stats = SenderStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._cursor: Any = None
        self._unacked: list[Any] = []  # sent, not yet removed from the outbox
        self._on_delivered = on_delivered
        self._on_retry = on_retry
        self._on_dead = on_dead

    def wake(self) -> None:
        """New entries are in the outbox."""
        self._wake.set()

    def stop(self) -> None:
        """Let :meth:`run` return after the drain in progress (a final :meth:`drain` follows)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Drain whenever woken (and every second, for entries written by others).

        Stopped with :meth:`stop`, not by cancellation: a cancel landing as the
        one-second wait times out can be absorbed by ``asyncio.timeout``.
        """
        while not self._stopping:
            try:
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.drain()
            except AutoplayError as exc:
                # The store or the dead-letter file failed: entries stay queued; try again.
                self.stats.stalls += 1
                log.warning("sender: %s; retrying in 1 s", exc.one_line())

    async def drain(self) -> int:
        """Send everything queued now; how many entries left the outbox."""
        done = 0
        while True:
            if self._unacked:
                # Sent (or dead-lettered) but still queued: the cursor is past them, so
                # an acknowledgement that failed (Redis down) is retried here, or they
                # would sit in the outbox for good.
                self.destination.flush()
                await self.store.outbox_ack(self._unacked)
                done += len(self._unacked)
                self._unacked = []
            entries = await self.store.outbox_peek(256, self._cursor)
            if not entries:
                break
            send, unacked = self.destination.send, self._unacked
            for entry_id, delivery in entries:
                # The first attempt here: most go through, and need no retry loop.
                outcome = await send(delivery)
                if outcome.ok:
                    self._delivered(delivery)
                else:
                    await self.deliver(delivery, first=outcome)
                unacked.append(entry_id)
                self._cursor = entry_id
        return done

    async def deliver(self, delivery: Delivery, *, first: Outcome | None = None) -> bool:
        """Send one delivery within the retry budget; ``False`` when it was dead-lettered.

        *first*: the outcome of a first attempt already made (by :meth:`drain`).
        """
        attempt = 0
        while True:
            attempt += 1
            if first is not None:
                outcome, first = first, None
            else:
                outcome = await self.destination.send(delivery)
            if outcome.ok:
                self._delivered(delivery)
                return True
            if not outcome.retry or attempt >= self.policy.max_attempts:
                reason = outcome.error or "failed"
                if outcome.retry:
                    reason += f" (gave up after {attempt} attempts)"
                self._dead(delivery, reason, attempt)
                return False
            self.stats.retries += 1
            if self._on_retry is not None:
                self._on_retry(delivery, outcome, attempt)
            delay = self.policy.delay(attempt, self._rng)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            self.stats.retrying += 1
            try:
                await self._sleep(delay)
            finally:
                self.stats.retrying -= 1

    def _delivered(self, delivery: Delivery) -> None:
        self.stats.delivered += 1
        self.stats.count(delivery, "ok")
        if self._on_delivered is not None:
            self._on_delivered(delivery, self._clock() - delivery.created_at)

    def _dead(self, delivery: Delivery, reason: str, attempts: int) -> None:
        if self.dead_letters is not None:
            self.dead_letters.append(delivery, reason, attempts, self.destination.name)
        self.stats.dead += 1
        self.stats.count(delivery, "dead_letter")
        if self._on_dead is not None:
            self._on_dead(delivery, reason)


async def resend(
    path: Path,
    destination: Destination,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> tuple[int, int]:
    """Send every delivery of a dead-letter file again; ``(delivered, still failing)``.

    The file is rewritten to hold only the deliveries that failed again (removed
    when none did), so running it twice never sends a delivery twice.
    """
    deliveries = list(read_dead_letters(path))
    remaining = path.with_name(path.name + ".retry")
    remaining.unlink(missing_ok=True)
    letters = DeadLetters(remaining)
    sender = Sender(None, destination, policy=policy, dead_letters=letters, sleep=sleep)
    try:
        for delivery in deliveries:
            await sender.deliver(delivery)
    finally:
        destination.flush()
        await destination.aclose()
    if sender.stats.dead:
        os.replace(remaining, path)
    else:
        path.unlink()
    return sender.stats.delivered, sender.stats.dead
