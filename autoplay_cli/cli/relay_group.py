"""How ``autoplay relay --group``, ``--workers N`` and ``relay status`` talk to the operator."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoplay_cli.relay import RelayOptions
    from autoplay_cli.relay.group import GroupOptions, MemberSummary


def run_member(options: RelayOptions, group: GroupOptions) -> MemberSummary:
    """One member until stopped; its summary goes to stderr."""
    from autoplay_cli.cli.tuning import HOT_LOOP_YOUNG, quiet_collector
    from autoplay_cli.relay.group import MemberSummary, run_member

    summary = MemberSummary()
    try:
        with quiet_collector(HOT_LOOP_YOUNG):
            asyncio.run(run_member(options, group, summary))
    finally:
        logging.getLogger("autoplay_cli.relay").info("%s", summary.describe())
    return summary


def supervise(argv: list[str], workers: int, base: str) -> int:
    """``--workers N``: N children running this same command as members; the exit code."""
    from autoplay_cli.relay.group import Supervisor, child_args

    return Supervisor([child_args(argv, i, base) for i in range(workers)]).run()


def status(store: str, product_id: str, as_json: bool) -> None:
    """``autoplay relay status``: the group's state, as a table or one JSON object."""
    from autoplay_cli.relay import check_store_url
    from autoplay_cli.relay.group import read_group_status

    url = check_store_url(store)
    if url == "memory":
        from autoplay_cli.errors import UsageError

        raise UsageError("relay status reads a group from Redis: give --store redis://…")
    st = asyncio.run(read_group_status(url, product_id))
    if as_json:
        sys.stdout.write(json.dumps(st.to_dict(), separators=(",", ":")) + "\n")
        return
    out = [
        f"product {st.product_id}: stream held by {st.holder or '(nobody)'}"
        + (f" (token {st.holder_token})" if st.holder_token else "")
        + f", checkpoint {st.checkpoint or '-'}",
        f"lag {st.lag}, pending {st.pending}, outbox {st.outbox}, dead letters {st.dead_letters}"
        + ("" if st.epoch else "  !! epoch key missing: Redis lost the group's data")
        + (f"  !! {st.lost} events lost (see the members' logs)" if st.lost else ""),
        "",
        f"{'partition':>9}  {'owner':<24} {'token':>6} {'lag':>7} {'pending':>8} {'outbox':>7}",
    ]
    for p in st.partitions:
        lag = "?" if p.lag is None else str(p.lag)
        out.append(
            f"{p.partition:>9}  {p.owner or '(free)':<24} {p.token or '-':>6} {lag:>7} "
            f"{p.pending:>8} {p.outbox:>7}"
        )
    out.append("")
    for m in st.members:
        s = m.stats
        out.append(
            f"member {m.member}: {'alive' if m.alive else 'gone'}, "
            f"applied {s.get('applied', 0)}, delivered {s.get('delivered', 0)}, "
            f"redis {'ok' if s.get('redis_ok', True) else 'UNAVAILABLE'}"
        )
    sys.stdout.write("\n".join(out) + "\n")
