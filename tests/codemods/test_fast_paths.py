"""The shortcuts of the rewrite against the slow ways they replace, on generated input.

Decoding without the encoding detector, line starts without a regex, the whole-word scan,
the call pre-check, the import map's remembered answers and the sized read must each give
exactly what the general way gives.
"""

from __future__ import annotations

import codecs
import io
import os
import random
import re
import tokenize
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.engine import _lines_naming
from autoplay_cli.codemods.fixers.calls import _LAST_PARTS, rule_for
from autoplay_cli.codemods.mapping import _CACHE_LIMIT, ImportMap
from autoplay_cli.codemods.migration import _read_all
from autoplay_cli.codemods.source import SourceText

# -- decoding ---------------------------------------------------------------------------------

_HEADS = [
    b"",
    b"# -*- coding: latin-1 -*-\n",
    b"#!/usr/bin/env python\n# coding=utf-8\n",
    b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n",
    b"x = 1\n# coding: latin-1\n",  # a declaration after code does not count
    b"\n\n# coding: latin-1\n",  # nor on the third line
    codecs.BOM_UTF8,
    b"# no declaration, but the word: encoding\n",
    b"# coding: latin-1\r",  # a CR-only line end
]
_BODIES = [
    "import autoplay_sdk.models\n",
    "caf\u00e9 = 'd\u00e9j\u00e0 vu'\r\n",
    "x = 1\ry = 2\r\n\n",
    "s = '\u00ff'\n",
    "",
    "a = 1",  # no line end at all
]


def _reference(source: bytes) -> tuple[str, str, list[int]]:
    """The general way: tokenize's detector, then a regex for every line break."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    text = source.decode(encoding)
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return text, encoding, starts


@settings(max_examples=300, deadline=None)
@given(
    head=st.sampled_from(_HEADS),
    bodies=st.lists(st.sampled_from(_BODIES), max_size=6),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
)
def test_decoding_gives_what_the_detector_and_the_regex_give(
    head: bytes, bodies: list[str], encoding: str
) -> None:
    source = head + "".join(bodies).encode(encoding)
    try:
        expected = _reference(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return  # the shortcut must fail too: checked below
    decoded = SourceText.decode(source)
    assert (decoded.text, decoded.encoding, decoded.line_starts) == expected


def test_undecodable_source_is_refused_with_or_without_the_shortcut() -> None:
    from autoplay_cli.codemods.source import Unsupported

    for source in (b"x = '\xff'\n", b"# coding: latin-1\nx = '\xff'\n\x81"):
        try:
            _reference(source)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            refused = True
        else:
            refused = False
        try:
            SourceText.decode(source)
        except Unsupported:
            assert refused
        else:
            assert not refused


# -- the whole-word scan ----------------------------------------------------------------------


def _is_word_char(char: str) -> bool:
    return (char.isascii() and (char.isalnum() or char == "_")) or (
        not char.isascii() and char.isidentifier()
    )


def _lines_naming_slowly(text: str, names: list[str]) -> list[int]:
    found = set()
    for name in names:
        for start in range(len(text)):
            if not text.startswith(name, start):
                continue
            before = text[start - 1] if start else " "
            end = start + len(name)
            after = text[end] if end < len(text) else " "
            if not _is_word_char(before) and not _is_word_char(after):
                found.add(text.count("\n", 0, start) + 1)
    return sorted(found)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.sampled_from(
            ["sdk", "autoplay_sdk", "_", ".", " ", "\n", "\u00e9", "\u00b2", "x", "(", "1", "#"]
        ),
        max_size=40,
    )
)
def test_the_word_scan_finds_the_lines_a_character_by_character_scan_finds(
    pieces: list[str],
) -> None:
    text = "".join(pieces)
    source = SourceText.decode(text.encode())
    roots = _lines_naming(source, ["autoplay_sdk"])
    assert roots == _lines_naming_slowly(text, ["autoplay_sdk"])
    both = _lines_naming(source, ["sdk"], also=roots)
    assert both == _lines_naming_slowly(text, ["autoplay_sdk", "sdk"])


# -- calls ------------------------------------------------------------------------------------


def test_every_callee_a_rule_takes_passes_the_pre_check() -> None:
    rng = random.Random(3)
    words = ["patch", "dict", "object", "multiple", "setattr", "delattr", "import_module"]
    words += ["__import__", "mock", "monkeypatch", "importlib", "x", "unittest"]
    taken = 0
    for _ in range(5000):
        callee = ".".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        if rule_for(callee) is not None:
            taken += 1
            assert callee.rpartition(".")[2] in _LAST_PARTS, callee
    assert taken > 1000  # the sample reaches the rules


# -- the import map ---------------------------------------------------------------------------

_PATHS = [old for old, _ in import_map.MODULE_MOVES] + [
    "autoplay_sdk",
    "autoplay_sdk.core.models",
    "autoplay_sdk.models.ActionsPayload",
    "autoplay_sdk.agent_states.anything.deeper",
    "autoplay_sdk.rag_query.unknown",
    "os.path",
    "autoplay_sdkx.models",
]


def test_remembered_answers_equal_fresh_ones() -> None:
    warm = ImportMap()
    for _ in range(3):  # asked again: from the cache
        for path in _PATHS:
            assert warm.longest_prefix(path) == ImportMap().longest_prefix(path)
            assert warm.module(path) == ImportMap().module(path)


def test_the_import_map_remembers_a_bounded_number_of_paths() -> None:
    table = ImportMap()
    for index in range(_CACHE_LIMIT + 500):
        path = f"autoplay_sdk.models.n{index}"
        hit = table.longest_prefix(path)
        assert hit is not None and hit.rewritten == f"autoplay_sdk.core.models.n{index}"
        table.module(path)
    assert len(table._prefix_cache) == _CACHE_LIMIT
    assert len(table._module_cache) == _CACHE_LIMIT


# -- reading ----------------------------------------------------------------------------------


def test_a_read_sized_by_an_old_stat_still_gets_the_whole_file(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "f.py"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        # A size taken before the file grew: the read goes on to the end.
        assert _read_all(fd, 10, 10**9) == data
        os.lseek(fd, 0, os.SEEK_SET)
        assert _read_all(fd, len(data), 10**9) == data
        os.lseek(fd, 0, os.SEEK_SET)
        assert _read_all(fd, 10, 1000) == data[:1000]  # never past the limit
    finally:
        os.close(fd)
