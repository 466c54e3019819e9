"""The import-migration table: legacy ``autoplay_sdk`` paths and where they live now.

Data only. Rows come from the SDK 0.7.4 "Deprecated paths" table (shims removed in
1.0.0) and the 0.7.9 rename of ``ConversationEvent``; code and tests read them from here.
"""

from __future__ import annotations

#: The distribution's top-level package; every legacy and canonical path lives under it.
ROOT = "autoplay_sdk"

#: (legacy module path, canonical module path), as listed for SDK 0.7.4.
MODULE_MOVES: tuple[tuple[str, str], ...] = (
    ("autoplay_sdk.serve", "autoplay_sdk.api"),
    ("autoplay_sdk.serve.fastapi", "autoplay_sdk.api.fastapi"),
    ("autoplay_sdk.agent_states", "autoplay_sdk.agent_state.v1.states"),
    ("autoplay_sdk.agent_states.state_machine", "autoplay_sdk.agent_state.v1.state_machine"),
    ("autoplay_sdk.agent_states.types", "autoplay_sdk.agent_state.v1.types"),
    ("autoplay_sdk.agent_states.proactive_idle_expiry", "autoplay_sdk.proactive.state.idle_expiry"),
    ("autoplay_sdk.agent_state_v2", "autoplay_sdk.agent_state.v2.states"),
    ("autoplay_sdk.agent_state_v2.session_state", "autoplay_sdk.agent_state.v2.session_state"),
    ("autoplay_sdk.agent_state_v2.types", "autoplay_sdk.agent_state.v2.types"),
    ("autoplay_sdk.rag_query", "autoplay_sdk.rag.query"),
    ("autoplay_sdk.rag_query.assembly", "autoplay_sdk.rag.query.assembly"),
    ("autoplay_sdk.rag_query.formatters", "autoplay_sdk.rag.query.formatters"),
    ("autoplay_sdk.rag_query.pipeline", "autoplay_sdk.rag.query.pipeline"),
    ("autoplay_sdk.rag_query.watermark", "autoplay_sdk.rag.query.watermark"),
    ("autoplay_sdk.proactive_resilience", "autoplay_sdk.proactive.resilience.resilience"),
    ("autoplay_sdk.proactive_resilience.circuit", "autoplay_sdk.proactive.resilience.circuit"),
    ("autoplay_sdk.proactive_resilience.config", "autoplay_sdk.proactive.resilience.config"),
    ("autoplay_sdk.proactive_resilience.keys", "autoplay_sdk.proactive.resilience.keys"),
    ("autoplay_sdk.proactive_resilience.outcomes", "autoplay_sdk.proactive.resilience.outcomes"),
    ("autoplay_sdk.proactive_resilience.protocol", "autoplay_sdk.proactive.resilience.protocol"),
    ("autoplay_sdk.chatbot", "autoplay_sdk.chat.chatbot"),
    ("autoplay_sdk.chat_pipeline", "autoplay_sdk.chat.chat_pipeline"),
    ("autoplay_sdk.context_store", "autoplay_sdk.context.context_store"),
    ("autoplay_sdk.agent_context", "autoplay_sdk.context.agent_context"),
    ("autoplay_sdk.user_index", "autoplay_sdk.context.user_index"),
    ("autoplay_sdk.summarizer", "autoplay_sdk.context.summarizer"),
    ("autoplay_sdk.models", "autoplay_sdk.core.models"),
    ("autoplay_sdk.exceptions", "autoplay_sdk.core.exceptions"),
    ("autoplay_sdk.metrics", "autoplay_sdk.core.metrics"),
    ("autoplay_sdk.onboarding", "autoplay_sdk.admin.onboarding"),
    ("autoplay_sdk.proactive_idle_expiry", "autoplay_sdk.proactive.state.idle_expiry"),
    ("autoplay_sdk.proactive_triggers", "autoplay_sdk.proactive.triggers"),
    (
        "autoplay_sdk.proactive_triggers.builtin_catalog",
        "autoplay_sdk.proactive.triggers.builtin_catalog",
    ),
    (
        "autoplay_sdk.proactive_triggers.context_source",
        "autoplay_sdk.proactive.triggers.context_source",
    ),
    ("autoplay_sdk.proactive_triggers.defaults", "autoplay_sdk.proactive.triggers.defaults"),
    ("autoplay_sdk.proactive_triggers.entity", "autoplay_sdk.proactive.triggers.entity"),
    ("autoplay_sdk.proactive_triggers.judge", "autoplay_sdk.proactive.triggers.judge"),
    (
        "autoplay_sdk.proactive_triggers.pending_tour_offer",
        "autoplay_sdk.proactive.triggers.pending_tour_offer",
    ),
    (
        "autoplay_sdk.proactive_triggers.predicate_trigger",
        "autoplay_sdk.proactive.triggers.predicate_trigger",
    ),
    (
        "autoplay_sdk.proactive_triggers.proactive_intercom_config",
        "autoplay_sdk.proactive.triggers.proactive_intercom_config",
    ),
    (
        "autoplay_sdk.proactive_triggers.quick_reply_match",
        "autoplay_sdk.proactive.triggers.quick_reply_match",
    ),
    ("autoplay_sdk.proactive_triggers.registry", "autoplay_sdk.proactive.triggers.registry"),
    ("autoplay_sdk.proactive_triggers.scope", "autoplay_sdk.proactive.triggers.scope"),
    (
        "autoplay_sdk.proactive_triggers.section_activity",
        "autoplay_sdk.proactive.triggers.section_activity",
    ),
    (
        "autoplay_sdk.proactive_triggers.tour_registry",
        "autoplay_sdk.proactive.triggers.tour_registry",
    ),
    (
        "autoplay_sdk.proactive_triggers.trigger_config",
        "autoplay_sdk.proactive.triggers.trigger_config",
    ),
    ("autoplay_sdk.proactive_triggers.triggers", "autoplay_sdk.proactive.triggers.triggers"),
    (
        "autoplay_sdk.proactive_triggers.triggers.canonical_ping_pong",
        "autoplay_sdk.proactive.triggers.triggers.canonical_ping_pong",
    ),
    (
        "autoplay_sdk.proactive_triggers.triggers.scoped_canonical_ping_pong",
        "autoplay_sdk.proactive.triggers.triggers.scoped_canonical_ping_pong",
    ),
    (
        "autoplay_sdk.proactive_triggers.triggers.section_playbook",
        "autoplay_sdk.proactive.triggers.triggers.section_playbook",
    ),
    (
        "autoplay_sdk.proactive_triggers.triggers.user_page_dwell",
        "autoplay_sdk.proactive.triggers.triggers.user_page_dwell",
    ),
    ("autoplay_sdk.proactive_triggers.types", "autoplay_sdk.proactive.triggers.types"),
    ("autoplay_sdk.proactive_triggers.url_scope", "autoplay_sdk.proactive.triggers.url_scope"),
)

#: Legacy modules whose listed home no SDK release after 0.7.4 ships (``agent_state.v1``
#: was removed): rewriting to it would trade one dead import for another. Code under
#: these paths is reported for a manual port to the v2 state machine and left as it is.
MANUAL_PORTS: tuple[str, ...] = (
    "autoplay_sdk.agent_states",
    "autoplay_sdk.agent_states.state_machine",
    "autoplay_sdk.agent_states.types",
)

#: Where a manual port starts: the v2 state machine and this project's guide to it.
MANUAL_PORT_POINTER = (
    "port it by hand to the v2 state machine (`autoplay_sdk.agent_state.v2`, "
    "SDK 0.7.4+; see docs/migrate-imports.md#agent-states)"
)

#: (legacy name, canonical name) of names exported by ``autoplay_sdk`` modules (SDK 0.7.9).
NAME_RENAMES: tuple[tuple[str, str], ...] = (("ConversationEvent", "ConversationEventType"),)
