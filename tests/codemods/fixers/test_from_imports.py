"""``from autoplay_sdk.old import ...`` statements (fixers/from_imports.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

import pytest

from tests.codemods.rewriting import IDS, ROWS, check_noop, check_transformed, split


@pytest.mark.parametrize(("old", "new"), ROWS, ids=IDS)
def test_row_from_module_import_names(old: str, new: str) -> None:
    check_transformed(
        f"from {old} import Thing, other as o\n", f"from {new} import Thing, other as o\n"
    )


@pytest.mark.parametrize(("old", "new"), ROWS, ids=IDS)
def test_row_from_parent_import_the_module(old: str, new: str) -> None:
    old_parent, old_last = split(old)
    new_parent, new_last = split(new)
    alias = "" if new_last == old_last else f" as {old_last}"
    check_transformed(
        f"from {old_parent} import {old_last}\n{old_last}.run()\n",
        f"from {new_parent} import {new_last}{alias}\n{old_last}.run()\n",
    )


@pytest.mark.parametrize("new", sorted({new for _, new in ROWS}))
def test_row_canonical_targets_are_left_alone(new: str) -> None:
    parent, last = split(new)
    check_noop(f"""\
        import {new}
        from {parent} import {last}
        from {new} import Thing
        {new}.Thing()
        mock.patch("{new}.Thing")
        """)


def test_from_root_import_moved_submodules_splits_and_keeps_stable_names() -> None:
    result = check_transformed(
        "from autoplay_sdk import ActionsPayload, chatbot, serve, rag_query  # noqa: F401\n",
        "from autoplay_sdk import ActionsPayload, api as serve  # noqa: F401\n"
        "from autoplay_sdk.chat import chatbot  # noqa: F401\n"
        "from autoplay_sdk.rag import query as rag_query  # noqa: F401\n",
    )
    assert result.imports == 1


def test_multi_line_parenthesised_import_keeps_comments() -> None:
    check_transformed(
        """\
        from autoplay_sdk.models import (  # the models
            ActionsPayload,  # a batch
            # the summary, too
            SummaryPayload,
        )
        """,
        """\
        from autoplay_sdk.core.models import (  # the models
            ActionsPayload,  # a batch
            # the summary, too
            SummaryPayload,
        )
        """,
    )


def test_parenthesised_import_split_across_new_homes() -> None:
    check_transformed(
        """\
        from autoplay_sdk.agent_states import (
            proactive_idle_expiry,  # the expiry
            AgentState,  # the state: a manual port
        )
        """,
        """\
        from autoplay_sdk.proactive.state import (
            idle_expiry as proactive_idle_expiry,  # the expiry
        )
        from autoplay_sdk.agent_states import (
            AgentState,  # the state: a manual port
        )
        """,
    )


def test_backslash_continuation_and_star_import() -> None:
    check_transformed(
        "from autoplay_sdk.metrics import \\\n    Counter, Gauge\n"
        "from autoplay_sdk.models import *\n",
        "from autoplay_sdk.core.metrics import \\\n    Counter, Gauge\n"
        "from autoplay_sdk.core.models import *\n",
    )


def test_single_line_suite_and_semicolons() -> None:
    check_transformed(
        "if True: from autoplay_sdk import summarizer, ActionsPayload\n"
        "import os; import autoplay_sdk.metrics\n",
        "if True: from autoplay_sdk.context import summarizer; "
        "from autoplay_sdk import ActionsPayload\n"
        "import os; import autoplay_sdk.core.metrics\n",
    )


def test_both_names_imported_become_one() -> None:
    check_transformed(
        """\
        from autoplay_sdk import ConversationEvent, ConversationEventType
        from autoplay_sdk.chat import ConversationEventType, ConversationEvent
        from autoplay_sdk.chat import (
            ConversationEvent,
            ConversationEventType,
        )
        from autoplay_sdk.chat import (
            ConversationEventType,
            ConversationEvent,  # a comment is never dropped
        )
        """,
        """\
        from autoplay_sdk import ConversationEventType
        from autoplay_sdk.chat import ConversationEventType
        from autoplay_sdk.chat import (
            ConversationEventType,
        )
        from autoplay_sdk.chat import (
            ConversationEventType,
            ConversationEventType,  # a comment is never dropped
        )
        """,
    )


def test_conversation_event_alias_keeps_the_local_name() -> None:
    check_transformed(
        "from autoplay_sdk.chatbot import ConversationEvent as CE\nCE.NEW\n"
        "patch('autoplay_sdk.chat.ConversationEvent')\n",
        "from autoplay_sdk.chat.chatbot import ConversationEventType as CE\nCE.NEW\n"
        "patch('autoplay_sdk.chat.ConversationEventType')\n",
    )
