"""Leases with fencing tokens in Redis (``SET NX PX`` and a counter), and the fenced append.

A lease's value is ``<token>:<member>``; the token comes from one ``INCR`` counter
per group, so a newer holder always has a larger token. Every write a holder makes
is checked against the lease's current value atomically in Redis (a Lua script or
WATCH/MULTI), so a holder that lost its lease (paused, partitioned) writes nothing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

from autoplay_cli.errors import ConflictError

# INCR the fence, then SET NX PX: a token is spent only when the lease is free.
ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local v = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[2])
return v
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lease, checkpoint, then one partition stream per event.
# ARGV: lease value, checkpoint ('' for none), then (event id, time, payload) per event.
APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
for i = 3, #KEYS do
  local a = 3 + (i - 3) * 3
  redis.call('XADD', KEYS[i], '*', 'i', ARGV[a], 't', ARGV[a + 1], 'p', ARGV[a + 2])
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
return #KEYS - 2
"""


# Every lease a member holds, renewed in one round trip (KEYS: leases, ARGV: values, then TTL).
RENEW_MANY = """
local ttl = ARGV[#ARGV]
local out = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('PEXPIRE', KEYS[i], ttl)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

# Scripts by client: EVALSHA after the first call (the script text is sent once).
_SCRIPTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


async def run_script(client: Any, source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    scripts = _SCRIPTS.setdefault(client, {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = client.register_script(source)
    return await script(keys=list(keys), args=list(args))


class LeaseLost(ConflictError):
    """This member no longer holds a lease it was writing under; the write was refused."""


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Lease:
    """One lease (the stream's or a partition's) as seen by one member."""

    def __init__(self, key: str, fence_key: str, member: str, ttl_s: float) -> None:
        self.key = key
        self.fence_key = fence_key
        self.member = member
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.value: str | None = None
        self.valid_until = 0.0  # monotonic; past it we assume the lease is gone

    @property
    def token(self) -> int:
        return int(self.value.split(":", 1)[0]) if self.value else 0

    @property
    def held(self) -> bool:
        """Held as far as this process can tell (Redis has the last word on every write)."""
        return self.value is not None and time.monotonic() < self.valid_until

    async def acquire(self, client: Any) -> bool:
        sent = time.monotonic()
        value = await run_script(
            client, ACQUIRE, [self.key, self.fence_key], [self.member, self.ttl_ms]
        )
        if not value:
            return False
        self.value, self.valid_until = _text(value), sent + self.ttl_ms / 1000
        return True

    async def renew(self, client: Any) -> bool:
        if self.value is None:
            return False
        sent = time.monotonic()
        if await run_script(client, RENEW, [self.key], [self.value, self.ttl_ms]):
            # Counted from when the renewal was sent: never later than Redis's own expiry.
            self.valid_until = sent + self.ttl_ms / 1000
            return True
        self.value = None
        return False

    async def release(self, client: Any) -> None:
        value, self.value = self.value, None
        if value is not None:
            await run_script(client, RELEASE, [self.key], [value])

    def forget(self) -> None:
        self.value = None


async def fenced_append(
    client: Any,
    lease: Lease,
    checkpoint_key: str,
    checkpoint: str | None,
    entries: Sequence[tuple[str, str, str, str]],
) -> int:
    """Append (partition key, event id, time, payload) entries and set the checkpoint, fenced.

    Raises :class:`LeaseLost` (and writes nothing) when *lease* is no longer ours.
    """
    if lease.value is None or not lease.held:
        raise LeaseLost(f"lease {lease.key} expired locally; not appending")
    keys = [lease.key, checkpoint_key, *(e[0] for e in entries)]
    args: list[str] = [lease.value, checkpoint or ""]
    for _, event_id, at, payload in entries:
        args.extend((event_id, at, payload))
    n = await run_script(client, APPEND, keys, args)
    if int(n) < 0:
        lease.forget()
        raise LeaseLost(f"lease {lease.key} is held by another member; append refused")
    return int(n)


async def renew_all(client: Any, leases: Sequence[Lease]) -> list[bool]:
    """Renew *leases* (held ones) in one round trip; which are still ours. Lost ones forget."""
    held = [lease for lease in leases if lease.value is not None]
    if not held:
        return [False] * len(leases)
    sent = time.monotonic()
    ttl_ms = held[0].ttl_ms
    reply = await run_script(
        client, RENEW_MANY, [x.key for x in held], [*(x.value for x in held), ttl_ms]
    )
    ok = {}
    for lease, good in zip(held, reply, strict=True):
        if int(good):
            lease.valid_until = sent + lease.ttl_ms / 1000
        else:
            lease.value = None
        ok[id(lease)] = bool(int(good))
    return [ok.get(id(lease), False) for lease in leases]
