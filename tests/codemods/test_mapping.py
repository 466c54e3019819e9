"""Lookups: whole dotted components, longest prefix first, unnamed submodules flagged."""

from __future__ import annotations

import pytest

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.mapping import ImportMap, Verdict

TABLE = ImportMap()


LIVE_ROWS = [row for row in import_map.MODULE_MOVES if row[0] not in import_map.MANUAL_PORTS]


@pytest.mark.parametrize(("old", "new"), LIVE_ROWS, ids=[o for o, _ in LIVE_ROWS])
def test_every_row_resolves_to_its_own_target(old: str, new: str) -> None:
    resolution = TABLE.module(old)
    assert (resolution.verdict, resolution.new) == (Verdict.MOVED, new)
    hit = TABLE.longest_prefix(old + ".Thing")
    assert hit is not None and hit.rewritten == new + ".Thing"


def test_a_nested_row_beats_its_parent() -> None:
    hit = TABLE.longest_prefix("autoplay_sdk.agent_states.proactive_idle_expiry.run")
    assert hit is not None
    assert hit.old == "autoplay_sdk.agent_states.proactive_idle_expiry"
    assert hit.rewritten == "autoplay_sdk.proactive.state.idle_expiry.run"


def test_an_unnamed_submodule_of_a_legacy_module_is_not_guessed() -> None:
    resolution = TABLE.module("autoplay_sdk.rag_query.something_new")
    assert resolution.verdict is Verdict.UNNAMED
    assert resolution.legacy_parent == "autoplay_sdk.rag_query"
    assert resolution.new is None


@pytest.mark.parametrize("old", import_map.MANUAL_PORTS)
def test_rows_whose_home_is_gone_are_a_manual_port_not_a_rewrite(old: str) -> None:
    # ``agent_state.v1`` ships in no SDK release after 0.7.4: never rewrite to it.
    for path in (old, old + ".Thing", "autoplay_sdk.agent_states.brand_new"):
        resolution = TABLE.module(path)
        assert resolution.verdict is Verdict.MANUAL and resolution.new is None
        assert TABLE.longest_prefix(path) is None
        assert TABLE.manual_port(path) == "autoplay_sdk.agent_states"
    # A row below them with a live home still moves.
    assert TABLE.manual_port("autoplay_sdk.agent_states.proactive_idle_expiry.X") is None
    assert TABLE.module("autoplay_sdk.agent_states.proactive_idle_expiry").verdict is Verdict.MOVED


def test_prefix_matching_respects_component_boundaries() -> None:
    assert TABLE.longest_prefix("autoplay_sdk.context_storex") is None
    assert TABLE.longest_prefix("autoplay_sdk.context_store_v2.x") is None
    assert TABLE.module("autoplay_sdk.context_store").new == "autoplay_sdk.context.context_store"


def test_duplicate_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        ImportMap(
            moves=(("autoplay_sdk.a", "autoplay_sdk.b"), ("autoplay_sdk.a", "autoplay_sdk.c"))
        )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"import autoplay_sdk.models\n", True),
        (b"from autoplay_sdk import (\n    chatbot,\n)\n", True),
        (b"from autoplay_sdk import ConversationEvent\n", True),
        (b"from autoplay_sdk import ConversationEventType\n", False),
        (b"from autoplay_sdk.rag import query\n", False),
        (b"import models  # no sdk here\n", False),
        (b"", False),
        # Canonical files name legacy words deeper down: they need no parse at all.
        (
            b"from autoplay_sdk import ActionsPayload\nfrom autoplay_sdk.core.models import X\n"
            b"import autoplay_sdk.chat.chatbot\nautoplay_sdk.chat.chatbot.run()\n",
            False,
        ),
        (b"import autoplay_sdk as sdk\nsdk.core.models.X\n", False),
        (b"import autoplay_sdk as sdk\nsdk.models.X\n", True),
        (b"import os, autoplay_sdk as sdk\nsdk . chatbot.X\n", True),
        (b"x = autoplay_sdk.\\\n    models.X\n", True),
        (b"from autoplay_sdk import (  # see (below)\n    models,\n)\n", True),
        (b"from autoplay_sdk import ActionsPayload, \\\n    chatbot\n", True),
        (b"from autoplay_sdk import ActionsPayload\nmodels = 1\n", False),
        (b"from autoplay_sdk import agent_states\n", True),
        (b'mock.patch("autoplay_sdk.agent_states.X")\n', True),
    ],
)
def test_the_byte_scan_keeps_exactly_the_files_that_may_need_work(
    source: bytes, expected: bool
) -> None:
    assert TABLE.may_need_work(source) is expected


@pytest.mark.parametrize("old", [o for o, _ in import_map.MODULE_MOVES])
def test_the_byte_scan_never_drops_a_legacy_row(old: str) -> None:
    parent, _, last = old.rpartition(".")
    assert TABLE.may_need_work(f"import {old}\n".encode())
    assert TABLE.may_need_work(f"from {parent} import (\n    {last},\n)\n".encode())
