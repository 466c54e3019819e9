"""Where a relay group keeps its coordination state in Redis, and which partition a session is in.

Every key of a product carries the product's hash tag, so on Redis Cluster the whole
group (sessions, partitions, leases, outboxes) lives on one shard and scripts and
MULTI/EXEC can touch several keys at once.
"""

from __future__ import annotations

import zlib

from autoplay_cli.relay.store import product_tag

CONSUMER_GROUP = "relay"


def partition_of(session_id: str | None, partitions: int) -> int:
    """The partition of a session: CRC-32 of its id (stable across processes and Pythons)."""
    if not session_id:
        return 0
    return zlib.crc32(session_id.encode("utf-8", "surrogatepass")) % partitions


class GroupKeys:
    """The key names of one product's group, under ``autoplay:relay:{product}:group:``."""

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        self.relay_prefix = f"autoplay:relay:{product_tag(product_id)}:"
        self.prefix = self.relay_prefix + "group:"
        self.stream_lease = self.prefix + "lease:stream"
        self.fence = self.prefix + "fence"  # INCR: every lease's fencing token
        self.epoch = self.prefix + "epoch"  # set once; missing later = Redis lost our data
        self.checkpoint = self.prefix + "checkpoint"  # last event id appended to partitions
        self.members = self.prefix + "members"  # zset member -> heartbeat expiry (ms)
        self.stats = self.prefix + "stats"  # hash member -> JSON of its counters
        self.partitions = self.prefix + "partitions"  # K, fixed when the group is created

    def part(self, k: int) -> str:
        return f"{self.prefix}part:{k}"

    def part_lease(self, k: int) -> str:
        return f"{self.prefix}lease:part:{k}"

    def outbox(self, k: int) -> str:
        return f"{self.prefix}outbox:{k}"

    def open(self, k: int) -> str:
        return f"{self.prefix}open:{k}"

    def audit(self, member: str) -> str:
        """A member's audit lines committed but not yet written to its ``--audit`` file."""
        return f"{self.prefix}audit:{member}"

    def noted(self, k: int) -> str:
        """Sessions of partition *k* holding buffered notes (loaded when the partition moves)."""
        return f"{self.prefix}noted:{k}"
