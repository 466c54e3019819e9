"""Proactive-assistance sessions: state machine, tours, linking, stores, delivery manager.

A library (no CLI imports); Redis is imported only when a Redis store is used.
The face is ``__all__``; the modules behind it are internals (``_redis`` by name).
"""

from autoplay_cli.session.linking import (
    ConversationEventType,
    ConversationLink,
    ConversationLinkStore,
    MemoryConversationLinkStore,
    RedisConversationLinkStore,
    link_conversation,
    resolve_linked_conversation_id,
)
from autoplay_cli.session.manager import (
    REASON_UNLINKED_FIRST_OFFER,
    ChatWriter,
    DeliveryManager,
)
from autoplay_cli.session.migrate import MigrationReport, migrate_sessions
from autoplay_cli.session.state import (
    REASON_COOLDOWN,
    REASON_OK,
    REASON_STATE_PREFIX,
    AgentState,
    InvalidTransitionError,
    SessionState,
)
from autoplay_cli.session.stores import (
    ConcurrentUpdateError,
    MemorySessionStore,
    RedisSessionStore,
    SessionStore,
)
from autoplay_cli.session.tours import TourDefinition, TourRegistry

__all__ = [
    "REASON_COOLDOWN",
    "REASON_OK",
    "REASON_STATE_PREFIX",
    "REASON_UNLINKED_FIRST_OFFER",
    "AgentState",
    "ChatWriter",
    "ConcurrentUpdateError",
    "ConversationEventType",
    "ConversationLink",
    "ConversationLinkStore",
    "DeliveryManager",
    "InvalidTransitionError",
    "MemoryConversationLinkStore",
    "MemorySessionStore",
    "MigrationReport",
    "RedisConversationLinkStore",
    "RedisSessionStore",
    "SessionState",
    "SessionStore",
    "TourDefinition",
    "TourRegistry",
    "link_conversation",
    "migrate_sessions",
    "resolve_linked_conversation_id",
]
