"""The import rewriter: one test per table row and form, plus formatting preservation.

Every rewrite here is also checked against the libcst reference implementation.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.bindings import ParseFailure
from autoplay_cli.codemods.engine import rewrite_source
from autoplay_cli.codemods.mapping import ImportMap, Verdict
from autoplay_cli.codemods.rewriter import (
    RewriteResult,
    RoundTripError,
    apply_onto_original,
)
from autoplay_cli.codemods.rewriter import rewrite_source as rewrite_with_libcst
from tests.codemods.differential import assert_same_as_libcst

ROWS = tuple(row for row in import_map.MODULE_MOVES if row[0] not in import_map.MANUAL_PORTS)
IDS = [old for old, _ in ROWS]


def rewrite(source: str | bytes) -> RewriteResult:
    """The rewrite of *source*, checked against the libcst reference implementation."""
    data = source.encode() if isinstance(source, str) else source
    result = rewrite_source(data)
    assert_same_as_libcst(data, result)
    return result


def check_transformed(before: str, after: str) -> RewriteResult:
    """*before* becomes exactly *after*, which still parses and is a fixed point."""
    before, after = textwrap.dedent(before), textwrap.dedent(after)
    result = rewrite(before)
    assert result.code.decode() == after
    compile(result.code, "<rewritten>", "exec")
    again = rewrite(result.code)
    assert again.code == result.code and again.changes == 0
    return result


def check_noop(source: str) -> RewriteResult:
    source = textwrap.dedent(source)
    result = rewrite(source)
    assert result.code.decode() == source
    assert result.changes == 0
    return result


def split(path: str) -> tuple[str, str]:
    parent, _, last = path.rpartition(".")
    return parent, last


# -- one test per table row and form (generated from the table) ------------------------------


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


@pytest.mark.parametrize(("old", "new"), ROWS, ids=IDS)
def test_row_string_targets(old: str, new: str) -> None:
    check_transformed(
        f"""\
        @mock.patch("{old}.Thing")
        def test(m):
            importlib.import_module('{old}')
            __import__("{old}")
        """,
        f"""\
        @mock.patch("{new}.Thing")
        def test(m):
            importlib.import_module('{new}')
            __import__("{new}")
        """,
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


# -- import forms ----------------------------------------------------------------------------


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


def test_the_nested_row_wins_over_its_parent_in_chains_and_strings() -> None:
    check_transformed(
        """\
        import autoplay_sdk.agent_states.proactive_idle_expiry
        autoplay_sdk.agent_states.proactive_idle_expiry.run()
        mock.patch("autoplay_sdk.agent_states.proactive_idle_expiry.run")
        """,
        """\
        import autoplay_sdk.proactive.state.idle_expiry
        autoplay_sdk.proactive.state.idle_expiry.run()
        mock.patch("autoplay_sdk.proactive.state.idle_expiry.run")
        """,
    )


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


def test_single_line_suite_and_semicolons() -> None:
    check_transformed(
        "if True: from autoplay_sdk import summarizer, ActionsPayload\n"
        "import os; import autoplay_sdk.metrics\n",
        "if True: from autoplay_sdk.context import summarizer; "
        "from autoplay_sdk import ActionsPayload\n"
        "import os; import autoplay_sdk.core.metrics\n",
    )


def test_several_modules_in_one_import_statement() -> None:
    check_transformed(
        "import os, autoplay_sdk.models, autoplay_sdk.serve as api\n",
        "import os, autoplay_sdk.core.models, autoplay_sdk.api as api\n",
    )


def test_chains_through_an_aliased_root_are_respelled() -> None:
    check_transformed(
        "import autoplay_sdk as sdk\n\nsdk.chatbot.X\nsdk.proactive_resilience.circuit.T\n"
        "sdk.rag.query\n",
        "import autoplay_sdk as sdk\n\nsdk.chat.chatbot.X\nsdk.proactive.resilience.circuit.T\n"
        "sdk.rag.query\n",
    )


def test_chains_through_a_moved_module_to_a_row_moved_elsewhere_are_reviewed() -> None:
    # ``proactive_resilience`` moves to ``proactive.resilience.resilience`` but its
    # ``circuit`` submodule to ``proactive.resilience.circuit``: not reachable through it.
    result = rewrite(
        "from autoplay_sdk import proactive_resilience\n"
        "import autoplay_sdk.proactive_triggers as pt\n"
        "\nproactive_resilience.Breaker\nproactive_resilience.circuit.C\npt.registry.R\n"
    )
    assert result.code == (
        b"from autoplay_sdk.proactive.resilience import resilience as proactive_resilience\n"
        b"import autoplay_sdk.proactive.triggers as pt\n"
        b"\nproactive_resilience.Breaker\nproactive_resilience.circuit.C\npt.registry.R\n"
    )
    assert [
        (r.line, "autoplay_sdk.proactive.resilience.circuit" in r.message) for r in result.reviews
    ] == [(5, True)]


def test_a_parent_loaded_only_through_a_child_import_is_reported() -> None:
    # ``import a.proactive_resilience.circuit`` loaded ``a.proactive_resilience``; its new
    # home ``...resilience.resilience`` is a sibling of ``circuit``'s, which nothing loads now.
    result = rewrite(
        "import autoplay_sdk.proactive_resilience.circuit\nimport autoplay_sdk.serve.fastapi\n\n"
        "a = autoplay_sdk.proactive_resilience.Breaker\nb = autoplay_sdk.proactive_resilience.X\n"
        "c = autoplay_sdk.serve.app\n"
    )
    assert result.code == (
        b"import autoplay_sdk.proactive.resilience.circuit\nimport autoplay_sdk.api.fastapi\n\n"
        b"a = autoplay_sdk.proactive.resilience.resilience.Breaker\n"
        b"b = autoplay_sdk.proactive.resilience.resilience.X\n"
        b"c = autoplay_sdk.api.app\n"
    )
    assert [
        (r.line, "add `import autoplay_sdk.proactive.resilience.resilience`" in r.message)
        for r in result.reviews
    ] == [(4, True)]


def test_attribute_chains_need_the_root_imported() -> None:
    # ``autoplay_sdk`` here is a local variable, not the package: leave it.
    check_noop("autoplay_sdk = load()\nautoplay_sdk.models.run()\n")


# -- string references -----------------------------------------------------------------------


def test_string_targets_keep_their_quotes_and_prefixes() -> None:
    check_transformed(
        """\
        patch('autoplay_sdk.models.X')
        patch(target=r"autoplay_sdk.models.X")
        unittest.mock.patch('''autoplay_sdk.models.X''')
        mocker.patch.dict("autoplay_sdk.proactive_triggers.registry.REGISTRY", {})
        import_module(name="autoplay_sdk.serve")
        """,
        """\
        patch('autoplay_sdk.core.models.X')
        patch(target=r"autoplay_sdk.core.models.X")
        unittest.mock.patch('''autoplay_sdk.core.models.X''')
        mocker.patch.dict("autoplay_sdk.proactive.triggers.registry.REGISTRY", {})
        import_module(name="autoplay_sdk.api")
        """,
    )


def test_monkeypatch_and_patch_object_targets() -> None:
    check_transformed(
        """\
        import autoplay_sdk
        from autoplay_sdk import chat


        @mock.patch.object(autoplay_sdk.chatbot, "ConversationEvent")
        @patch.object(chat, attribute='ConversationEvent')
        def test(monkeypatch, m1, m2):
            monkeypatch.setattr("autoplay_sdk.context_store.ContextStore.get", None)
            monkeypatch.delattr(target="autoplay_sdk.chatbot.ConversationEvent")
            monkeypatch.setattr(chat, "ConversationEvent", None)
            monkeypatch.setattr(other, "ConversationEvent", None)
            mock.patch.object(other, "ConversationEvent")
            setattr(chat, "ConversationEvent", None)
        """,
        """\
        import autoplay_sdk
        from autoplay_sdk import chat


        @mock.patch.object(autoplay_sdk.chat.chatbot, "ConversationEventType")
        @patch.object(chat, attribute='ConversationEventType')
        def test(monkeypatch, m1, m2):
            monkeypatch.setattr("autoplay_sdk.context.context_store.ContextStore.get", None)
            monkeypatch.delattr(target="autoplay_sdk.chat.chatbot.ConversationEventType")
            monkeypatch.setattr(chat, "ConversationEventType", None)
            monkeypatch.setattr(other, "ConversationEvent", None)
            mock.patch.object(other, "ConversationEvent")
            setattr(chat, "ConversationEvent", None)
        """,
    )


def test_strings_outside_the_known_calls_are_left_alone() -> None:
    check_noop("""\
        LOG = "autoplay_sdk.models"
        print("autoplay_sdk.models.X")
        patch.object(thing, "models")
        patch(f"autoplay_sdk.models.{name}")
        patch(b"autoplay_sdk.models.X")
        patch("autoplay_sdk.models" + ".X")
        """)


def test_targets_built_at_run_time_are_reported_not_guessed() -> None:
    result = check_noop("""\
        patch(f"autoplay_sdk.models.{name}")
        importlib.import_module("autoplay_sdk." "chatbot")
        patch("autoplay_sdk.models" + ".X")
        patch(f"autoplay_sdk.core.models.{name}")
        patch(f"{base}.models.X")
        """)
    assert [(r.line, r.message.split("`")[1]) for r in result.reviews] == [
        (1, "autoplay_sdk.models"),
        (3, "autoplay_sdk.models"),
    ]


# -- the ConversationEvent rename ------------------------------------------------------------


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


# -- manual review ---------------------------------------------------------------------------


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


# -- byte-for-byte preservation --------------------------------------------------------------


def test_crlf_line_endings_stay_crlf() -> None:
    before = b"import os\r\nfrom autoplay_sdk import ActionsPayload, chatbot  # c\r\n\r\nx = 1\r\n"
    result = rewrite(before)
    assert result.code == (
        b"import os\r\nfrom autoplay_sdk import ActionsPayload  # c\r\n"
        b"from autoplay_sdk.chat import chatbot  # c\r\n\r\nx = 1\r\n"
    )


def test_a_file_with_bare_cr_line_ends_keeps_its_final_cr() -> None:
    before = b"import os\rimport autoplay_sdk.models\rx = autoplay_sdk.models.X\r"
    after = b"import os\rimport autoplay_sdk.core.models\rx = autoplay_sdk.core.models.X\r"
    assert rewrite(before).code == after
    # The libcst path too (a parameter shadowing a renamed name sends the file there).
    shadowed = b"from autoplay_sdk import ConversationEvent\rdef f(ConversationEvent): pass\r"
    assert rewrite_with_libcst(before + shadowed).code == after + (
        b"from autoplay_sdk import ConversationEventType\rdef f(ConversationEvent): pass\r"
    )


def test_encoding_declaration_and_non_utf8_bytes_are_kept() -> None:
    before = "# -*- coding: latin-1 -*-\n# café\nimport autoplay_sdk.models\nS = 'été'\n"
    result = rewrite(before.encode("latin-1"))
    assert result.code == before.replace("autoplay_sdk.models", "autoplay_sdk.core.models").encode(
        "latin-1"
    )


def test_a_file_without_legacy_references_comes_back_identical() -> None:
    source = b"\xef\xbb\xbf# BOM and tabs\nimport autoplay_sdk\n\tif x:\n pass\n"
    with pytest.raises(ParseFailure):
        rewrite(source)  # inconsistent indentation: a syntax error, raised, not "fixed"
    fine = b"\xef\xbb\xbf# BOM\nimport autoplay_sdk  \nx  =  ( 1 ,\n  2 )\n"
    assert rewrite(fine).code == fine


# -- the fast path (statements ``ast`` proves irrelevant are not entered) ----------------------


def test_newer_syntax_than_this_python_takes_the_full_path() -> None:
    # ``type`` statements are Python 3.12: ``ast`` here rejects them, libcst does not.
    result = rewrite("type Alias = int\nimport autoplay_sdk.models\n")
    assert result.code == b"type Alias = int\nimport autoplay_sdk.core.models\n"
    assert rewrite(result.code).changes == 0


def test_semicolon_groups_and_nested_scopes_are_still_found() -> None:
    check_transformed(
        """\
        import os; x = (1,
            2); import autoplay_sdk
        y = 1; z = 2


        class A:
            other = os.path

            def f(self):
                return autoplay_sdk.models.X


        def g():
            from autoplay_sdk import ConversationEvent
        """,
        """\
        import os; x = (1,
            2); import autoplay_sdk
        y = 1; z = 2


        class A:
            other = os.path

            def f(self):
                return autoplay_sdk.core.models.X


        def g():
            from autoplay_sdk import ConversationEventType
        """,
    )


# -- properties over random mixtures of rows and forms ---------------------------------------

# What a migrated file still imports: canonical paths, and modules left for a manual port.
STAYS = (Verdict.UNCHANGED, Verdict.MANUAL)

_FORMS = (
    "import {old}\n",
    "import {old} as alias_{n}\n",
    "from {parent} import {last}  # why\n",
    "from {parent} import (\n    {last},  # a comment\n    ActionsPayload,\n)\n",
    "from {old} import Thing as T{n}, other\n",
    "def f_{n}():\n    import {old}\n    return {old}.Thing\n",
    "if TYPE_CHECKING:\n    from {old} import Thing\n",
    "@mock.patch('{old}.Thing')\ndef test_{n}(m):\n    importlib.import_module(\"{old}\")\n",
    "from autoplay_sdk import ConversationEvent\nE{n} = ConversationEvent.NEW\n",
)


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(ROWS), st.sampled_from(_FORMS)), min_size=1, max_size=8
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_mixture_migrates_completely_and_stably(
    picks: list[tuple[tuple[str, str], str]], newline: str
) -> None:
    parts = []
    for n, ((old, _), form) in enumerate(picks):
        parent, _, last = old.rpartition(".")
        parts.append(form.format(old=old, parent=parent, last=last, n=n))
    source = "\n".join(parts).replace("\n", newline).encode()
    result = rewrite(source)
    assert rewrite(result.code).code == result.code
    tree = ast.parse(result.code)
    table = ImportMap()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(table.module(a.name).verdict in STAYS for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.module is not None
            assert table.module(node.module).verdict in STAYS
            for alias in node.names:
                assert table.exact(f"{node.module}.{alias.name}") is None
                assert alias.name != "ConversationEvent"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert table.longest_prefix(node.value) is None
    assert all(r.kind == "port" for r in result.reviews)
    # Line endings never mix: every newline keeps the file's style.
    if newline == "\r\n":
        assert result.code.count(b"\n") == result.code.count(b"\r\n")
    if newline == "\r":
        assert b"\n" not in result.code and result.code.endswith(b"\r")


def test_parenthesised_chains_are_rewritten_and_keep_their_parentheses() -> None:
    check_transformed(
        "import autoplay_sdk.models\nx = (autoplay_sdk.models.X)\n"
        "y = (\n    autoplay_sdk.models\n)\n",
        "import autoplay_sdk.core.models\nx = (autoplay_sdk.core.models.X)\n"
        "y = (\n    autoplay_sdk.core.models\n)\n",
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


# -- libcst's own reprinting never leaks into untouched lines --------------------------------


def test_constructs_libcst_reprints_are_kept_as_written() -> None:
    # libcst prints ``except OSError :`` as ``except OSError:``; the rewrite must not.
    check_transformed(
        """\
        import autoplay_sdk.models
        try:
            pass
        except OSError :
            autoplay_sdk.models.X()
        except (KeyError, ValueError) :  # both
            pass
        """,
        """\
        import autoplay_sdk.core.models
        try:
            pass
        except OSError :
            autoplay_sdk.core.models.X()
        except (KeyError, ValueError) :  # both
            pass
        """,
    )


def test_line_changes_are_carried_onto_the_original_bytes() -> None:
    source = b"a = 1\nb  =  2\nc = 3\n"
    reprinted = b"a = 1\nb = 2\nc = 3\n"
    rewritten = b"a = 10\nb = 2\nnew = 0\nc = 3\n"
    assert apply_onto_original(source, reprinted, rewritten) == b"a = 10\nb  =  2\nnew = 0\nc = 3\n"
    with pytest.raises(RoundTripError, match="2 lines instead of 3"):
        apply_onto_original(source, b"a = 1\nb = 2; c = 3\n", rewritten)
