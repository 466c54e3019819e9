"""Where a ``simulate --store`` run keeps its sessions in Redis: a key namespace of its own.

Each run writes under ``autoplay:simulate:{run id}:`` with a fresh random run id,
so parallel runs on one Redis never share, overwrite or delete each other's keys,
and never touch live sessions. The keys stay for inspection and expire after an hour.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoplay_cli.session import RedisConversationLinkStore, RedisSessionStore
    from autoplay_cli.simulate.clock import VirtualClock

NAMESPACE_ROOT = "autoplay:simulate:"
RUN_TTL_S = 3600


def new_namespace() -> str:
    """``autoplay:simulate:{16 random hex digits}:``."""
    return f"{NAMESPACE_ROOT}{uuid.uuid4().hex[:16]}:"


async def open_redis_run(
    url: str,
    clock: VirtualClock,
    *,
    interaction_timeout_s: float,
    cooldown_period_s: float,
    namespace: str | None = None,
) -> tuple[RedisSessionStore, RedisConversationLinkStore, str]:
    """A session store and a link store at *url* under a new namespace; ``(store, links, ns)``.

    Sessions live under ``{ns}session_state:{id}``, links under
    ``{ns}conversation_link:{id}``. Raises ``StoreUnavailableError`` (or
    ``AuthError``/``ConfigError`` when the server refuses the URL) before any write.
    """
    from autoplay_cli.session import RedisSessionStore

    ns = namespace or new_namespace()
    store = RedisSessionStore(
        url,
        ttl_s=RUN_TTL_S,
        clock=clock,
        key_prefix=f"{ns}session_state:",
        interaction_timeout_s=interaction_timeout_s,
        cooldown_period_s=cooldown_period_s,
    )
    links = store.link_store(ttl_s=RUN_TTL_S, key_prefix=f"{ns}conversation_link:")
    try:
        await store.ping()
    except BaseException:
        await store.aclose()
        raise
    return store, links, ns
