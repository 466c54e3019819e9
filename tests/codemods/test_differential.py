"""The splicing fixers against the libcst reference rewriter, on generated modules.

Every import form, chain, rename and string target, in random mixtures, indented or not,
with each line-ending style: the two must agree byte for byte, in counts and in reviews.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.engine import rewrite_source
from tests.codemods.rewriting import assert_same_as_libcst

ROWS = [row for row in import_map.MODULE_MOVES if row[0] not in import_map.MANUAL_PORTS]

FORMS = (
    "import {old}\n",
    "import {old} as alias_{n}\n",
    "import os, {old}, {other} as other_{n}\n",
    "from {parent} import {last}  # why\n",
    "from {parent} import {last} as mod_{n}\n",
    "from {parent} import (\n    {last},  # a comment\n    ActionsPayload,\n)\n",
    "from {parent} import (  # opened\n    ActionsPayload,\n    # between\n    {last},\n)\n",
    "from {parent} import ActionsPayload, {last}, Other  # noqa: F401\n",
    "from {old} import Thing as T{n}, other\n",
    "from {old} import *\n",
    "from autoplay_sdk import chatbot, models, ActionsPayload\n",
    "from autoplay_sdk import (\n    serve,\n    ConversationEvent,\n    summarizer,\n)\n",
    "def f_{n}():\n    import {old}\n    return {old}.Thing\n",
    "if TYPE_CHECKING:\n    from {old} import Thing\n",
    "@mock.patch('{old}.Thing')\ndef test_{n}(m):\n    importlib.import_module(\"{old}\")\n",
    'monkeypatch.setattr("{old}.X", None)\nmock.patch.dict("{old}.D", {{}})\n',
    'patch(f"{old}.{{name}}")\npatch("{old}" + ".X")\n',
    "from autoplay_sdk import ConversationEvent\nE{n} = ConversationEvent.NEW\n",
    '__all__ = ["ConversationEvent"]\n__all__.append("ConversationEvent")\n',
    "def g_{n}(p: \"{old}.Thing\") -> 'ConversationEvent':\n    pass\n",
    "import autoplay_sdk as sdk\nsdk.{word}.X\nsdk.ConversationEvent.NEW\n",
    "import autoplay_sdk\nautoplay_sdk.{word}.X\nx = (autoplay_sdk.{word})\n",
    'mock.patch.object(sdk, "ConversationEvent")\n',
    "class C_{n}:\n    def m(self):\n        from {parent} import {last}, ActionsPayload\n",
    "x_{n} = {{'a': 1}}  # unrelated code\nprint(x_{n})\n",
)


def _module(picks: list[tuple[tuple[str, str], str]], newline: str) -> bytes:
    parts = []
    rng = random.Random(len(picks))
    for n, ((old, _), form) in enumerate(picks):
        parent, _, last = old.rpartition(".")
        other = rng.choice(ROWS)[0]
        word = old.split(".")[1]
        parts.append(form.format(old=old, parent=parent, last=last, n=n, other=other, word=word))
    return "\n".join(parts).replace("\n", newline).encode()


@settings(max_examples=150, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(ROWS), st.sampled_from(FORMS)), min_size=1, max_size=10
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_the_fixers_agree_with_libcst_on_any_mixture(
    picks: list[tuple[tuple[str, str], str]], newline: str
) -> None:
    source = _module(picks, newline)
    assert_same_as_libcst(source, rewrite_source(source))


def test_the_fixers_take_nearly_every_generated_module() -> None:
    # The comparison above means little if the fixers hand most files to libcst.
    rng = random.Random(5)
    taken = 0
    for _ in range(200):
        picks = [(rng.choice(ROWS), rng.choice(FORMS)) for _ in range(rng.randint(1, 10))]
        source = _module(picks, rng.choice(["\n", "\r\n"]))
        taken += assert_same_as_libcst(source, rewrite_source(source))
    # Files left to libcst: a renamed name beside a star import, or one imported twice.
    assert taken >= 140, taken
