"""One member of a relay group: holds the stream or partitions as the leases say, applies events.

Loops of one member (one asyncio loop): a heartbeat renews and takes leases and
rebalances partitions; the stream holder (when this member holds the stream lease)
appends each event to its session's partition, fenced; a consumer reads the owned
partitions with XREADGROUP and feeds each partition's own :class:`Relay`, whose
commit (state, outbox, XACK) is fenced by the partition lease in one MULTI/EXEC.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoplay_cli.errors import ConflictError, StoreUnavailableError, UsageError
from autoplay_cli.relay.group.audit import AuditLog
from autoplay_cli.relay.group.keys import CONSUMER_GROUP, GroupKeys, partition_of
from autoplay_cli.relay.group.lease import Lease, LeaseLost, fenced_append, renew_all
from autoplay_cli.relay.pipeline import Relay
from autoplay_cli.relay.sender import DeadLetters, RetryPolicy, Sender
from autoplay_cli.relay.store import RedisRelayStore, newer
from autoplay_cli.simulate.clock import VirtualClock
from autoplay_cli.simulate.engine import DEFAULT_PULSE_S
from autoplay_cli.simulate.inputs import SimEvent
from autoplay_cli.triggers.config import TriggerConfig

log = logging.getLogger(__name__)

READ_COUNT = 256  # entries per XREADGROUP (one commit each)
READ_BLOCK_MS = 500  # an idle member asks twice a second, not ten times
TICK_S = 0.1
BACKOFF_MAX_S = 5.0
LINK_FIELD = b"l"  # a partition entry holding a chatbot-webhook link, not a stream event


# Acknowledge a batch, then trim the partition up to it, but never past the oldest entry
# still pending for anyone: an entry handed to a member that lost the partition (its
# read was served after the takeover) waits there until the owner claims it.
ACK_AND_TRIM = """
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 3))
local floor = ARGV[2]
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[1] > 0 then
  local pm, ps = string.match(pending[2], '^(%d+)-(%d+)$')
  local fm, fs = string.match(floor, '^(%d+)-(%d+)$')
  pm, ps, fm, fs = tonumber(pm), tonumber(ps), tonumber(fm), tonumber(fs)
  if pm < fm or (pm == fm and ps < fs) then floor = pending[2] end
end
redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
return floor
"""


class GroupDataLost(ConflictError):
    """The group's epoch key vanished: Redis restarted without our data."""


def default_member_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class GroupOptions:
    """How this process takes part in a group."""

    member: str = field(default_factory=default_member_name)
    partitions: int = 16
    lease_ttl: float = 10.0
    audit_dir: Path | None = None

    def check(self) -> None:
        if not 1 <= self.partitions <= 1024:
            raise UsageError(
                f"`partitions` must be 1..1024, got {self.partitions}", setting="partitions"
            )
        if self.lease_ttl < 0.5:
            raise UsageError(
                f"`lease_ttl` must be ≥ 0.5 s, got {self.lease_ttl:g}", setting="lease_ttl"
            )


@dataclass
class Health:
    """What a member reports about itself (logs, the stats hash, ``relay status``)."""

    redis_ok: bool = True
    error: str | None = None
    data_lost: bool = False
    holder: bool = False
    partitions: list[int] = field(default_factory=list)
    appended: int = 0
    applied: int = 0
    takeovers: int = 0
    lost: int = 0  # pending entries found deleted before they were applied


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def healthy(health: Health) -> bool:
    """What a ``/healthz`` of a member answers: Redis reachable and the group's data intact."""
    return health.redis_ok and not health.data_lost


def applied_events(
    before: dict[str, str | None], events: Sequence[SimEvent]
) -> list[tuple[str | None, str | None]]:
    """(event id, session id) of the *events* a batch applies, given what each session
    had applied *before* it: the relay's own rule (:meth:`Relay.feed`) skips the rest."""
    last = dict(before)
    out = []
    for event in events:
        sid, eid = event.session_id, event.event_id
        if sid is not None and eid is not None:
            if not newer(eid, last.get(sid)):
                continue
            last[sid] = eid
        out.append((eid, sid))
    return out


class PartitionStore(RedisRelayStore):
    """A partition's slice of the product's store: its own outbox and open set, fenced commits.

    Sessions, links and live activity stay product-wide (every member reads them);
    the commit checks the partition lease and acknowledges the batch's entries in the
    same MULTI/EXEC as the state change and the queued deliveries.
    """

    def __init__(
        self,
        url: str,
        product_id: str,
        keys: GroupKeys,
        k: int,
        lease: Lease,
        conn: Any,
        **kwargs: Any,
    ) -> None:
        from autoplay_cli.session.linking import RedisConversationLinkStore

        super().__init__(url, product_id, **kwargs)
        self.group = keys
        self.k = k
        self.lease = lease
        self._conn = conn  # the member's connection, shared by its partitions
        self.links = RedisConversationLinkStore(key_prefix=self.prefix + "link:", connection=conn)
        self.acks: list[Any] = []
        self.before: dict[str, str | None] = {}
        self.audit: AuditLog | None = None
        self.audit_events: Sequence[SimEvent] = ()  # the batch the next commit applies

    def key(self, kind: str, name: str = "") -> str:
        if kind == "outbox":
            return self.group.outbox(self.k)
        if kind == "open":
            return self.group.open(self.k)
        if kind == "checkpoint":
            return self.group.prefix + f"unused-checkpoint:{self.k}"
        return super().key(kind, name)

    async def open(self) -> str | None:
        """As the product store, plus the sessions with buffered notes (their notes move too)."""
        checkpoint = await super().open()
        with self._conn.errors("read sessions with notes"):
            noted = await self._conn.client().smembers(self.group.noted(self.k))
        self.reopened += await self.prefetch(sorted(s.decode() for s in noted))
        return checkpoint

    def stage(
        self,
        pipe: Any,
        deliveries: Sequence[Any],
        checkpoint: str | None,
        notes: Any,
        activity: Any,
    ) -> None:
        # A note handed out empties its session's buffer: persist that with the note,
        # or the partition's next owner would restore the buffer and send it again.
        for d in deliveries:
            if self.sessions.peek(d.session_id) is not None:
                self.sessions.dirty.add(d.session_id)
        for sid in self.sessions.dirty:
            if notes.dump(sid):
                pipe.sadd(self.group.noted(self.k), sid)
            else:
                pipe.srem(self.group.noted(self.k), sid)
        super().stage(pipe, deliveries, checkpoint, notes, activity)

    async def prefetch(self, session_ids: Any, conversations: Any = ()) -> list[Any]:
        ids = list(session_ids)
        # A partition reads and writes links through its link store, not staged with the
        # batch: there is nothing to read ahead for *conversations*.
        loaded = await super().prefetch(ids)
        # What each session had applied before this batch: the audit's reference.
        self.before = {s: self.last_applied.get(s) for s in ids}
        return loaded

    async def commit(
        self, deliveries: Sequence[Any], checkpoint: str | None, notes: Any, activity: Any
    ) -> None:
        import redis.exceptions as rexc

        acks, self.acks = self.acks, []
        events, self.audit_events = self.audit_events, ()
        audit = ""
        if self.audit is not None and events:
            audit = self.audit.render(self.k, applied_events(self.before, events))
        dirty = self.sessions.dirty
        if not dirty and not deliveries and not activity and not acks:
            return
        if self.lease.value is None:
            raise LeaseLost(f"partition {self.k}: lease lost; commit refused")
        with self._conn.errors("commit a batch"):
            # WATCH also trips on our own renewal (PEXPIRE touches the key): try again,
            # and only a different value in the lease key means the lease is lost.
            for _ in range(5):
                async with self._conn.client().pipeline(transaction=True) as pipe:
                    await pipe.watch(self.lease.key)
                    current = await pipe.get(self.lease.key)
                    if current is None or current.decode() != self.lease.value:
                        self.lease.forget()
                        raise LeaseLost(f"partition {self.k}: lease taken over; commit refused")
                    pipe.multi()
                    self.stage(pipe, deliveries, None, notes, activity)
                    if acks:
                        part = self.group.part(self.k)
                        pipe.eval(ACK_AND_TRIM, 1, part, CONSUMER_GROUP, acks[-1], *acks)
                    if audit:
                        assert self.audit is not None
                        self.audit.stage(pipe, audit)
                    try:
                        await pipe.execute()
                        break
                    except rexc.WatchError:
                        continue
            else:
                self.lease.forget()
                raise LeaseLost(f"partition {self.k}: lease kept changing during commit")
        dirty.clear()

    async def aclose(self) -> None:
        """The connection is the member's."""


class Partition:
    """A partition this member owns: its lease, its relay, its sender."""

    def __init__(self, k: int, lease: Lease) -> None:
        self.k = k
        self.lease = lease
        self.lock = asyncio.Lock()
        self.relay: Relay | None = None
        self.sender: Sender | None = None
        self.sender_task: asyncio.Task[None] | None = None
        self.recovered = False


class Member:
    """One group member for one product (see the module docstring)."""

    def __init__(
        self,
        url: str,
        product_id: str,
        config: TriggerConfig,
        destination: Any,
        group: GroupOptions,
        *,
        replay: Sequence[SimEvent] | None = None,
        replay_start: float | None = None,
        stream: Any = None,
        dead_letter: Path | None = None,
        max_attempts: int = 6,
        pulse_s: float | None = None,
        drain_timeout: float = 10.0,
    ) -> None:
        from autoplay_cli.session._redis import RedisConnection

        group.check()
        self.url = url
        self.product_id = product_id
        self.config = config
        self.destination = destination
        self.group = group
        self.name = group.member
        self.keys = GroupKeys(product_id)
        self.replay = replay
        self.replay_start = replay_start
        self.stream = stream
        self.dead_letters = DeadLetters(dead_letter) if dead_letter else None
        self.policy = RetryPolicy(max_attempts=max_attempts)
        self.pulse_s = pulse_s
        self.drain_timeout = drain_timeout
        self.conn = RedisConnection(url)
        self.health = Health()
        self.owned: dict[int, Partition] = {}
        self.stream_lease = Lease(
            self.keys.stream_lease, self.keys.fence, self.name, group.lease_ttl
        )
        self.holder_task: asyncio.Task[None] | None = None
        self.source_done = False  # a replay's last event is in the partitions
        self.epoch: str | None = None
        self.audit = (
            AuditLog(group.audit_dir, self.name, self.keys.audit(self.name))
            if group.audit_dir
            else None
        )
        self.delivered = 0
        self.dead = 0
        self._sweep_at = 0.0  # when idle partitions are next checked for stray entries

    # -- life --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Take part until *stop* is set; raises :class:`GroupDataLost` when Redis lost our data."""
        await self._join()
        loops = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._consume())]
        if self.replay is None:
            loops.append(asyncio.create_task(self._tick()))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({*loops, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper:
                    task.result()  # a loop ended: only by raising
        finally:
            await cancel_and_wait([*loops, stopper])
            await self._leave()

    async def _join(self) -> None:
        client = self.conn.client()
        with self.conn.errors("join the group"):
            await client.set(self.keys.epoch, uuid.uuid4().hex, nx=True)
            raw = await client.get(self.keys.epoch)
            await client.set(self.keys.partitions, self.group.partitions, nx=True)
            fixed = int(await client.get(self.keys.partitions))
            for k in range(self.group.partitions):
                await self._ensure_group(client, k)
            if self.audit is not None:
                # Lines a crash left between the commit and the file (see audit.py).
                await self.audit.recover(client)
        if fixed != self.group.partitions:
            raise UsageError(
                f"this group was created with `partitions` {fixed}, not {self.group.partitions}",
                hint=f"run every member with `partitions` {fixed}",
                setting="partitions",
            )
        self.epoch = raw.decode()
        log.info("member %s joined the group of %s", self.name, self.product_id)

    async def _ensure_group(self, client: Any, k: int) -> None:
        import redis.exceptions as rexc

        try:
            await client.xgroup_create(self.keys.part(k), CONSUMER_GROUP, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _leave(self) -> None:
        """Stop holding: flush notes, drain senders, release leases so others take over now."""
        held = self.stream_lease.value
        await self._stop_holding()
        self.stream_lease.value = held  # still ours in Redis: released below
        try:
            # Bounded as a whole: with Redis hanging, every call would wait its socket
            # timeout; what is not released expires by itself within the lease TTL.
            async with asyncio.timeout(self.drain_timeout + self.group.lease_ttl):
                for part in list(self.owned.values()):
                    await self._release(part, drain=True)
                client = self.conn.client()
                await client.zrem(self.keys.members, self.name)
                await self._drain_orphans(client)
                await self.stream_lease.release(client)
        except Exception as exc:  # Redis gone or hanging: the leases expire by themselves
            log.warning(
                "member %s left without releasing everything (%s: %s)",
                self.name,
                type(exc).__name__,
                exc,
            )
            tasks = [p.sender_task for p in self.owned.values() if p.sender_task is not None]
            await cancel_and_wait(tasks)
        await self._flush_audit()
        if self.audit is not None:
            self.audit.close()
        await self.conn.aclose()

    async def _drain_orphans(self, client: Any) -> None:
        """The last member to leave sends the notes of partitions nobody holds.

        A rebalance hands a partition over with its buffered notes in Redis (the next
        owner restores them); when the group stops before that owner takes it, no
        member's own drain covers it, and a single relay's stop would have sent them.
        Every other member drained what it held before leaving the member set.
        """
        now_ms = int(time.time() * 1000)
        if await client.zcount(self.keys.members, now_ms, "+inf"):
            return  # others carry on: the partition's next owner restores the notes
        k = self.group.partitions
        pipe = client.pipeline(transaction=False)
        for n in range(k):
            pipe.exists(self.keys.part_lease(n))
            pipe.scard(self.keys.noted(n))
        found = await pipe.execute()
        for n in range(k):
            if found[2 * n] or not found[2 * n + 1]:
                continue  # held (its holder drains it) or no session with notes
            lease = Lease(self.keys.part_lease(n), self.keys.fence, self.name, self.group.lease_ttl)
            if await lease.acquire(client):
                log.info("member %s sends the notes of unowned partition %d", self.name, n)
                await self._release(Partition(n, lease), drain=True)

    async def _flush_audit(self) -> None:
        """Committed audit lines to the file; what Redis cannot give now waits in its list."""
        if self.audit is None:
            return
        try:
            with self.conn.errors("write the audit"):
                await self.audit.flush(self.conn.client())
        except StoreUnavailableError as exc:
            log.debug("audit lines wait in redis: %s", exc.message)

    # -- heartbeat, leases, rebalancing ----------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = self.group.lease_ttl / 5
        delay = interval
        while True:
            try:
                await self._beat()
                if not self.health.redis_ok:
                    log.warning("redis is reachable again; member %s resumes", self.name)
                self.health.redis_ok, self.health.error = True, None
                delay = interval
            except StoreUnavailableError as exc:
                if self.health.redis_ok:
                    log.error("%s; consuming stops until it answers (retrying)", exc.message)
                self.health.redis_ok, self.health.error = False, exc.message
                await self._expire_locally()
                delay = min(BACKOFF_MAX_S, max(interval, delay * 2))
            _stop_if_cancelled()
            await asyncio.sleep(delay)

    async def _expire_locally(self) -> None:
        # Without Redis a lease cannot be renewed: once its time is up, stop using it.
        if self.holder_task is not None and not self.stream_lease.held:
            await self._stop_holding()
        for part in list(self.owned.values()):
            if not part.lease.held:
                await self._drop(part, "lease expired while redis was unreachable")

    async def _beat(self) -> None:
        client = self.conn.client()
        with self.conn.errors("heartbeat"):
            epoch = await client.get(self.keys.epoch)
            if epoch is None or epoch.decode() != self.epoch:
                self.health.data_lost = True
                log.critical(
                    "redis lost the relay group's data for %s (epoch key %s); "
                    "not starting afresh silently: checkpoint, sessions and pending entries "
                    "are gone. Restore Redis or restart the group deliberately.",
                    self.product_id,
                    "missing" if epoch is None else "changed",
                )
                raise GroupDataLost(
                    f"redis lost the relay group's data for {self.product_id} (epoch key gone)",
                    hint="restore Redis from a backup, or restart the members to start afresh",
                )
            now_ms = int(time.time() * 1000)
            ttl_ms = int(self.group.lease_ttl * 1000)
            pipe = client.pipeline(transaction=False)
            pipe.zadd(self.keys.members, {self.name: now_ms + ttl_ms})
            pipe.zremrangebyscore(self.keys.members, "-inf", now_ms)
            pipe.zrange(self.keys.members, 0, -1)
            pipe.hset(self.keys.stats, self.name, json.dumps(self._stats(), separators=(",", ":")))
            _, _, members, _ = await pipe.execute()
            names = sorted(m.decode() for m in members)
            if self.name not in names:
                names = sorted([*names, self.name])
            index, n = names.index(self.name), len(names)
            wanted = {k for k in range(self.group.partitions) if k % n == index}
            # Every lease in one round trip: a busy consumer delays it by one slice at most.
            parts = list(self.owned.values())
            holding = self.stream_lease.value is not None
            leases = [p.lease for p in parts] + ([self.stream_lease] if holding else [])
            renewed = await renew_all(client, leases)
            for part, ok in zip(parts, renewed, strict=False):
                if not ok:
                    await self._drop(part, "lease lost")
                elif part.k not in wanted:
                    await self._release(part, drain=False)
            if holding and not renewed[-1]:
                log.warning("member %s lost the stream lease; stops appending", self.name)
                await self._stop_holding()
            for k in sorted(wanted - self.owned.keys()):
                lease = Lease(
                    self.keys.part_lease(k), self.keys.fence, self.name, self.group.lease_ttl
                )
                if await lease.acquire(client):
                    self.owned[k] = Partition(k, lease)
                    log.info("member %s owns partition %d (token %d)", self.name, k, lease.token)
            await self._stream_lease(client)
        self.health.partitions = sorted(self.owned)
        self.health.holder = self.holder_task is not None and not self.holder_task.done()

    async def _stream_lease(self, client: Any) -> None:
        task = self.holder_task
        if task is not None and not task.done():
            return  # renewed with the partitions
        if task is not None:
            self.holder_task = None
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error  # the stream refused us (auth, retries exhausted): the member ends
        if self.stream_lease.value is None:
            if not await self.stream_lease.acquire(client):
                return
            self.health.takeovers += 1
            log.info("member %s holds the stream (token %d)", self.name, self.stream_lease.token)
        else:
            # Still ours (renewed just now) after an outage stopped the holder: go on.
            log.info("member %s resumes the stream (token %d)", self.name, self.stream_lease.token)
        self.holder_task = asyncio.create_task(self._hold())

    async def _stop_holding(self) -> None:
        task, self.holder_task = self.holder_task, None
        if task is not None:
            await cancel_and_wait([task])
        self.stream_lease.forget()

    # -- the stream holder -----------------------------------------------------------------

    async def _hold(self) -> None:
        client = self.conn.client()
        try:
            with self.conn.errors("read the group checkpoint"):
                raw = await client.get(self.keys.checkpoint)
            checkpoint = raw.decode() if raw is not None else None
            if self.replay is not None:
                await self._hold_replay(client, checkpoint)
            else:
                await self._hold_stream(client, checkpoint)
        except LeaseLost as exc:
            log.warning("member %s: %s", self.name, exc.message)
            self.stream_lease.forget()
        except StoreUnavailableError as exc:
            # The lease is kept while the heartbeat can renew it (then holding resumes
            # from the checkpoint); otherwise it lapses and another member takes over.
            log.error("stream holder %s paused: %s", self.name, exc.message)

    async def _append(
        self, client: Any, batch: list[tuple[str, str, str, str]], last: str | None
    ) -> None:
        with self.conn.errors("append to the partitions"):
            await fenced_append(client, self.stream_lease, self.keys.checkpoint, last, batch)
        self.health.appended += len(batch)

    def _entry(
        self, event_id: str, at: float, session_id: str | None, payload: str
    ) -> tuple[str, str, str, str]:
        k = partition_of(session_id, self.group.partitions)
        return (self.keys.part(k), event_id, repr(at), payload)

    async def _hold_replay(self, client: Any, checkpoint: str | None) -> None:
        from autoplay_cli.wire import payload_json

        assert self.replay is not None
        batch: list[tuple[str, str, str, str]] = []
        last = None
        for event in self.replay:
            if event.event_id is None or event.payload is None:
                continue
            if checkpoint is not None and not newer(event.event_id, checkpoint):
                continue
            batch.append(
                self._entry(
                    event.event_id, event.time, event.session_id, payload_json(event.payload)
                )
            )
            last = event.event_id
            if len(batch) >= READ_COUNT:
                await self._append(client, batch, last)
                batch = []
                await asyncio.sleep(0)
        if batch:
            await self._append(client, batch, last)
        self.source_done = True
        await asyncio.Event().wait()  # keep the lease (and the checkpoint) until stopped

    async def _hold_stream(self, client: Any, checkpoint: str | None) -> None:
        import dataclasses

        from autoplay_cli.stream.client import StreamClient
        from autoplay_cli.wire import PayloadEvent

        config = self.stream
        if checkpoint is not None:
            config = dataclasses.replace(config, last_event_id=checkpoint)
        stream = StreamClient(config, on_notice=lambda n: log.info("%s", n.message))
        batches = stream.batches()
        try:
            async for read in batches:
                now = time.time()
                batch = [
                    self._entry(e.id, now, e.view.session_id, e.json)
                    for e in read
                    if type(e) is PayloadEvent and e.id is not None
                ]
                if batch:
                    await self._append(client, batch, stream.stats.last_event_id)
        finally:
            await batches.aclose()

    # -- partitions --------------------------------------------------------------------------

    def _open_partition(self, part: Partition) -> None:
        clock = VirtualClock(self.replay_start if self.replay_start is not None else time.time())
        store = PartitionStore(
            self.url,
            self.product_id,
            self.keys,
            part.k,
            part.lease,
            self.conn,
            clock=clock,
            interaction_timeout_s=self.config.interaction_timeout_s,
            cooldown_period_s=self.config.cooldown_period_s,
            window_size=self.config.window_actions,
        )
        store.audit = self.audit
        part.relay = Relay(
            self.config,
            store,
            clock,
            product_id=self.product_id,
            pulse_s=DEFAULT_PULSE_S if self.pulse_s is None else self.pulse_s,
        )
        part.sender = Sender(
            store,
            self.destination,
            policy=self.policy,
            dead_letters=self.dead_letters,
            on_delivered=self._on_delivered,
            on_dead=self._on_dead,
        )
        part.sender_task = asyncio.create_task(self._send(part.sender, part.k))
        part.recovered = False

    async def _send(self, sender: Sender, k: int) -> None:
        """The partition's sender, outliving Redis outages (its entries wait in the outbox)."""
        delay = 0.1
        while True:
            try:
                await sender.run()
                return
            except StoreUnavailableError as exc:
                log.warning("partition %d: sending paused: %s", k, exc.message)
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX_S, delay * 2)

    def _on_delivered(self, delivery: Any, latency: float) -> None:
        self.delivered += 1

    def _on_dead(self, delivery: Any, reason: str) -> None:
        self.dead += 1

    async def _close_partition(self, part: Partition, *, drain: bool) -> None:
        sender, task = part.sender, part.sender_task
        part.relay, part.sender, part.sender_task = None, None, None
        if sender is None or task is None:
            return
        sender.stop()
        # asyncio.wait, not await: the sender's end is not ours (a cancel of this task
        # must still reach it, or a cancelled loop would carry on).
        done, _ = await asyncio.wait({task}, timeout=self.drain_timeout if drain else 1.0)
        if task in done and drain:
            try:
                async with asyncio.timeout(self.drain_timeout):
                    await sender.drain()
            except (TimeoutError, StoreUnavailableError) as exc:
                log.warning("partition %d: outbox not drained (%s)", part.k, exc)
        if not task.done():
            await cancel_and_wait([task])
        if not task.cancelled() and task.exception() is not None:
            log.warning("partition %d: sender ended with %r", part.k, task.exception())

    async def _drop(self, part: Partition, why: str) -> None:
        """Stop using a partition at once (its lease is gone): nothing more is written."""
        log.warning("member %s drops partition %d: %s", self.name, part.k, why)
        self.owned.pop(part.k, None)
        part.lease.forget()
        await self._close_partition(part, drain=False)

    async def _release(self, part: Partition, *, drain: bool) -> None:
        """Hand a partition over (rebalancing, shutdown): finish the batch, then free the lease."""
        async with part.lock:
            self.owned.pop(part.k, None)
            try:
                if drain and part.lease.value is not None:
                    try:
                        if part.relay is None:
                            # Taken just before the stop, not opened yet: open it, so that
                            # its buffered notes go out now as a single relay's would.
                            self._open_partition(part)
                            assert part.relay is not None
                            await part.relay.resume()
                        await part.relay.drain_notes()
                    except (LeaseLost, StoreUnavailableError) as exc:
                        log.warning("partition %d: notes not flushed (%s)", part.k, exc)
                await self._close_partition(part, drain=drain)
            except BaseException:
                # Interrupted (a stop cancelling the heartbeat mid-handover): the lease is
                # still ours, so nobody else can send its notes; the leave drains it.
                if part.lease.value is not None:
                    self.owned.setdefault(part.k, part)
                raise
            try:
                await part.lease.release(self.conn.client())
            except Exception as exc:  # it expires by itself
                log.debug("releasing partition %d: %s", part.k, exc)
        log.info("member %s released partition %d", self.name, part.k)

    async def _consume(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._consume_once()
                delay = 0.1
            except StoreUnavailableError as exc:
                self.health.redis_ok, self.health.error = False, exc.message
                _stop_if_cancelled()
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX_S, delay * 2)

    async def _consume_once(self) -> None:
        parts = [p for p in self.owned.values() if p.lease.held]
        if not parts:
            await asyncio.sleep(0.05)
            return
        client = self.conn.client()
        for part in parts:
            if part.relay is None:
                self._open_partition(part)
                assert part.relay is not None
                try:
                    async with part.lock:
                        await part.relay.resume()
                except BaseException:
                    # Half-opened (sessions waiting to time out not loaded): start again.
                    await self._close_partition(part, drain=False)
                    raise
            if not part.recovered:
                await self._recover(client, part)
        # ">" only for partitions still ours now (recovering others took time).
        reading = {
            self.keys.part(p.k): p
            for p in parts
            if p.recovered and p.lease.held and self.owned.get(p.k) is p
        }
        if not reading:
            return
        try:
            with self.conn.errors("read the partitions"):
                resp = await client.xreadgroup(
                    CONSUMER_GROUP,
                    self.name,
                    dict.fromkeys(reading, ">"),
                    count=READ_COUNT,
                    block=READ_BLOCK_MS,
                )
                got = {key.decode(): entries for key, entries in resp or []}
                stray = await self._stray(client, reading, got)
            for key, part in reading.items():
                entries = got.get(key)
                if key in stray:
                    # Entries older than these are pending for another member (its read
                    # was served after we took the partition over): claim them and apply
                    # everything in stream order (our read stays pending for us).
                    part.recovered = False
                elif entries and self.owned.get(part.k) is part and part.lease.held:
                    await self._process(part, entries)
                # Otherwise the partition left us during the read: its entries stay
                # pending, unapplied and unacknowledged, for its next owner to claim.
        except StoreUnavailableError:
            # Entries handed out but not applied (the read's reply was lost, or one
            # partition's commit failed before the next partition's entries were
            # applied) stay pending for us, and ">" never hands them out again: apply
            # our pending entries first, so that nothing newer is applied before them.
            for part in parts:
                part.recovered = False
            raise

    async def _stray(
        self, client: Any, reading: dict[str, Partition], got: dict[str, list[Any]]
    ) -> set[str]:
        """Partitions with pending entries besides those this read just handed us.

        Only a partition's owner acknowledges, and it does so batch by batch, so after
        a read its pending entries are exactly that read's, unless another member's
        read covering the partition was served after the takeover (a rebalance during
        a blocking read, a member paused past its lease). Those entries are older than
        any we read after them, since Redis hands out ">" in stream order: checked
        after every read, before applying it, they can never be overtaken.
        """
        # A partition this read gave nothing is checked once per heartbeat interval only:
        # entries waiting there are overtaken by nothing (a later read that gives
        # entries is checked at once); they are just claimed a little later.
        now = time.monotonic()
        if now >= self._sweep_at:
            self._sweep_at = now + self.group.lease_ttl / 5
            keys = list(reading)
        else:
            keys = [key for key in reading if got.get(key)]
        if not keys:
            return set()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.xpending(key, CONSUMER_GROUP)
        summaries = await pipe.execute()
        return {
            key
            for key, summary in zip(keys, summaries, strict=True)
            if int(summary["pending"]) != len(got.get(key) or ())
        }

    async def _recover(self, client: Any, part: Partition) -> None:
        """Take over the partition's pending entries (a dead or fenced owner's), then apply them."""
        key = self.keys.part(part.k)
        with self.conn.errors("claim pending entries"):
            start = "0-0"
            while True:
                # Whole entries: redis-py's JUSTID form drops the cursor.
                reply = await client.xautoclaim(
                    key, CONSUMER_GROUP, self.name, 0, start_id=start, count=1000
                )
                if len(reply) > 2 and reply[2]:
                    # Redis 7 drops deleted entries from the pending list as it claims.
                    self._lost(part, [_text(x) for x in reply[2]])
                start = _text(reply[0])
                if start == "0-0":
                    break
            after = "0"
            while part.k in self.owned:
                resp = await client.xreadgroup(
                    CONSUMER_GROUP, self.name, {key: after}, count=READ_COUNT
                )
                entries = resp[0][1] if resp else []
                if not entries:
                    break
                await self._process(part, entries)
                after = entries[-1][0]
        part.recovered = True

    def _lost(self, part: Partition, entry_ids: Sequence[Any]) -> None:
        """Pending entries whose body is gone from the stream: never applied, said loudly."""
        self.health.lost += len(entry_ids)
        log.error(
            "member %s: %d pending entries of partition %d were deleted before being "
            "applied (%s): their events are lost",
            self.name,
            len(entry_ids),
            part.k,
            ", ".join(str(_text(x)) for x in entry_ids[:5]) + (" …" if len(entry_ids) > 5 else ""),
        )

    async def check_health(self) -> None:
        """``/healthz`` of a member: Redis answers and :func:`healthy` holds; raises otherwise."""
        with self.conn.errors("ping"):
            await self.conn.client().ping()
        if self.health.data_lost:
            raise GroupDataLost(f"redis lost the relay group's data for {self.product_id}")
        if not healthy(self.health):
            raise StoreUnavailableError(self.health.error or "redis was unreachable")

    def metrics_snapshot(self) -> dict[str, Any]:
        """``/metrics`` of this member: its partitions' relays and senders, summed."""
        from collections import Counter

        events: Counter[str] = Counter()
        blocked: Counter[str] = Counter()
        deliveries: Counter[tuple[str, str]] = Counter()
        offers = retries = dead = sessions = waiting = 0
        for part in list(self.owned.values()):
            relay, sender = part.relay, part.sender
            if relay is not None:
                events.update(relay.counters.events)
                blocked.update(relay.counters.blocked)
                offers += relay.counters.offers
                sessions += len(relay.store.sessions)
                waiting += relay.engine.waiting
            if sender is not None:
                deliveries.update(sender.stats.by_type)
                retries += sender.stats.retries
                dead += sender.stats.dead
        return {
            "events": events,
            "deliveries": deliveries,
            "blocked": blocked,
            "offers": offers,
            "retries": retries,
            "dead": dead,
            "reconnects": 0,
            "gaps": 0,
            "malformed": 0,
            "sessions": sessions,
            "waiting": waiting,
            "lag": 0.0,
            "outbox": 0,
        }

    async def enqueue_link(
        self, session_id: str, conversation_id: str, event: str | None, metadata: dict[str, Any]
    ) -> None:
        """A chatbot-webhook link, received by any member: queued on the session's partition,
        so its owner applies it (:meth:`Relay.link`) in order with the session's events."""
        link = {"s": session_id, "c": conversation_id, "e": event, "m": metadata}
        key = self.keys.part(partition_of(session_id, self.group.partitions))
        with self.conn.errors("queue a chatbot link"):
            await self.conn.client().xadd(key, {LINK_FIELD: json.dumps(link)})

    async def _process(self, part: Partition, entries: list[Any]) -> None:
        """Apply *entries* in order: runs of events through :meth:`Relay.feed`, each link
        through :meth:`Relay.link`; every commit acknowledges its own entries."""
        run: list[Any] = []
        for entry in entries:
            fields = entry[1]
            if fields and LINK_FIELD in fields:
                if run:
                    await self._process_events(part, run)
                    run = []
                await self._process_link(part, entry)
            else:
                run.append(entry)
        if run:
            await self._process_events(part, run)

    async def _process_link(self, part: Partition, entry: Any) -> None:
        eid, fields = entry
        link = json.loads(fields[LINK_FIELD])
        async with part.lock:
            relay = part.relay
            if relay is None or self.owned.get(part.k) is not part:
                return
            store = relay.store
            assert isinstance(store, PartitionStore)
            store.acks = [eid]
            try:
                await relay.link(link["s"], link["c"], link["e"], metadata=link["m"])
            except LeaseLost as exc:
                await self._drop(part, exc.message)
                return
            except StoreUnavailableError:
                await self._close_partition(part, drain=False)
                raise
        assert part.sender is not None
        part.sender.wake()

    async def _process_events(self, part: Partition, entries: list[Any]) -> None:
        from autoplay_cli.wire import PayloadEvent, parse_event

        ids = [eid for eid, _ in entries]
        gone = [eid for eid, fields in entries if not fields]
        if gone:
            # Acknowledged below (they cannot be applied any more), but never silently.
            self._lost(part, gone)
        events = []
        for eid, fields in entries:
            if not fields:
                continue
            event_id = fields[b"i"].decode()
            at = float(fields[b"t"])
            parsed = parse_event("message", fields[b"p"].decode(), event_id, at)
            if type(parsed) is not PayloadEvent:
                log.warning("partition %d entry %s is not a payload; skipped", part.k, eid)
                continue
            view = parsed.view
            kind = "actions" if view.type == "actions" else "summary"
            events.append(
                SimEvent(at, view.session_id, kind, f"event {event_id}", view, event_id=event_id)
            )
        async with part.lock:
            relay = part.relay
            if relay is None or self.owned.get(part.k) is not part:
                return
            store = relay.store
            assert isinstance(store, PartitionStore)
            store.acks, store.audit_events = ids, events
            try:
                await relay.feed(events)
            except LeaseLost as exc:
                await self._drop(part, exc.message)
                return
            except StoreUnavailableError:
                # Unknown whether the commit landed: start the partition afresh from Redis.
                await self._close_partition(part, drain=False)
                raise
            applied = applied_events(store.before, events)
            sender = part.sender
        self.health.applied += len(applied)
        if sender is not None:
            sender.wake()
        # After the wake: the partition may be released while the lines are written.
        await self._flush_audit()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for part in list(self.owned.values()):
                async with part.lock:
                    if part.relay is None or not part.recovered:
                        continue
                    try:
                        await part.relay.tick(time.time())
                    except LeaseLost as exc:
                        await self._drop(part, exc.message)
                        continue
                    except StoreUnavailableError:
                        await self._close_partition(part, drain=False)
                        continue
                if part.sender is not None:
                    part.sender.wake()

    def _stats(self) -> dict[str, Any]:
        return {
            "at": round(time.time(), 3),
            "holder": self.health.holder,
            "partitions": sorted(self.owned),
            "appended": self.health.appended,
            "applied": self.health.applied,
            "delivered": self.delivered,
            "dead_letters": self.dead,
            "lost": self.health.lost,
            "redis_ok": self.health.redis_ok,
            "healthy": healthy(self.health),
            "pid": os.getpid(),
        }


def _stop_if_cancelled() -> None:
    """Re-raise a cancellation something below swallowed (a retry loop must not outlive
    the stop that cancelled it: ``run`` waits for its loops)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel *tasks* and wait until every one has ended.

    A cancellation can be swallowed below us (a client library turning it into a
    connection error that a retry loop then absorbs); a task still running after a
    moment is cancelled again, so a stop never waits on it for good.
    """
    for task in tasks:
        task.cancel()
    pending = {t for t in tasks if not t.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=0.5)
        for task in pending:
            task.cancel()
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: an error after the stop is not reported twice
