"""Uses of a renamed name (fixers/names.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

from tests.codemods.rewriting import check_noop, check_transformed, rewrite


def test_conversation_event_is_renamed_in_imports_and_uses() -> None:
    check_transformed(
        """\
        import autoplay_sdk
        from autoplay_sdk import ConversationEvent
        from autoplay_sdk import chat

        __all__ = ["ConversationEvent"]


        def link(event=ConversationEvent.NEW):
            a = autoplay_sdk.ConversationEvent.REPLY_EXISTING
            b = chat.ConversationEvent.NEW
            c = other.ConversationEvent  # not the SDK's
            return call(ConversationEvent=a)  # a keyword, not the name
        """,
        """\
        import autoplay_sdk
        from autoplay_sdk import ConversationEventType
        from autoplay_sdk import chat

        __all__ = ["ConversationEventType"]


        def link(event=ConversationEventType.NEW):
            a = autoplay_sdk.ConversationEventType.REPLY_EXISTING
            b = chat.ConversationEventType.NEW
            c = other.ConversationEvent  # not the SDK's
            return call(ConversationEvent=a)  # a keyword, not the name
        """,
    )


def test_names_that_shadow_conversation_event_keep_their_name() -> None:
    # A parameter or class attribute of the same name is another binding: renaming it
    # would break ``f(ConversationEvent=...)`` and ``Handler.ConversationEvent``.
    check_transformed(
        """\
        from autoplay_sdk.chatbot import ConversationEvent


        def f(*, ConversationEvent=None):
            return ConversationEvent


        class Handler:
            ConversationEvent = ConversationEvent

            def run(self):
                return self.ConversationEvent, [ConversationEvent for ConversationEvent in ()]


        f(ConversationEvent=1)
        Handler.ConversationEvent
        g = lambda: ConversationEvent.NEW
        """,
        """\
        from autoplay_sdk.chat.chatbot import ConversationEventType


        def f(*, ConversationEvent=None):
            return ConversationEvent


        class Handler:
            ConversationEvent = ConversationEventType

            def run(self):
                return self.ConversationEvent, [ConversationEvent for ConversationEvent in ()]


        f(ConversationEvent=1)
        Handler.ConversationEvent
        g = lambda: ConversationEventType.NEW
        """,
    )


def test_conversation_event_from_a_star_import_is_reported_not_guessed() -> None:
    result = rewrite(
        "from autoplay_sdk.chatbot import *\n\n\ndef f():\n    return ConversationEvent.NEW\n"
    )
    assert result.code.startswith(b"from autoplay_sdk.chat.chatbot import *\n")
    assert b"ConversationEvent.NEW" in result.code
    assert [(r.line, "ConversationEventType" in r.message) for r in result.reviews] == [(1, True)]
    # Bound in the module, the name does not come from the star import.
    assert (
        rewrite("from autoplay_sdk import *\nConversationEvent = 1\nConversationEvent\n").reviews
        == []
    )
    assert rewrite("from autoplay_sdk import *\nActionsPayload\n").reviews == []


def test_a_local_conversation_event_not_from_the_sdk_is_untouched() -> None:
    check_noop("from myapp.events import ConversationEvent\nConversationEvent.NEW\n")
