"""The engine: bytes kept as they were, the libcst path where the fixers stop, properties.

Every rewrite here is also checked against the libcst reference implementation.
"""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.codemods.bindings import ParseFailure
from autoplay_cli.codemods.engine import rewrite_by_splicing, rewrite_source
from autoplay_cli.codemods.mapping import ImportMap, Verdict
from autoplay_cli.codemods.rewriter import (
    RoundTripError,
    apply_onto_original,
)
from autoplay_cli.codemods.rewriter import rewrite_source as rewrite_with_libcst
from autoplay_cli.codemods.source import Unsupported
from tests.codemods.rewriting import ROWS, check_transformed, rewrite

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


def test_type_statements_migrate_on_every_supported_python() -> None:
    # ``type`` statements are Python 3.12: on 3.11 ``ast`` rejects them and the libcst
    # path takes the file, from 3.12 the fixers do; the result is the same.
    result = rewrite("type Alias = int\nimport autoplay_sdk.models\n")
    assert result.code == b"type Alias = int\nimport autoplay_sdk.core.models\n"
    assert rewrite(result.code).changes == 0


@pytest.mark.parametrize(
    "source",
    [
        # Scopes decide which uses are the import's.
        "from autoplay_sdk import ConversationEvent\ndef f(ConversationEvent): pass\n",
        "from autoplay_sdk import ConversationEvent\nglobal ConversationEvent\n",
        # A renamed name may come from the star import.
        "from autoplay_sdk.chatbot import *\nConversationEvent.NEW\n",
        # libcst drops the second of two names that become one.
        "from autoplay_sdk import ConversationEvent, ConversationEventType\n",
        # A chain spelled with spaces: libcst respells it whole.
        "import autoplay_sdk\nautoplay_sdk . models.X\n",
        # In an f-string, positions differ across Python versions.
        "from autoplay_sdk import ConversationEvent\nf'{ConversationEvent.NEW}'\n",
    ],
)
def test_what_the_fixers_do_not_handle_goes_to_the_libcst_path(source: str) -> None:
    with pytest.raises(Unsupported):
        rewrite_by_splicing(source.encode())
    result = rewrite_source(source.encode())
    assert result.code == rewrite_with_libcst(source.encode()).code


def test_deeply_nested_code_is_rewritten_without_recursion() -> None:
    # Thousands of concatenated strings and a deep expression: the walk is iterative.
    parts = "".join(f'    "part {i}"\n' for i in range(3000))
    deep = "x = " + "(" * 150 + "autoplay_sdk.models.X" + ")" * 150 + "\n"
    source = f"import autoplay_sdk.models\nTEXT = (\n{parts})\n{deep}".encode()
    result = rewrite_by_splicing(source)
    assert result.code == source.replace(b"autoplay_sdk.models", b"autoplay_sdk.core.models")


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
