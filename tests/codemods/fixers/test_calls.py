"""Patch and import targets, by the table of call names (fixers/calls.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

import pytest

from autoplay_cli.codemods.fixers.calls import rule_for
from tests.codemods.rewriting import IDS, ROWS, check_noop, check_transformed


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


@pytest.mark.parametrize(
    ("callee", "kind"),
    [
        ("import_module", "module"),
        ("importlib.import_module", "module"),
        ("__import__", "module"),
        ("patch", "attr"),
        ("mock.patch", "attr"),
        ("unittest.mock.patch.dict", "attr"),
        ("mocker.patch.multiple", "attr"),
        ("monkeypatch.setattr", "setattr"),
        ("monkeypatch.delattr", "setattr"),
        ("patch.object", "object"),
        ("mock.patch.object", "object"),
        ("setattr", None),  # the builtin sets an attribute on an object, not a path
        ("builtins.__import__", None),
        ("patcher", None),
        ("my_patch", None),
    ],
)
def test_the_call_table_matches_callees_by_their_dotted_name(callee: str, kind: str | None) -> None:
    rule = rule_for(callee)
    assert (rule.kind if rule is not None else None) == kind
