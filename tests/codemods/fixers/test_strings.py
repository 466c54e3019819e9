"""``__all__`` entries and string annotations (fixers/strings.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

from tests.codemods.rewriting import check_transformed


def test_every_way_of_growing_all_follows_the_rename() -> None:
    check_transformed(
        """\
        from autoplay_sdk import ConversationEvent

        __all__: list[str] = ["ConversationEvent"]
        __all__ += ["ConversationEvent"]
        __all__.append("ConversationEvent")
        __all__.extend(["ConversationEvent", "other"])
        __all__.insert(0, "ConversationEvent")
        names.append("ConversationEvent")  # not __all__: a string like any other
        """,
        """\
        from autoplay_sdk import ConversationEventType

        __all__: list[str] = ["ConversationEventType"]
        __all__ += ["ConversationEventType"]
        __all__.append("ConversationEventType")
        __all__.extend(["ConversationEventType", "other"])
        __all__.insert(0, "ConversationEventType")
        names.append("ConversationEvent")  # not __all__: a string like any other
        """,
    )


def test_string_annotations_follow_the_move_and_the_rename() -> None:
    check_transformed(
        """\
        from typing import TYPE_CHECKING, Optional

        if TYPE_CHECKING:
            import autoplay_sdk.models
            from autoplay_sdk import ConversationEvent


        def f(p: "autoplay_sdk.models.ActionsPayload") -> "Optional[ConversationEvent]":
            x: 'list[autoplay_sdk.agent_states.proactive_idle_expiry.Rule]' = []
            y: "my_autoplay_sdk.models.X | MyConversationEvent" = None
            return "autoplay_sdk.models.ActionsPayload"  # not an annotation
        """,
        """\
        from typing import TYPE_CHECKING, Optional

        if TYPE_CHECKING:
            import autoplay_sdk.core.models
            from autoplay_sdk import ConversationEventType


        def f(p: "autoplay_sdk.core.models.ActionsPayload") -> "Optional[ConversationEventType]":
            x: 'list[autoplay_sdk.proactive.state.idle_expiry.Rule]' = []
            y: "my_autoplay_sdk.models.X | MyConversationEvent" = None
            return "autoplay_sdk.models.ActionsPayload"  # not an annotation
        """,
    )
