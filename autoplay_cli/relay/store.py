"""Where the relay keeps its state: sessions, trigger windows, note buffers, outbox, checkpoint.

Sessions are live objects in this process (the relay is their one writer); the
Redis store loads them on first use and, per batch, writes every changed session,
the deliveries the batch produced (the outbox) and the checkpoint in ONE
atomic script call, so effects are never recorded without the state change that caused
them, and the checkpoint never runs ahead of either.
"""

from __future__ import annotations

import inspect
import json
import logging
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from autoplay_cli.errors import SnapshotError, StoreUnavailableError, UsageError
from autoplay_cli.relay.delivery import Delivery
from autoplay_cli.session import (
    AgentState,
    ConversationLink,
    ConversationLinkStore,
    MemoryConversationLinkStore,
    SessionState,
)
from autoplay_cli.simulate.live_store import LiveSessionStore

if TYPE_CHECKING:
    from autoplay_cli.relay.notes import NotePolicy
    from autoplay_cli.session._redis import RedisConnection

log = logging.getLogger(__name__)

STORE_SCHEMES = ("redis://", "rediss://", "unix://")
SESSION_TTL_S = 86400
ACTIVITY_TTL_S = 86400
OUTBOX_FIELD = b"d"
RECENT_DELIVERIES = 10_000
_entry_number = itemgetter(0)  # of a memory outbox entry (number, delivery)


class WindowAction(NamedTuple):
    """What a trigger reads from an action, as persisted in a session's window."""

    canonical_url: str
    timestamp_start: float
    timestamp_end: float


def newer(event_id: str, than: str | None) -> bool:
    """Is *event_id* after *than*? Numeric ids compare as numbers; others only differ."""
    if than is None:
        return True
    if event_id.isdigit() and than.isdigit():
        return int(event_id) > int(than)
    return event_id != than


class CachedSessions(LiveSessionStore):
    """Live session objects, remembering which ones changed since the last commit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dirty: set[str] = set()

    async def update(self, session_id: str, fn: Any, *, metadata: Any = None) -> SessionState:
        self.dirty.add(session_id)
        state = self._states.get(session_id) or self._new(session_id, metadata)
        result = fn(state)
        if result is not None and inspect.isawaitable(result):  # an async mutation
            await result
        return state

    async def get_or_create(
        self, session_id: str, metadata: Mapping[str, Any] | None = None
    ) -> SessionState:
        if session_id not in self._states:
            self.dirty.add(session_id)
        return await super().get_or_create(session_id, metadata)

    def cached(self, session_id: str) -> bool:
        return session_id in self._states

    def put(self, state: SessionState) -> None:
        self._states[state.session_id] = state

    def peek(self, session_id: str) -> SessionState | None:
        return self._states.get(session_id)

    def __len__(self) -> int:
        return len(self._states)

    def ids(self) -> list[str]:
        """The ids of the sessions held in memory."""
        return list(self._states)

    def forget(self, session_id: str) -> None:
        self._states.pop(session_id, None)
        self.dirty.discard(session_id)


class MemoryRelayStore:
    """Everything in this process: fast, and lost with it (see ``docs/relay.md``)."""

    durable = False
    where = "memory"

    def __init__(
        self,
        product_id: str,
        *,
        clock: Any,
        interaction_timeout_s: float,
        cooldown_period_s: float,
        window_size: int = 20,
    ) -> None:
        self.product_id = product_id
        self.window_size = window_size
        # Note buffers read with sessions after a restart, for the relay to take over.
        self.restored_notes: dict[str, Any] = {}
        # Sessions found waiting to time out when the store was opened.
        self.reopened: list[SessionState] = []
        self.sessions = CachedSessions(
            clock=clock,
            interaction_timeout_s=interaction_timeout_s,
            cooldown_period_s=cooldown_period_s,
        )
        self.links: ConversationLinkStore = MemoryConversationLinkStore()
        self.windows: dict[str, deque[Any]] = {}
        self.last_applied: dict[str, str] = {}
        self.checkpoint: str | None = None
        self._outbox: deque[tuple[int, Delivery]] = deque()
        self._seq = 0

    async def open(self) -> str | None:
        """Connect (nothing here); the checkpoint to resume from."""
        return self.checkpoint

    async def prefetch(
        self, session_ids: Iterable[str], conversations: Iterable[str] = ()
    ) -> list[SessionState]:
        """Load sessions not in memory yet (and the links of *conversations*, which the
        batch may link); the states loaded (none in memory)."""
        return []

    async def commit(
        self,
        deliveries: Sequence[Delivery],
        checkpoint: str | None,
        notes: NotePolicy,
        activity: Mapping[str, list[tuple[float, dict[str, Any]]]],
    ) -> None:
        """Record a batch's effects: deliveries into the outbox, the checkpoint."""
        for d in deliveries:
            self._seq += 1
            self._outbox.append((self._seq, d))
        if checkpoint is not None:
            self.checkpoint = checkpoint
        self.sessions.dirty.clear()

    async def outbox_peek(self, limit: int, after: Any = None) -> list[tuple[Any, Delivery]]:
        """Up to *limit* queued deliveries after entry *after* (oldest first).

        Entry numbers rise along the queue, so the entries up to *after* (sent, not yet
        acknowledged) are found by bisection and the rest is sliced: O(limit), however
        long the queue.
        """
        outbox = self._outbox
        start = 0
        if after is not None and outbox and outbox[0][0] <= after:
            start = bisect_right(outbox, after, key=_entry_number)
        return list(islice(outbox, start, start + limit))

    async def outbox_ack(self, entry_ids: Sequence[Any]) -> None:
        """Drop delivered (or dead-lettered) entries."""
        done = set(entry_ids)
        while self._outbox and self._outbox[0][0] in done:
            done.discard(self._outbox.popleft()[0])
        if done:
            self._outbox = deque(e for e in self._outbox if e[0] not in done)

    async def outbox_depth(self) -> int:
        return len(self._outbox)

    async def ping(self) -> None:
        """Nothing to reach."""

    async def aclose(self) -> None:
        """Nothing to release."""


def product_tag(product_id: str) -> str:
    """The hash tag keeping one product's keys on one Redis Cluster shard."""
    return "{" + product_id.replace("{", "(").replace("}", ")") + "}"


_encode = msgspec.json.Encoder().encode


def _dumps(value: Any) -> str:
    """Compact JSON text (msgspec: one C call, no ``json`` encoder objects per value)."""
    try:
        return _encode(value).decode()
    except UnicodeEncodeError:  # a lone surrogate (from a "\\ud800" escape): JSON spells it
        return json.dumps(value, separators=(",", ":"))


def _dumps_each(values: Sequence[Any]) -> list[str]:
    """:func:`_dumps` of each value (one Python frame for all of them, not one each)."""
    try:
        return [_encode(v).decode() for v in values]
    except UnicodeEncodeError:
        return [_dumps(v) for v in values]


def _dumps_bytes(value: Any) -> bytes:
    """:func:`_dumps` as the bytes Redis is sent (a large plan is not decoded and re-encoded)."""
    try:
        return _encode(value)
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()  # ASCII: escapes everything


# What a session's window persists of each action (a tuple: msgspec writes it as an array).
_window_fields = attrgetter("canonical_url", "timestamp_start", "timestamp_end")


class StagedLinks:
    """The relay's conversation links in Redis, read ahead with a batch's sessions and
    written by the batch's commit script: no round trip per link, and a link is never
    recorded without the session update that made it."""

    def __init__(self, backing: Any) -> None:
        self.backing = backing  # a RedisConversationLinkStore: key names, TTL, reads
        self.read: dict[str, ConversationLink | None] = {}  # this batch's read-ahead
        self.staged: dict[str, ConversationLink] = {}  # written by the next commit

    async def get(self, conversation_id: str) -> ConversationLink | None:
        if conversation_id in self.staged:
            return self.staged[conversation_id]
        if conversation_id in self.read:
            return self.read[conversation_id]
        link = await self.backing.get(conversation_id)  # not read ahead (a webhook link)
        self.read[conversation_id] = link
        return link

    async def save(self, link: ConversationLink) -> None:
        self.staged[link.conversation_id] = link

    async def delete(self, conversation_id: str) -> None:
        self.staged.pop(conversation_id, None)
        self.read[conversation_id] = None
        await self.backing.delete(conversation_id)

    def committed(self) -> None:
        """The staged links are in Redis now; the read-ahead is dropped with the batch."""
        self.staged.clear()
        self.read.clear()


# KEYS: 1 the open-sessions set, 2 the outbox stream, 3 the checkpoint, then session and
# activity keys, then link keys (every key named, so the script also runs on Redis
# Cluster, where one product's keys share a hash tag). ARGV[1]: the plan (JSON), entries
# naming KEYS by index; "l" (the batch's conversation links) may be absent. Returns the
# outbox entry ids of the deliveries, in order.
_COMMIT_SCRIPT = """
local d = cjson.decode(ARGV[1])
for _, s in ipairs(d.s) do
  local key = KEYS[s[1]]
  redis.call('HSET', key, 'snapshot', s[2], 'window', s[3], 'notes', s[4], 'last_event_id', s[5])
  redis.call('HINCRBY', key, 'revision', 1)
  redis.call('EXPIRE', key, d.ttl)
  if s[6] == 1 then redis.call('SADD', KEYS[1], s[7]) else redis.call('SREM', KEYS[1], s[7]) end
end
local ids = {}
for i, x in ipairs(d.o) do ids[i] = redis.call('XADD', KEYS[2], '*', 'd', x) end
for _, a in ipairs(d.a) do
  local key = KEYS[a[1]]
  local r = a[2]
  for i = 1, #r, 1000 do redis.call('RPUSH', key, unpack(r, i, math.min(i + 999, #r))) end
  redis.call('LTRIM', key, -50, -1)
  redis.call('EXPIRE', key, d.attl)
end
if d.l then
  for _, l in ipairs(d.l) do redis.call('SET', KEYS[l[1]], l[2], 'EX', d.lttl) end
end
if d.c ~= cjson.null and d.c ~= nil then redis.call('SET', KEYS[3], d.c) end
return ids
"""


# KEYS: the session keys (ARGV[1] of them), then link keys. Each session's fields as one
# array (nil for a missing field), each link's value: a batch's read in one command
# (not one HMGET per session in a pipeline, whose packing and parsing cost per session).
_READ_SCRIPT = """
local n = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  if i <= n then
    out[i] = redis.call('HMGET', key, 'snapshot', 'window', 'notes', 'last_event_id')
  else
    out[i] = redis.call('GET', key)
  end
end
return out
"""


class RedisRelayStore(MemoryRelayStore):
    """Sessions, outbox and checkpoint in Redis, under ``autoplay:relay:{product}:``.

    Keys: ``…:session:<id>`` (hash: ``snapshot`` and ``revision`` as the session
    store writes them, plus ``window``, ``notes`` and ``last_event_id``),
    ``…:link:<conversation>``, ``…:activity:<user>`` (list), ``…:open`` (set of
    sessions waiting to time out), ``…:outbox`` (stream) and ``…:checkpoint``.
    The outbox is one key per product today; a relay group can split it per partition.
    """

    durable = True

    def __init__(self, url: str, product_id: str, *, client: Any = None, **kwargs: Any) -> None:
        """*client*: a ``redis.asyncio.Redis`` to use instead of one made from *url*."""
        from autoplay_cli.session._redis import RedisConnection, safe_url
        from autoplay_cli.session.linking import RedisConversationLinkStore

        super().__init__(product_id, **kwargs)
        self.url = url
        self.where = safe_url(url)
        self.prefix = f"autoplay:relay:{product_tag(product_id)}:"
        self._conn: RedisConnection = RedisConnection(url, client=client)
        self._scripts: dict[str, Any] = {}
        self._acks: list[Any] = []  # outbox entries acknowledged, not yet deleted
        # The deliveries this process committed, by outbox entry id, until the sender reads
        # them: the same objects whose JSON the entries hold (bounded, for a sender far behind).
        self._recent: dict[str, Delivery] = {}
        self.staged_links = StagedLinks(
            RedisConversationLinkStore(key_prefix=self.prefix + "link:", connection=self._conn)
        )
        self.links = self.staged_links

    def key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}{kind}{':' + name if name else ''}"

    def _script(self, name: str, source: str) -> Any:
        """*source* registered with the current client (a new client after a new loop)."""
        client = self._conn.client()
        script = self._scripts.get(name)
        if script is None or script.registered_client is not client:
            script = self._scripts[name] = client.register_script(source)
        return script

    async def ping(self) -> None:
        with self._conn.errors("ping"):
            await self._conn.client().ping()

    async def open(self) -> str | None:
        """Check Redis answers; load the checkpoint and the sessions waiting to time out."""
        await self.ping()
        with self._conn.errors("read checkpoint"):
            pipe = self._conn.client().pipeline(transaction=False)
            pipe.get(self.key("checkpoint"))
            pipe.smembers(self.key("open"))
            # Loaded now, so a batch's first read and commit need no NOSCRIPT detour.
            pipe.script_load(_READ_SCRIPT)
            pipe.script_load(_COMMIT_SCRIPT)
            raw, open_ids, *_ = await pipe.execute()
        self.checkpoint = raw.decode() if isinstance(raw, bytes) else raw
        self.reopened = await self.prefetch(
            sorted(s.decode() if isinstance(s, bytes) else s for s in open_ids)
        )
        return self.checkpoint

    async def prefetch(
        self, session_ids: Iterable[str], conversations: Iterable[str] = ()
    ) -> list[SessionState]:
        missing = [s for s in dict.fromkeys(session_ids) if not self.sessions.cached(s)]
        links = self.staged_links
        unread = [
            c for c in dict.fromkeys(conversations) if c not in links.read and c not in links.staged
        ]
        if not missing and not unread:
            return []
        with self._conn.errors("read sessions"):
            # One command for the whole network read: sessions and links together.
            keys = [self.key("session", sid) for sid in missing]
            keys += [links.backing.key(cid) for cid in unread]
            rows = await self._script("read", _READ_SCRIPT)(keys=keys, args=[len(missing)])
        for cid, raw in zip(unread, rows[len(missing) :], strict=True):
            links.read[cid] = None if raw is None else _link(raw, links.backing.key(cid))
        rows = rows[: len(missing)]
        loaded = []
        for sid, (snapshot, window, notes, last) in zip(missing, rows, strict=True):
            if snapshot is None:
                continue
            where = f"redis key {self.key('session', sid)}"
            try:
                state = SessionState.try_from_json(snapshot, clock=self.sessions.clock)
                if state is None:  # the slow path names the mistake (or reads the SDK's)
                    state = SessionState.from_dict(json.loads(snapshot), clock=self.sessions.clock)
                if window:
                    self.windows[sid] = deque(
                        (WindowAction(*a) for a in json.loads(window)),
                        maxlen=self.window_size,
                    )
                if notes:
                    self.restored_notes[sid] = json.loads(notes)
            except (ValueError, TypeError) as exc:
                raise SnapshotError(
                    f"{where} cannot be read ({exc})", hint="delete the key to start it afresh"
                ) from exc
            if last:
                self.last_applied[sid] = last.decode() if isinstance(last, bytes) else last
            self.sessions.put(state)
            loaded.append(state)
        return loaded

    async def commit(
        self,
        deliveries: Sequence[Delivery],
        checkpoint: str | None,
        notes: NotePolicy,
        activity: Mapping[str, list[tuple[float, dict[str, Any]]]],
    ) -> None:
        dirty = self.sessions.dirty
        if (
            not dirty
            and not deliveries
            and checkpoint is None
            and not activity
            and not self.staged_links.staged
        ):
            self.staged_links.read.clear()
            return
        keys, plan = self._commit_args(deliveries, checkpoint, notes, activity)
        with self._conn.errors("commit a batch"):
            # One script: atomic like MULTI/EXEC, one command and one reply on the wire.
            ids = await self._script("commit", _COMMIT_SCRIPT)(keys=keys, args=[plan])
        recent = self._recent
        if len(recent) < RECENT_DELIVERIES:
            for entry_id, delivery in zip(ids, deliveries, strict=True):
                recent[entry_id.decode() if isinstance(entry_id, bytes) else entry_id] = delivery
        if checkpoint is not None:
            self.checkpoint = checkpoint
        dirty.clear()
        self.staged_links.committed()

    def stage(
        self,
        pipe: Any,
        deliveries: Sequence[Delivery],
        checkpoint: str | None,
        notes: NotePolicy,
        activity: Mapping[str, list[tuple[float, dict[str, Any]]]],
    ) -> None:
        """Queue a batch's writes on *pipe*, a MULTI pipeline a relay group adds its own to.

        The same script as :meth:`commit`, so both lay out the keys alike.
        """
        keys, plan = self._commit_args(deliveries, checkpoint, notes, activity)
        pipe.eval(_COMMIT_SCRIPT, len(keys), *keys, plan)

    def _commit_args(
        self,
        deliveries: Sequence[Delivery],
        checkpoint: str | None,
        notes: NotePolicy,
        activity: Mapping[str, list[tuple[float, dict[str, Any]]]],
    ) -> tuple[list[str], bytes]:
        """The keys and the JSON plan :data:`_COMMIT_SCRIPT` writes for one batch."""
        keys = [self.key("open"), self.key("outbox"), self.key("checkpoint")]
        sessions = []
        for sid in self.sessions.dirty:
            state = self.sessions.peek(sid)
            if state is None:
                continue
            window = self.windows.get(sid) or ()
            buffered = notes.dump(sid)
            keys.append(self.key("session", sid))
            # Reloaded at start-up: sessions due to time out, or holding a note to send.
            waiting = state.current_state is not AgentState.THINKING or notes.waiting(sid)
            sessions.append(
                [
                    len(keys),
                    _dumps(state.to_dict()),
                    _dumps(list(map(_window_fields, window))),
                    _dumps(buffered) if buffered else "",
                    self.last_applied.get(sid, ""),
                    1 if waiting else 0,
                    sid,
                ]
            )
        users = []
        for user, records in activity.items():
            keys.append(self.key("activity", user))
            users.append([len(keys), _dumps_each(records)])
        links = []
        for link in self.staged_links.staged.values():
            keys.append(self.staged_links.backing.key(link.conversation_id))
            links.append([len(keys), json.dumps(link.to_dict())])  # as the link store writes
        plan: dict[str, Any] = {
            "s": sessions,
            "o": [d.to_json() for d in deliveries],
            "a": users,
            "c": checkpoint,
            "ttl": SESSION_TTL_S,
            "attl": ACTIVITY_TTL_S,
        }
        if links:
            plan["l"], plan["lttl"] = links, self.staged_links.backing.ttl_s
        return keys, _dumps_bytes(plan)

    async def activity(self, user: str) -> list[tuple[float, dict[str, Any]]]:
        """A user's persisted live activity, oldest first."""
        with self._conn.errors("read activity"):
            raw = await self._conn.client().lrange(self.key("activity", user), 0, -1)
        return [tuple(json.loads(r)) for r in raw]  # type: ignore[misc]

    async def outbox_peek(self, limit: int, after: Any = None) -> list[tuple[Any, Delivery]]:
        start = "-" if after is None else f"({after}"
        with self._conn.errors("read the outbox"):
            pipe = self._conn.client().pipeline(transaction=False)
            acks = list(self._acks)
            if acks:  # the sender's last acknowledgement rides with its next read
                pipe.xdel(self.key("outbox"), *acks)
            pipe.xrange(self.key("outbox"), start, "+", count=limit)
            *_, rows = await pipe.execute()
        del self._acks[: len(acks)]  # only once Redis took them: a failed read keeps them
        out = []
        recent = self._recent
        for entry_id, data in rows:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            delivery = recent.pop(eid, None)  # committed by this process: no need to parse
            if delivery is None:
                delivery = Delivery.from_json(data[OUTBOX_FIELD], where=f"outbox entry {eid}")
            out.append((eid, delivery))
        return out

    async def outbox_ack(self, entry_ids: Sequence[Any]) -> None:
        """Acknowledged entries leave Redis with the next :meth:`outbox_peek` (the sender
        reads again right after acknowledging: one round trip for both), or at
        :meth:`outbox_depth` or :meth:`aclose`. Until then they stay queued: a crash
        in between sends them again, with the same delivery ids."""
        self._acks.extend(entry_ids)

    async def _flush_acks(self) -> None:
        acks = list(self._acks)
        if acks:
            with self._conn.errors("acknowledge outbox entries"):
                await self._conn.client().xdel(self.key("outbox"), *acks)
            del self._acks[: len(acks)]

    async def outbox_depth(self) -> int:
        await self._flush_acks()
        with self._conn.errors("read the outbox"):
            return int(await self._conn.client().xlen(self.key("outbox")))

    async def aclose(self) -> None:
        try:
            await self._flush_acks()
        except StoreUnavailableError:
            log.warning("could not remove %d sent deliveries from the outbox", len(self._acks))
        self._scripts.clear()
        await self._conn.aclose()


def _link(raw: bytes | str, key: str) -> ConversationLink:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SnapshotError(f"redis key {key} does not hold JSON", hint="delete the key") from exc
    return ConversationLink.from_dict(data)


def check_store_url(url: str) -> str:
    """``memory`` or a Redis URL; anything else is a usage error (before connecting)."""
    if url == "memory":
        return url
    if not url.startswith(STORE_SCHEMES):
        raise UsageError(
            f"`store` {url!r}: expected 'memory' or a redis:// URL",
            setting="store",
            hint="e.g. `store` redis://127.0.0.1:6379/0",
        )
    from autoplay_cli.session._redis import check_database

    check_database(url)
    return url
