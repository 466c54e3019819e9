"""Attribute chains through an import (fixers/chains.py).

Every rewrite is also checked against the libcst reference implementation.
"""

from __future__ import annotations

from tests.codemods.rewriting import check_noop, check_transformed, rewrite


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


def test_parenthesised_chains_are_rewritten_and_keep_their_parentheses() -> None:
    check_transformed(
        "import autoplay_sdk.models\nx = (autoplay_sdk.models.X)\n"
        "y = (\n    autoplay_sdk.models\n)\n",
        "import autoplay_sdk.core.models\nx = (autoplay_sdk.core.models.X)\n"
        "y = (\n    autoplay_sdk.core.models\n)\n",
    )
