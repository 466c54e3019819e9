"""The one loader: decode, convert into a declared type, and name file, line and key path."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pytest
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import (
    FINITE,
    Document,
    decode_text,
    load_document,
    locate_line,
    read_document,
    render_path,
)
from autoplay_cli.errors import InputError, SnapshotError


class Item(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    weight: Annotated[float, Meta(ge=0, description="a weight in kilograms ≥ 0")] = 0.0
    count: Annotated[int, Meta(ge=1)] = 1
    ratio: Annotated[float, FINITE] = 0.0
    note: str | UnsetType = UNSET


class Doc(msgspec.Struct, forbid_unknown_fields=True):
    name: str = ""
    items: list[Item] = []
    groups: dict[str, list[int]] = {}


def toml(text: str) -> Document:
    return decode_text(text, source="d.toml", toml=True)


def json_doc(text: str) -> Document:
    return decode_text(text, source="d.json", toml=False)


def error_of(doc: Document, type_: Any = Doc) -> InputError:
    with pytest.raises(InputError) as info:
        doc.load(type_)
    return info.value


def test_a_valid_document_converts() -> None:
    doc = toml("name = 'n'\n[[items]]\nid = 'a'\nweight = 2\n")
    assert doc.load(Doc) == Doc(name="n", items=[Item(id="a", weight=2.0)])


def test_unknown_key_names_line_path_and_the_allowed_keys() -> None:
    err = error_of(toml("name = 'n'\n\n[[items]]\nid = 'a'\n[[items]]\nid = 'b'\nwieght = 3\n"))
    assert err.message == "d.toml:7: items[1].wieght: unknown key"
    assert err.hint == "allowed here: count, id, note, ratio, weight"


def test_missing_key_names_the_table_it_belongs_to() -> None:
    err = error_of(toml("[[items]]\nid = 'a'\n[[items]]\nweight = 1\n"))
    assert err.message == "d.toml:3: items[1]: missing 'id'"


def test_wrong_type_uses_the_declared_description_and_shows_the_value() -> None:
    err = error_of(json_doc('{\n  "items": [\n    {"id": "a", "weight": -1}\n  ]\n}'))
    assert err.message == "d.json:3: items[0].weight: expected a weight in kilograms ≥ 0, got -1"


def test_constraint_without_description_is_spelled_out() -> None:
    err = error_of(json_doc('{"items": [{"id": "a", "count": 0}]}'))
    assert err.message == "d.json:1: items[0].count: expected a whole number ≥ 1, got 0"
    err = error_of(json_doc('{"items": [{"id": "a", "count": "2"}]}'))
    assert err.message == "d.json:1: items[0].count: expected a whole number ≥ 1, got '2'"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_finite_refuses_nan_and_infinity(value: float) -> None:
    doc = Document({"items": [{"id": "a", "ratio": value}]}, source="<data>")
    err = error_of(doc)
    assert err.message.startswith("<data>: items[0].ratio: expected a finite number, got ")


def test_unset_fields_refuse_null() -> None:
    err = error_of(Document({"items": [{"id": "a", "note": None}]}, source="<data>"))
    assert err.message == "<data>: items[0].note: expected a string, got null"


def test_a_single_mapping_key_hidden_by_msgspec_is_filled_in() -> None:
    err = error_of(json_doc('{"groups": {\n"g1": [1, "x"]}}'))
    assert err.message == "d.json:2: groups.g1[1]: expected a whole number, got 'x'"


def test_a_mapping_key_msgspec_hides_is_found_again() -> None:
    err = error_of(Document({"groups": {"a": [1], "b": ["x"], "c": [2]}}, source="<data>"))
    assert err.message == "<data>: groups.b[0]: expected a whole number, got 'x'"
    # The first bad entry is named, as msgspec stops there.
    err = error_of(Document({"groups": {"a": ["y"], "b": ["x"]}}, source="<data>"))
    assert err.message == "<data>: groups.a[0]: expected a whole number, got 'y'"


def test_the_wrong_top_level() -> None:
    err = error_of(json_doc("[1]"))
    assert err.message == "d.json: expected a table/object, got a list"


class Shape(StrEnum):
    ROUND = "round"
    SQUARE = "square"


class Choice(msgspec.Struct):
    shape: Shape
    size: Literal["s", "m"] | None = None
    code: str | None = None
    at: Annotated[float, FINITE] | None = None
    tag: Annotated[str, Meta(description="a tag")] | None = None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"shape": "oval"}, "shape: expected one of round, square, got 'oval'"),
        ({"shape": None}, "shape: expected one of round, square, got null"),
        ({"shape": "round", "size": "xl"}, "size: expected one of m, s, null, got 'xl'"),
        ({"shape": "round", "code": 5}, "code: expected a string or null, got 5"),
        ({}, "missing 'shape'"),
        ({"shape": "round", "at": math.inf}, "at: expected a finite number or null, got inf"),
        ({"shape": "round", "at": "x"}, "at: expected a finite number or null, got 'x'"),
        ({"shape": "round", "tag": 1}, "tag: expected a tag or null, got 1"),
    ],
)
def test_choices_and_unions_are_spelled_out(data: dict[str, Any], message: str) -> None:
    assert error_of(Document(data, source="<data>"), Choice).message == f"<data>: {message}"


class Credentials(msgspec.Struct):
    key: Annotated[str, Meta(pattern="^uk_", extra={"secret": True})] | None = None


def test_a_secret_value_is_never_shown() -> None:
    for value, kind in (("sk_live_abcdef", "a string"), (123456789, "a whole number")):
        err = error_of(Document({"key": value}, source="<data>"), Credentials)
        assert str(value) not in err.message
        assert err.message.startswith("<data>: key: expected ")
        assert err.message.endswith(f"got {kind}")


def test_data_without_text_has_no_line() -> None:
    err = error_of(Document({"nmae": 1}, source="<data>"))
    assert err.message == "<data>: nmae: unknown key"


def test_error_class_is_kept() -> None:
    doc = Document({"items": 3}, source="snap", error_class=SnapshotError)
    with pytest.raises(SnapshotError, match=r"^snap: items: expected a list, got 3$"):
        doc.load(Doc)


def test_custom_error_at_a_path_gets_its_line() -> None:
    doc = toml("[[items]]\nid = 'a'\n[[items]]\nid = 'a'\n")
    err = doc.error(("items", 1, "id"), "duplicate id 'a'", hint="ids are unique")
    assert (err.message, err.hint) == ("d.toml:4: items[1].id: duplicate id 'a'", "ids are unique")


def test_convert_at_a_path_prefixes_the_errors() -> None:
    doc = json_doc('{"outer": {\n  "inner": {"id": 5}}}')
    with pytest.raises(
        InputError, match=r"^d\.json:2: outer\.inner\.id: expected a string, got 5$"
    ):
        doc.convert(doc.data["outer"]["inner"], Item, ("outer", "inner"))


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ("a = 1\nb = 2\n", ("b",), 2),
        ("[t.u]\nx = 1\n[v]\nx = 2\n", ("v", "x"), 4),
        ("[t.u]\nx = 1\n", ("t", "u"), 1),
        ("[[l]]\nk = 1\n[[l]]\nk = 2\n[[l]]\nk = 3\n", ("l", 2, "k"), 6),
        ("[[l]]\nk = 1\n[[l]]\nk = 2\n", ("l", 1), 3),
        ('{\n "a": {\n  "b": [\n   {"c": 1},\n   {"c": 2}\n  ]\n }\n}', ("a", "b", 1, "c"), 5),
        ('{"a": "b",\n"b": 1}', ("b",), 2),  # a value spelled like the key is not the key
        ("x = 1\n", ("nothing",), None),
        ("[t]\nx = 1\n", ("t", "gone"), 1),  # the enclosing table when a key is not found
    ],
)
def test_locate_line(text: str, path: tuple[str | int, ...], line: int | None) -> None:
    assert locate_line(text, path) == line


def test_render_path() -> None:
    assert render_path(()) == ""
    assert render_path(("a", 0, "b", "c", 2)) == "a[0].b.c[2]"


def test_read_document_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"widget file .*none\.toml does not exist"):
        read_document(tmp_path / "none.toml", what="widget file")
    (tmp_path / "bad.toml").write_text("a = 1\nb = \n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"bad\.toml:2:5: not valid TOML \(Invalid value\)$"
    ) as info:
        read_document(tmp_path / "bad.toml", what="widget file")
    assert info.value.hint == "fix the TOML syntax"
    (tmp_path / "bad.json").write_text('{"a":\n}', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json:2:1: not valid JSON"):
        read_document(tmp_path / "bad.json", what="widget file")
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(InputError, match=r"cannot read widget file .*latin\.json"):
        read_document(tmp_path / "latin.json", what="widget file")


@pytest.mark.parametrize("name", ["deep.json", "deep.toml"])
def test_too_deep_to_decode(tmp_path: Path, name: str) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    (tmp_path / name).write_text(nested if name.endswith("json") else f"a = {nested}")
    with pytest.raises(InputError, match=r"nested too deeply to read"):
        read_document(tmp_path / name, what="widget file", error_class=SnapshotError)


class Node(msgspec.Struct):
    children: list[Node] = []


def test_too_deep_to_convert() -> None:
    data: dict[str, Any] = {"children": []}
    node = data
    for _ in range(100_000):
        child: dict[str, Any] = {"children": []}
        node["children"].append(child)
        node = child
    with pytest.raises(InputError, match=r"^<data>: nested too deeply to read$"):
        Document(data, source="<data>").load(Node)


def test_load_document(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text('{"name": "n"}', encoding="utf-8")
    assert load_document(tmp_path / "d.json", Doc, what="doc") == Doc(name="n")


def test_a_long_value_is_cut() -> None:
    err = error_of(Document({"items": [{"id": "y" * 500, "count": "z" * 500}]}, source="<data>"))
    assert (
        err.message == f"<data>: items[0].count: expected a whole number ≥ 1, got '{'z' * 55}...'"
    )
