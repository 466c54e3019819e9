"""Uses of ``autoplay_sdk.agent_states``: reported for a manual port, never rewritten.

Its listed home, ``agent_state.v1``, ships in no SDK release after 0.7.4.
"""

from __future__ import annotations

import textwrap

from tests.codemods.rewriting import rewrite


def ports(source: str) -> list[int]:
    source = textwrap.dedent(source)
    result = rewrite(source)
    assert b"agent_state.v1" not in result.code  # never a rewrite to the dead path
    return [r.line for r in result.reviews if r.kind == "port"]


def test_every_form_that_names_agent_states_is_reported_by_line_and_left_alone() -> None:
    source = textwrap.dedent("""\
        import os
        import autoplay_sdk.agent_states
        import autoplay_sdk.agent_states.state_machine as sm
        from autoplay_sdk.agent_states.types import StateName
        from autoplay_sdk import agent_states
        from autoplay_sdk.agent_states import AgentState
        import autoplay_sdk as sdk
        sdk.agent_states.AgentState
        mock.patch("autoplay_sdk.agent_states.types.StateName")
        importlib.import_module("autoplay_sdk.agent_states")
        """)
    result = rewrite(source)
    assert result.code == source.encode()
    assert [r.line for r in result.reviews if r.kind == "port"] == [2, 3, 4, 5, 6, 8, 9, 10]
    message = result.reviews[0].message
    assert "`autoplay_sdk.agent_states`" in message and "after 0.7.4" in message
    assert "`autoplay_sdk.agent_state.v2`" in message and "docs/migrate-imports.md" in message


def test_a_row_under_agent_states_with_a_live_home_still_moves() -> None:
    result = rewrite(
        "from autoplay_sdk.agent_states import proactive_idle_expiry\n"
        "import autoplay_sdk.agent_states.proactive_idle_expiry\n"
    )
    assert result.code == (
        b"from autoplay_sdk.proactive.state import idle_expiry as proactive_idle_expiry\n"
        b"import autoplay_sdk.proactive.state.idle_expiry\n"
    )
    assert result.reviews == []


def test_a_chain_through_an_import_of_agent_states_is_covered_by_that_import() -> None:
    assert ports("""\
        from autoplay_sdk import agent_states
        agent_states.AgentState
        agent_states.state_machine.run()
        """) == [1]


def test_prose_that_mentions_agent_states_is_not_reported() -> None:
    assert (
        ports('''\
        """Ported from autoplay_sdk.agent_states to the v2 state machine."""
        import autoplay_sdk.agent_state.v2.session_state
        ''')
        == []
    )
