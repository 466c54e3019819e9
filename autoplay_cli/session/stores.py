"""Session stores: one async interface, in memory or in Redis, with optimistic concurrency.

Every stored snapshot carries a revision; ``update`` reads, applies the mutation,
and writes only if the revision is unchanged (compare-and-set), retrying otherwise.
Revisions never repeat for a key, even after it is deleted and created again, so
a stale write is refused instead of silently replacing the new session.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import itertools
import json
import random
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from autoplay_cli.errors import ConflictError, InputError, SnapshotError
from autoplay_cli.session._redis import RedisConnection
from autoplay_cli.session.linking import (
    DEFAULT_LINK_TTL_S,
    LINK_KEY_PREFIX,
    RedisConversationLinkStore,
)
from autoplay_cli.session.state import (
    DEFAULT_COOLDOWN_PERIOD_S,
    DEFAULT_INTERACTION_TIMEOUT_S,
    Clock,
    SessionState,
    is_sdk_snapshot,
)

SESSION_KEY_PREFIX = "autoplay:session_state:"
DEFAULT_TTL_S = 86400
DEFAULT_MAX_ATTEMPTS = 200

Mutation = Callable[[SessionState], Any]
# An opaque revision token: equal tokens mean "nobody wrote in between". ABSENT is
# the token of a key that does not exist; SDK_PREFIX marks a value in the SDK's layout.
Revision = int | str
ABSENT: Revision = 0
SDK_PREFIX = "sdk:"


class ConcurrentUpdateError(ConflictError):
    """A write lost the race: the stored session changed since it was read."""


@runtime_checkable
class SessionStore(Protocol):
    """The async interface every session store offers."""

    async def get_or_create(
        self, session_id: str, metadata: Mapping[str, Any] | None = None
    ) -> SessionState: ...

    async def get(self, session_id: str) -> SessionState | None: ...

    async def save(self, state: SessionState) -> None: ...

    async def delete(self, session_id: str) -> None: ...

    async def update(
        self, session_id: str, fn: Mutation, *, metadata: Mapping[str, Any] | None = None
    ) -> SessionState: ...


def fill_metadata(state: SessionState, metadata: Mapping[str, Any] | None) -> None:
    """Set the keys of *metadata* that *state* lacks (or holds as null); never overwrite."""
    for key, value in (metadata or {}).items():
        if value is not None and state.metadata.get(key) is None:
            state.metadata[key] = value


class _CasStore:
    """Shared logic over two primitives: read (revision, snapshot) and compare-and-set.

    Revision ``ABSENT`` (0) means "absent". ``_cas(expected=None)`` writes unconditionally.
    """

    def __init__(
        self,
        *,
        clock: Clock | None,
        interaction_timeout_s: float,
        cooldown_period_s: float,
        max_attempts: int,
    ) -> None:
        if max_attempts < 1:
            raise InputError(f"max_attempts must be >= 1, got {max_attempts!r}")
        self.clock = clock
        self.interaction_timeout_s = interaction_timeout_s
        self.cooldown_period_s = cooldown_period_s
        self.max_attempts = max_attempts
        # Lost compare-and-set races so far (each one caused a retry): an observability hook.
        self.conflicts = 0
        # Per-key queue for this object's own tasks: they wait their turn instead of
        # racing each other; compare-and-set still guards against other processes.
        self._key_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        # Validate the defaults once, here, rather than on the first new session.
        SessionState(
            "validate",
            interaction_timeout_s=interaction_timeout_s,
            cooldown_period_s=cooldown_period_s,
            clock=lambda: 0.0,
        )

    async def _read(self, session_id: str) -> tuple[Revision, str | None]:
        raise NotImplementedError

    async def _cas(
        self, session_id: str, expected: Revision | None, snapshot: str
    ) -> Revision | None:
        """Write when the revision is *expected* (any, if None); the new revision, or None."""
        raise NotImplementedError

    def _where(self, session_id: str) -> str:
        return f"session {session_id!r}"

    def new_state(self, session_id: str, metadata: Mapping[str, Any] | None = None) -> SessionState:
        return SessionState(
            session_id,
            metadata,
            interaction_timeout_s=self.interaction_timeout_s,
            cooldown_period_s=self.cooldown_period_s,
            clock=self.clock,
        )

    def _decode(self, session_id: str, revision: Revision, raw: str) -> SessionState:
        state = SessionState.try_from_json(raw, clock=self.clock)
        if state is None:
            state = self._decode_slowly(session_id, raw)
        if state.session_id != session_id:
            raise SnapshotError(f"{self._where(session_id)} holds session {state.session_id!r}")
        state._store_revision = revision
        return state

    def _decode_slowly(self, session_id: str, raw: str) -> SessionState:
        """The SDK's layout, or a snapshot with a mistake that from_dict will name."""
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise SnapshotError(
                f"{self._where(session_id)} does not hold JSON", hint="delete it so it is recreated"
            ) from exc
        if is_sdk_snapshot(data) and not data.get("session_id"):
            # The SDK writes an empty id as "": the key says whose session it is.
            data = {**data, "session_id": session_id}
        return SessionState.from_dict(data, clock=self.clock)

    @staticmethod
    def _encode(state: SessionState) -> str:
        try:
            return json.dumps(state.to_dict(), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"session {state.session_id!r}: metadata is not JSON-serialisable ({exc})",
                hint="keep metadata to str/number/bool/list/dict",
            ) from exc

    async def aclose(self) -> None:
        """Release connections (a no-op in memory)."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(self, session_id: str) -> SessionState | None:
        """The stored state, or ``None`` when there is none."""
        revision, raw = await self._read(session_id)
        return None if raw is None else self._decode(session_id, revision, raw)

    async def save(self, state: SessionState) -> None:
        """Persist *state*.

        A state read from this store is written only if nobody wrote it since
        (else :class:`ConcurrentUpdateError`: re-read, or use :meth:`update`);
        a state built by the caller is written unconditionally.
        """
        snapshot = self._encode(state)
        new = await self._cas(state.session_id, state._store_revision, snapshot)
        if new is None:
            raise ConcurrentUpdateError(
                f"session {state.session_id!r} was changed by another writer since it was read",
                hint="use store.update(session_id, fn) for read-modify-write",
            )
        state._store_revision = new

    async def update(
        self, session_id: str, fn: Mutation, *, metadata: Mapping[str, Any] | None = None
    ) -> SessionState:
        """Apply ``fn(state)`` atomically and return the state as written.

        A missing session is created first (with *metadata*). On a concurrent
        write the read and ``fn`` are repeated, so *fn* must only mutate the
        state it is given (it may be a coroutine function) and must not call
        ``update`` for the same session on this store. Nothing is written
        when *fn* leaves the state unchanged. After ``max_attempts`` lost races,
        :class:`ConcurrentUpdateError`.
        """
        lock, users = self._key_locks.setdefault(session_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                return await self._update(session_id, fn, metadata)
        finally:
            users[0] -= 1
            if not users[0]:
                self._key_locks.pop(session_id, None)

    async def _update(
        self, session_id: str, fn: Mutation, metadata: Mapping[str, Any] | None
    ) -> SessionState:
        for attempt in range(self.max_attempts):
            revision, raw = await self._read(session_id)
            if raw is None:
                state, before = self.new_state(session_id, metadata), None
                state._store_revision = ABSENT
            else:
                state = self._decode(session_id, revision, raw)
                # An SDK snapshot is written back (in our layout) even when fn changes
                # nothing: its timers restarted at this read, and must not restart again.
                before = None if _is_sdk(revision) else state.to_dict()
            result = fn(state)
            if inspect.isawaitable(result):
                await result
            if before is not None and state.to_dict() == before:
                return state
            new = await self._cas(session_id, revision, self._encode(state))
            if new is not None:
                state._store_revision = new
                return state
            # Lost the race: back off a little (full jitter) so contenders spread out.
            self.conflicts += 1
            await asyncio.sleep(random.uniform(0, min(0.02, 0.0005 * 2 ** min(attempt, 10))))
        raise ConcurrentUpdateError(
            f"session {session_id!r}: gave up after {self.max_attempts} conflicting writes",
            hint="raise max_attempts, or reduce writers contending for one session",
        )

    async def get_or_create(
        self, session_id: str, metadata: Mapping[str, Any] | None = None
    ) -> SessionState:
        """The stored state, created when missing.

        *metadata* is the new session's metadata; for an existing session, its
        keys that the stored metadata lacks (or holds as null) are filled in.
        A session stored by the SDK is upgraded to this store's layout here.
        """
        existing = await self.get(session_id)
        if (
            existing is not None
            and not _is_sdk(existing._store_revision)
            and not any(
                v is not None and existing.metadata.get(k) is None
                for k, v in (metadata or {}).items()
            )
        ):
            return existing
        return await self.update(
            session_id, lambda s: fill_metadata(s, metadata), metadata=metadata
        )


class _TypeChanged(Exception):
    """The key changed type between two reads (an upgrade ran in between)."""


def _is_sdk(revision: object) -> bool:
    return isinstance(revision, str) and revision.startswith(SDK_PREFIX)


class MemorySessionStore(_CasStore):
    """Sessions in this process, stored as JSON snapshots like the Redis store.

    Each call hands out an independent :class:`SessionState`; persist changes
    with :meth:`save` or :meth:`update`, exactly as with Redis.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        interaction_timeout_s: float = DEFAULT_INTERACTION_TIMEOUT_S,
        cooldown_period_s: float = DEFAULT_COOLDOWN_PERIOD_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        super().__init__(
            clock=clock,
            interaction_timeout_s=interaction_timeout_s,
            cooldown_period_s=cooldown_period_s,
            max_attempts=max_attempts,
        )
        self._data: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        # One counter for the whole store: a key deleted and created again never gets
        # a revision it had before, so a stale save() of the old session is refused.
        self._revisions = itertools.count(1)

    async def _read(self, session_id: str) -> tuple[Revision, str | None]:
        with self._lock:
            revision, raw = self._data.get(session_id, (ABSENT, None))
        return revision, raw

    async def _cas(
        self, session_id: str, expected: Revision | None, snapshot: str
    ) -> Revision | None:
        with self._lock:
            current = self._data.get(session_id, (ABSENT, None))[0]
            if expected is not None and current != expected:
                return None
            new = next(self._revisions)
            self._data[session_id] = (new, snapshot)
            return new

    async def delete(self, session_id: str) -> None:
        with self._lock:
            self._data.pop(session_id, None)

    def session_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._data)


# KEYS[1] session key. ARGV: expected token ("*" = any), snapshot JSON, ttl seconds
# ("keep" = keep the key's remaining time to live), a fresh incarnation id.
# A revision token is "incarnation:revision". The incarnation is drawn when the key
# is created (or upgraded from the SDK's string), so a token never repeats across a
# delete and a re-creation. Returns the new token, or -1 when the current one differs.
_CAS_SCRIPT = """
local t = redis.call('TYPE', KEYS[1])['ok']
local cur, inc, rev = '0', ARGV[4], 0
if t == 'hash' then
  local v = redis.call('HMGET', KEYS[1], 'revision', 'incarnation')
  rev = tonumber(v[1] or '0') or 0
  inc = v[2] or ''
  cur = inc .. ':' .. (v[1] or '')
elseif t == 'string' then
  cur = 'sdk:' .. redis.sha1hex(redis.call('GET', KEYS[1]))
elseif t ~= 'none' then
  return redis.error_reply('WRONGTYPE the session key holds a ' .. t)
end
if ARGV[1] ~= '*' and cur ~= ARGV[1] then return -1 end
local pttl = redis.call('PTTL', KEYS[1])
if t ~= 'hash' then redis.call('DEL', KEYS[1]) end
rev = rev + 1
redis.call('HSET', KEYS[1], 'snapshot', ARGV[2], 'revision', rev, 'incarnation', inc)
if ARGV[3] == 'keep' then
  if pttl > 0 then redis.call('PEXPIRE', KEYS[1], pttl) end
else
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return inc .. ':' .. rev
"""


class RedisSessionStore(_CasStore):
    """Sessions in Redis, shared by every worker and surviving restarts.

    Key ``autoplay:session_state:{session_id}`` is a hash with ``snapshot`` (the
    JSON of :meth:`SessionState.to_dict`), ``revision`` (an integer bumped by
    each write) and ``incarnation`` (drawn when the key is created); it expires
    ``ttl_s`` seconds (default 24 h) after the last write. Writes are
    compare-and-set on (incarnation, revision) in one Lua script, so concurrent
    workers never lose each other's updates, and a stale write after the key
    was deleted and recreated is refused. Redis being unreachable raises
    :class:`~autoplay_cli.errors.StoreUnavailableError`; no fresh state is made up.

    A key written by ``autoplay-sdk`` 0.7.x (a JSON string) is read as it is
    (see :meth:`SessionState.from_dict`) and replaced by this layout, in one
    atomic step, on the first write; :meth:`upgrade` does that on demand.
    """

    def __init__(
        self,
        url: str | None = None,
        ttl_s: int = DEFAULT_TTL_S,
        *,
        clock: Clock | None = None,
        interaction_timeout_s: float = DEFAULT_INTERACTION_TIMEOUT_S,
        cooldown_period_s: float = DEFAULT_COOLDOWN_PERIOD_S,
        key_prefix: str = SESSION_KEY_PREFIX,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        socket_timeout_s: float = 5.0,
        client: Any = None,
    ) -> None:
        super().__init__(
            clock=clock,
            interaction_timeout_s=interaction_timeout_s,
            cooldown_period_s=cooldown_period_s,
            max_attempts=max_attempts,
        )
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or ttl_s <= 0:
            raise InputError(f"ttl_s must be a positive whole number of seconds, got {ttl_s!r}")
        self.ttl_s = ttl_s
        self.key_prefix = key_prefix
        self._conn = RedisConnection(url, client=client, socket_timeout_s=socket_timeout_s)
        self._scripts: dict[str, Any] = {}

    def key(self, session_id: str) -> str:
        return f"{self.key_prefix}{session_id}"

    def _where(self, session_id: str) -> str:
        return f"redis key {self.key(session_id)}"

    def link_store(
        self, ttl_s: int = DEFAULT_LINK_TTL_S, *, key_prefix: str = LINK_KEY_PREFIX
    ) -> RedisConversationLinkStore:
        """A conversation-link store on the same Redis connection."""
        return RedisConversationLinkStore(ttl_s=ttl_s, key_prefix=key_prefix, connection=self._conn)

    def _script(self, source: str) -> Any:
        client = self._conn.client()
        script = self._scripts.get(source)
        if script is None or script.registered_client is not client:
            script = self._scripts[source] = client.register_script(source)
        return script

    async def _read(self, session_id: str) -> tuple[Revision, str | None]:
        key = self.key(session_id)
        # One HMGET in the common case; a key of another type (the SDK's string) costs
        # more round trips, and is read again if it changes type in between.
        for _ in range(self.max_attempts):
            with self._conn.errors("read session", key):
                client = self._conn.client()
                try:
                    raw, revision, incarnation = await client.hmget(
                        key, ["snapshot", "revision", "incarnation"]
                    )
                except Exception as exc:
                    if "WRONGTYPE" not in str(exc):
                        raise
                    try:
                        return await self._read_foreign(client, key)
                    except Exception as again:
                        if "WRONGTYPE" not in str(again):
                            raise
                        continue  # upgraded to a hash meanwhile: read that
            return self._hash_value(key, raw, revision, incarnation)
        raise ConcurrentUpdateError(
            f"session {session_id!r}: its key kept changing type while being read",
            hint="retry; stop the writers that replace it",
        )

    @staticmethod
    def _hash_value(
        key: str, raw: Any, revision: Any, incarnation: Any
    ) -> tuple[Revision, str | None]:
        if raw is None:
            if revision is not None:
                raise SnapshotError(
                    f"redis key {key} holds a hash without a session snapshot",
                    hint="delete the key or use another key prefix",
                )
            return ABSENT, None
        rev = _text(revision) if revision is not None else ""
        if not rev.isdigit():
            raise SnapshotError(
                f"redis key {key} has no valid revision",
                hint="delete the key so the session is recreated",
            )
        inc = _text(incarnation) if incarnation is not None else ""
        return f"{inc}:{rev}", _text(raw)

    async def _read_foreign(self, client: Any, key: str) -> tuple[Revision, str | None]:
        kind = _text(await client.type(key))
        if kind == "none":  # deleted in between
            return ABSENT, None
        if kind == "hash":  # upgraded in between: the caller reads the hash
            raise _TypeChanged("WRONGTYPE")
        if kind != "string":
            raise SnapshotError(
                f"redis key {key} holds a {kind}, not a session",
                hint="delete the key or use another key prefix",
            )
        raw = await client.get(key)
        if raw is None:
            return ABSENT, None
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        # The same token the compare-and-set script computes (redis.sha1hex of the value).
        return SDK_PREFIX + hashlib.sha1(data).hexdigest(), data.decode("utf-8", "replace")

    async def _cas(
        self, session_id: str, expected: Revision | None, snapshot: str, *, ttl: str | None = None
    ) -> Revision | None:
        key = self.key(session_id)
        token = "*" if expected is None else str(expected)
        with self._conn.errors("write session", key):
            new = await self._script(_CAS_SCRIPT)(
                keys=[key],
                args=[token, snapshot, ttl or str(self.ttl_s), uuid.uuid4().hex],
            )
        if isinstance(new, int):
            return None
        return _text(new)

    async def upgrade(self, session_id: str, *, dry_run: bool = False) -> str:
        """Rewrite a session stored by the SDK in this store's layout, atomically.

        Returns ``"upgraded"`` (or, with *dry_run*, what would be: nothing is
        written), ``"current"`` (already in this layout, or gone). A key that
        changes between the read and the write (a worker wrote it) is read again.
        The key keeps its remaining time to live. Unreadable content raises
        :class:`SnapshotError` and the key is left as it is.
        """
        for _ in range(self.max_attempts):
            revision, raw = await self._read(session_id)
            if raw is None or not _is_sdk(revision):
                return "current"
            state = self._decode(session_id, revision, raw)
            if dry_run:
                return "upgraded"
            if await self._cas(session_id, revision, self._encode(state), ttl="keep") is not None:
                return "upgraded"
            self.conflicts += 1
        raise ConcurrentUpdateError(
            f"session {session_id!r}: changed {self.max_attempts} times while being upgraded",
            hint="run the command again",
        )

    async def session_ids(self, *, count: int = 500) -> AsyncIterator[str]:
        """The ids of the sessions under this store's prefix (SCAN: no blocking of Redis)."""
        pattern = _glob_escape(self.key_prefix) + "*"
        with self._conn.errors("list sessions"):
            cursor: Any = 0
            while True:
                cursor, keys = await self._conn.client().scan(cursor, match=pattern, count=count)
                for key in keys:
                    yield _text(key)[len(self.key_prefix) :]
                if int(cursor) == 0:
                    return

    async def delete(self, session_id: str) -> None:
        key = self.key(session_id)
        with self._conn.errors("delete session", key):
            await self._conn.client().delete(key)

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailableError` unless Redis answers."""
        with self._conn.errors("ping"):
            await self._conn.client().ping()

    async def aclose(self) -> None:
        self._scripts.clear()
        await self._conn.aclose()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
