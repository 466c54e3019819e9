"""What an emulator serves and how it misbehaves: one options object, validated once."""

from __future__ import annotations

import ipaddress
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from autoplay_cli.emulator.traffic import DEFAULT_PRODUCT_ID
from autoplay_cli.errors import UsageError
from autoplay_cli.settings import header_credential

DEFAULT_RING_SIZE = 10_000
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


@dataclass(frozen=True)
class EmulatorOptions:
    """Everything the emulator can be told. Defaults suit both the CLI and tests.

    Traffic: ``rate`` events per second (0 = as fast as the subscriber reads),
    ``sessions`` sessions then heartbeats only (``None`` = endless), or at most
    ``max_events`` framed events. Production for a product starts when
    ``wait_for_subscribers`` subscribers are connected to it (0 = at once), so a
    test's first subscriber sees every event from id 1.

    Faults (per connection): ``drop_every`` ends the response after N events,
    ``stall_after`` stops sending any byte after N events without closing.
    ``malformed_every`` makes every N-th framed event of the stream (all
    subscribers alike) carry data that is not JSON. ``latency_ms`` delays
    every HTTP response and every write.
    """

    host: str = "127.0.0.1"
    port: int = 0
    product_id: str = DEFAULT_PRODUCT_ID
    token: str = field(default_factory=lambda: "uk_local_" + secrets.token_urlsafe(18))
    webhook_secret: str = field(default_factory=lambda: "whsec_local_" + secrets.token_urlsafe(18))
    seed: int = 0
    rate: float = 5.0
    sessions: int | None = None
    max_events: int | None = None
    scenario: str | None = None
    start: float | None = None
    wait_for_subscribers: int = 1
    drop_every: int | None = None
    stall_after: int | None = None
    malformed_every: int | None = None
    latency_ms: float = 0.0
    heartbeat_s: float = 15.0
    keepalive_s: float = 5.0
    retry_ms: int = 1000
    ring_size: int = DEFAULT_RING_SIZE
    max_write_bytes: int = 256 * 1024
    admin_key: str | None = None
    create_keys: bool = True
    dual_write: bool = False
    unkey_root_key: str = field(default_factory=lambda: "unkey_fake_" + secrets.token_urlsafe(18))
    unkey_api_id: str = "api_emulator"
    clock: Callable[[], float] = time.time

    @property
    def loopback(self) -> bool:
        """Whether ``host`` is reachable from this machine only."""
        try:
            return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost
            return False

    def with_(self, **changes: Any) -> EmulatorOptions:
        """A copy with *changes* applied, validated."""
        return replace(self, **changes).validated()

    def validated(self) -> EmulatorOptions:
        """Self, or a :class:`UsageError` naming the first bad option."""

        def bad(name: str, why: str) -> UsageError:
            return UsageError(f"`{name}` {why}", setting=name, hint="see `autoplay emulate --help`")

        if not EXTERNAL_ID.match(self.product_id):
            raise bad("product_id", "must be 1–255 characters of letters, digits, '_', '.', '-'")
        # Each travels in an HTTP header: refused here as `tail` and `doctor` refuse it,
        # since no client could ever send it (and the message never echoes it).
        if not self.token:
            raise bad("token", "must not be empty")
        header_credential(self.token, what="stream key", name="token")
        if len(self.webhook_secret) < 16:
            raise bad("webhook_secret", "must be at least 16 characters")
        header_credential(self.webhook_secret, what="webhook secret", name="webhook_secret")
        if self.admin_key is not None:
            header_credential(self.admin_key, what="admin key", name="admin_key")
        for name, number in (
            ("rate", self.rate),
            ("latency_ms", self.latency_ms),
            ("heartbeat_s", self.heartbeat_s),
            ("keepalive_s", self.keepalive_s),
        ):
            if not math.isfinite(number):
                raise bad(name, f"must be a finite number, got {number}")
        if not 0 <= self.port <= 65535:
            raise bad("port", "must be between 0 and 65535")
        if self.rate < 0:
            raise bad("rate", "must be ≥ 0 (0 means as fast as possible)")
        for name, value in (
            ("sessions", self.sessions),
            ("max_events", self.max_events),
            ("drop_every", self.drop_every),
            ("stall_after", self.stall_after),
            ("malformed_every", self.malformed_every),
        ):
            if value is not None and value < (0 if name in ("sessions", "max_events") else 1):
                raise bad(name, "must be a positive number")
        if self.latency_ms < 0:
            raise bad("latency_ms", "must be ≥ 0")
        if self.heartbeat_s <= 0:
            raise bad("heartbeat_s", "must be > 0 seconds")
        if self.keepalive_s <= 0:
            raise bad("keepalive_s", "must be > 0 seconds")
        if self.ring_size < 1:
            raise bad("ring_size", "must be ≥ 1")
        if self.wait_for_subscribers < 0:
            raise bad("wait_for_subscribers", "must be ≥ 0")
        return self
