"""Relay groups: several ``autoplay relay --group`` processes share one product through Redis.

One member holds the stream under a fenced lease and appends events to K Redis
Streams partitions by session; partition leases give each partition one owner.

The face (``__all__``): a member's options and run, the ``--workers`` supervisor, and
the group's status; leases, partitions, keys and the audit stay behind it.
"""

from autoplay_cli.relay.group.member import GroupOptions, default_member_name
from autoplay_cli.relay.group.run import MemberSummary, run_member
from autoplay_cli.relay.group.status import GroupStatus, read_group_status, read_status
from autoplay_cli.relay.group.supervisor import Supervisor, child_args

__all__ = [
    "GroupOptions",
    "GroupStatus",
    "MemberSummary",
    "Supervisor",
    "child_args",
    "default_member_name",
    "read_group_status",
    "read_status",
    "run_member",
]
