"""``import autoplay_sdk.old[ as x]`` statements (fixers/imports.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.codemods.rewriting import IDS, ROWS, check_noop, check_transformed


@pytest.mark.parametrize(("old", "new"), ROWS, ids=IDS)
def test_row_import_statement_and_its_attribute_chains(old: str, new: str) -> None:
    result = check_transformed(
        f"import {old}\n\nvalue = {old}.Thing(1)\n",
        f"import {new}\n\nvalue = {new}.Thing(1)\n",
    )
    assert (result.imports, result.references) == (1, 1)


@pytest.mark.parametrize(("old", "new"), ROWS, ids=IDS)
def test_row_import_as(old: str, new: str) -> None:
    check_transformed(f"import {old} as mod\nmod.run()\n", f"import {new} as mod\nmod.run()\n")


def test_look_alike_and_canonical_paths_are_untouched() -> None:
    check_noop("""\
        import autoplay_sdk
        import autoplay_sdk.rag
        import autoplay_sdk.context_storex
        from autoplay_sdk.rag import query
        from autoplay_sdk import ActionsPayload, rag, chat
        from autoplay_sdk_extra.models import Thing
        from .models import Local
        from . import chatbot
        autoplay_sdk.rag.query.run()
        """)


def test_several_modules_in_one_import_statement() -> None:
    check_transformed(
        "import os, autoplay_sdk.models, autoplay_sdk.serve as api\n",
        "import os, autoplay_sdk.core.models, autoplay_sdk.api as api\n",
    )


def test_imports_inside_functions_type_checking_and_try_except() -> None:
    check_transformed(
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from autoplay_sdk.chatbot import BaseChatbotWriter

        try:
            from autoplay_sdk.chat.chatbot import BaseChatbotWriter
        except ImportError:  # SDK older than 0.7.4
            from autoplay_sdk.chatbot import BaseChatbotWriter


        def handler():
            import autoplay_sdk.context_store as store  # lazily
            return store
        """,
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from autoplay_sdk.chat.chatbot import BaseChatbotWriter

        try:
            from autoplay_sdk.chat.chatbot import BaseChatbotWriter
        except ImportError:  # SDK older than 0.7.4
            from autoplay_sdk.chat.chatbot import BaseChatbotWriter


        def handler():
            import autoplay_sdk.context.context_store as store  # lazily
            return store
        """,
    )


def test_unnamed_submodules_are_reported_with_their_line_not_guessed() -> None:
    source = textwrap.dedent("""\
        import os
        import autoplay_sdk.proactive_triggers.brand_new
        from autoplay_sdk.rag_query.secret import thing
        importlib.import_module("autoplay_sdk.proactive_triggers.extra")
        autoplay_sdk.proactive_triggers.brand_new.run()
        """)
    result = check_noop(source)
    assert [r.line for r in result.reviews] == [2, 3, 4]
    assert "`autoplay_sdk.proactive_triggers.brand_new`" in result.reviews[0].message
    assert "`autoplay_sdk.rag_query`" in result.reviews[1].message
