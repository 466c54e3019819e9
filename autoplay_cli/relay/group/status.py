"""What a relay group is doing, read from Redis: holder, partition owners, lag, pending, outboxes.

Used by ``autoplay relay status`` and by tests waiting for a group to catch up.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from autoplay_cli.errors import NotFoundError
from autoplay_cli.relay.group.keys import CONSUMER_GROUP, GroupKeys


@dataclass
class PartitionStatus:
    partition: int
    owner: str | None
    token: int | None
    length: int  # entries still in the stream (acknowledged ones are trimmed)
    lag: int | None  # entries not yet read by the consumer group
    pending: int  # read, not yet acknowledged
    outbox: int  # deliveries queued, not yet sent


@dataclass
class MemberStatus:
    member: str
    alive: bool
    stats: dict[str, Any]


@dataclass
class GroupStatus:
    product_id: str
    epoch: bool
    checkpoint: str | None
    holder: str | None
    holder_token: int | None
    holder_ttl_ms: int | None
    partitions: list[PartitionStatus] = field(default_factory=list)
    members: list[MemberStatus] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def pending(self) -> int:
        return sum(p.pending for p in self.partitions)

    @property
    def outbox(self) -> int:
        return sum(p.outbox for p in self.partitions)

    @property
    def dead_letters(self) -> int:
        return sum(int(m.stats.get("dead_letters", 0)) for m in self.members)

    @property
    def lost(self) -> int:
        """Pending entries members found deleted before applying them (each one logged)."""
        return sum(int(m.stats.get("lost", 0)) for m in self.members)

    @property
    def idle(self) -> bool:
        """Everything appended is applied and every delivery is sent."""
        return self.lag == 0 and self.pending == 0 and self.outbox == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            lag=self.lag,
            pending=self.pending,
            outbox=self.outbox,
            dead_letters=self.dead_letters,
            lost=self.lost,
        )
        return data


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _lease(raw: Any) -> tuple[str | None, int | None]:
    text = _text(raw)
    if not text:
        return None, None
    token, _, member = text.partition(":")
    return member, int(token)


async def read_status(conn: Any, product_id: str) -> GroupStatus:
    """The group's state now; :class:`NotFoundError` when no group ran for *product_id*."""
    keys = GroupKeys(product_id)
    client = conn.client()
    with conn.errors("read the group status"):
        k_raw = await client.get(keys.partitions)
        if k_raw is None:
            raise NotFoundError(
                f"no relay group for product {product_id!r} in this Redis",
                hint="start one with `autoplay relay --group --store redis://…`",
            )
        k = int(k_raw)
        pipe = client.pipeline(transaction=False)
        pipe.exists(keys.epoch)
        pipe.get(keys.checkpoint)
        pipe.get(keys.stream_lease)
        pipe.pttl(keys.stream_lease)
        pipe.zrange(keys.members, 0, -1, withscores=True)
        pipe.hgetall(keys.stats)
        for n in range(k):
            pipe.get(keys.part_lease(n))
            pipe.xlen(keys.part(n))
            pipe.xlen(keys.outbox(n))
        head = await pipe.execute()
        groups = []
        for n in range(k):
            try:
                info = await client.xinfo_groups(keys.part(n))
            except Exception:  # the stream or its group is gone
                info = []
            groups.append(next((g for g in info if _text(g["name"]) == CONSUMER_GROUP), None))
    epoch, checkpoint, holder_raw, pttl, members, stats = head[:6]
    holder, token = _lease(holder_raw)
    status = GroupStatus(
        product_id=product_id,
        epoch=bool(epoch),
        checkpoint=_text(checkpoint),
        holder=holder,
        holder_token=token,
        holder_ttl_ms=int(pttl) if pttl and pttl > 0 else None,
    )
    rest = head[6:]
    for n in range(k):
        owner, ptoken = _lease(rest[3 * n])
        group = groups[n] or {}
        lag = group.get("lag")
        status.partitions.append(
            PartitionStatus(
                partition=n,
                owner=owner,
                token=ptoken,
                length=int(rest[3 * n + 1]),
                lag=int(lag) if lag is not None else None,
                pending=int(group.get("pending", 0)),
                outbox=int(rest[3 * n + 2]),
            )
        )
    import json

    now_ms = time.time() * 1000
    alive = {name: expiry > now_ms for name, expiry in members}
    # Members that left keep their last counters (their dead letters stay counted).
    for name in sorted(set(alive) | set(stats or {})):
        raw = (stats or {}).get(name)
        member = _text(name) or ""
        status.members.append(
            MemberStatus(member, alive.get(name, False), json.loads(raw) if raw else {})
        )
    return status


async def read_group_status(store_url: str, product_id: str) -> GroupStatus:
    """:func:`read_status` over a connection of its own to *store_url* (closed after)."""
    from autoplay_cli.session._redis import RedisConnection

    conn = RedisConnection(store_url)
    try:
        return await read_status(conn, product_id)
    finally:
        await conn.aclose()
