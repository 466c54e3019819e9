"""Reconnection delays: exponential backoff with jitter, reset after a good read.

The server's ``retry:`` field (milliseconds) replaces the base delay, as the
WHATWG EventSource rules say, up to :data:`SERVER_DELAY_LIMIT`; consecutive
failures still double it up to a cap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: The longest wait a server can ask for (``retry:``, ``Retry-After``), in seconds: a
#: hostile or broken value must not stall the client so long that ``max_retries`` never
#: ends the run.
SERVER_DELAY_LIMIT = 300.0


@dataclass
class Backoff:
    """Delay before the next reconnection attempt.

    ``next_delay()`` returns ``base * 2**failures`` (capped at ``cap``) with
    ``±jitter`` relative noise, then counts one more failure. ``reset()`` is
    called after a successful read, so a connection that worked for a while
    and then dropped reconnects quickly again.
    """

    base: float = 1.0
    cap: float = 30.0
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("backoff delays must be >= 0")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def set_server_retry(self, retry_ms: int) -> None:
        """Apply an SSE ``retry:`` field: the new base delay, in milliseconds."""
        if retry_ms >= 0:
            self.base = min(retry_ms / 1000.0, SERVER_DELAY_LIMIT)
            # A server asking for a longer delay than our cap is obeyed.
            self.cap = max(self.cap, self.base)

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.base * (2 ** min(self.failures, 32)), self.cap)
        self.failures += 1
        if self.jitter and delay > 0:
            delay *= 1 + self.rng.uniform(-self.jitter, self.jitter)
        return max(delay, 0.0)
