"""The one loader of input documents: read, decode and convert into a declared msgspec type.

Every parse or validation failure becomes one :class:`~autoplay_cli.errors.InputError`
naming the file, the line where the text shows it, and the key path of the mistake.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec
import msgspec.inspect
from msgspec import Meta

from autoplay_cli.errors import InputError

T = TypeVar("T")
KeyPath = tuple[str | int, ...]

# A float constraint that refuses NaN and ±inf: msgspec compares with negated tests,
# so NaN fails every bound, and the infinities fail these two.
FINITE = Meta(ge=-sys.float_info.max, le=sys.float_info.max)

_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_EXPECTED = re.compile(r"^Expected `(?P<type>[^`]+)`(?P<rest>.*)$", re.S)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_INVALID_VALUE = re.compile(r"^Invalid enum value ")
_INVALID_TAG = re.compile(r"^Invalid value (?P<value>.*)$", re.S)
_TYPE_WORDS = {
    "object": "a table/object",
    "array": "a list",
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
}


def render_path(path: KeyPath) -> str:
    """``triggers.user_page_dwell.chips[0].id`` for a key path (empty for the root)."""
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def describe(value: Any) -> str:
    """A short, safe description of a value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, str | bool | int | float):
        shown = repr(value)
        # One line stays one line: a long value is cut, not printed whole.
        return shown if len(shown) <= 60 else f"{shown[:56]}...{shown[-1]}"
    if isinstance(value, Mapping):
        return "a table" if value else "an empty table"
    if isinstance(value, list | tuple):
        return "a list" if value else "an empty list"
    return type(value).__name__


class Document:
    """A decoded document: where it came from, its text (for line numbers) and its data."""

    __slots__ = ("data", "error_class", "source", "text")

    def __init__(
        self,
        data: Any,
        *,
        source: str,
        text: str | None = None,
        error_class: type[InputError] = InputError,
    ) -> None:
        self.data = data
        self.source = source
        self.text = text
        self.error_class = error_class

    def where(self, path: KeyPath) -> str:
        """``file:line: key.path`` (the line when the text shows it; no path for the root)."""
        line = locate_line(self.text, path) if self.text is not None and path else None
        place = f"{self.source}:{line}" if line is not None else self.source
        return f"{place}: {render_path(path)}" if path else place

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> InputError:
        """An error about the value at *path* (for checks a type cannot state)."""
        return self.error_class(f"{self.where(path)}: {message}", hint=hint)

    def convert(self, value: Any, type_: type[T], path: KeyPath = ()) -> T:
        """*value* (found at *path* in this document) converted into *type_*, strictly."""
        try:
            return msgspec.convert(value, type_, strict=True)
        except (msgspec.ValidationError, RecursionError):
            why = problem(value, type_)
            assert why is not None
            sub, message, hint = why
            raise self.error(path + sub, message, hint) from None

    def load(self, type_: type[T]) -> T:
        """The whole document converted into *type_*."""
        return self.convert(self.data, type_)


def problem(value: Any, type_: Any) -> tuple[KeyPath, str, str | None] | None:
    """Why *value* is not a *type_*: (key path inside it, message, hint); None when it is one.

    For documents that report every problem rather than stop at the first: convert
    field by field and collect what this returns.
    """
    try:
        msgspec.convert(value, type_, strict=True)
    except msgspec.ValidationError as exc:
        return explain(str(exc), type_, value)
    except RecursionError:
        return (), "nested too deeply to read", None
    return None


def read_document(
    path: str | Path,
    *,
    what: str,
    error_class: type[InputError] = InputError,
    toml: bool | None = None,
) -> Document:
    """Read and decode a TOML (``.toml``, or *toml* when given) or JSON (anything else) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_class(f"{what} {p} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error_class(f"cannot read {what} {p}: {exc}") from exc
    if toml is None:
        toml = p.suffix.lower() == ".toml"
    return decode_text(text, source=str(p), toml=toml, error_class=error_class)


def decode_text(
    text: str, *, source: str, toml: bool, error_class: type[InputError] = InputError
) -> Document:
    """Decode TOML or JSON *text*; syntax errors name the line and column."""
    data: Any
    try:
        if toml:
            import tomllib

            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise error_class(
                    f"{source}:{_toml_location(str(exc))}", hint="fix the TOML syntax"
                ) from exc
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise error_class(
                    f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
                    hint="fix the JSON syntax, or use a .toml file",
                ) from exc
    except RecursionError:
        raise error_class(f"{source}: nested too deeply to read") from None
    return Document(data, source=source, text=text, error_class=error_class)


def decode_body(
    raw: bytes, *, source: str = "body", error_class: type[InputError] = InputError
) -> Any:
    """The decoded JSON of a request body; an *error_class* error naming line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error_class(f"the {source} is not UTF-8 JSON") from None
    return decode_text(text, source=source, toml=False, error_class=error_class).data


def decode_line(
    line: str,
    *,
    source: str,
    number: int,
    hint: str = "one JSON object per line; comments start with #",
    error_class: type[InputError] = InputError,
) -> Document:
    """Decode one JSON line of an NDJSON file; the document's place is ``source:number``."""
    where = f"{source}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise error_class(f"{where}:{exc.colno}: not valid JSON ({exc.msg})", hint=hint) from None
    except RecursionError:
        raise error_class(f"{where}: nested too deeply to read") from None
    return Document(data, source=where, error_class=error_class)


class FastDecoder(Generic[T]):
    """JSON text straight into *type_* in one msgspec call, or ``None``.

    ``None`` means "not this type as written" (a syntax error, another shape, a mistake,
    NaN, a lone surrogate, deep nesting): the caller then decodes the text the slow way,
    which reads what it can and names any mistake with its key path.
    """

    __slots__ = ("_decode",)

    def __init__(self, type_: Any) -> None:
        # Any: a union of Structs is a fine msgspec type but no type[T] to a type checker.
        self._decode: Any = msgspec.json.Decoder(type_).decode

    def __call__(self, text: str | bytes) -> T | None:
        try:
            return self._decode(text)
        except (msgspec.DecodeError, RecursionError):
            return None


def load_document(
    path: str | Path, type_: type[T], *, what: str, error_class: type[InputError] = InputError
) -> T:
    """Read, decode and convert a file into *type_* in one step."""
    return read_document(path, what=what, error_class=error_class).load(type_)


def _toml_location(message: str) -> str:
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match is None:
        return f" not valid TOML ({message})"
    reason = message[: match.start()].strip()
    return f"{match.group(1)}:{match.group(2)}: not valid TOML ({reason})"


# --- validation errors -----------------------------------------------------------------------


def explain(message: str, type_: Any, value: Any) -> tuple[KeyPath, str, str | None]:
    """(key path, message, hint) for a msgspec validation message about *value* as *type_*.

    The key path comes from msgspec's ``- at `$...``` suffix (a mapping key it does not
    show, ``[...]``, is filled in from *value* when only one key can hold the mistake);
    the wording says what was expected (a field's ``Meta(description=...)`` when it has
    one) and the value found (only its kind for a field declared
    ``Meta(extra={"secret": True})``).
    """
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    reason = match.group("reason")
    path, complete = _parse_path(match.group("path") or "", value)
    if not complete:
        path, complete = _find_hidden_keys(message, type_, value)
    unknown = _UNKNOWN_FIELD.match(reason)
    if unknown and complete:
        allowed = _field_names(_type_at(type_, path, value))
        hint = f"allowed here: {', '.join(sorted(allowed))}" if allowed else None
        return (*path, unknown.group("name")), "unknown key", hint
    missing = _MISSING_FIELD.match(reason)
    if missing:
        name = missing.group("name")
        field = _field_type(_type_at(type_, path, value) if complete else None, name)
        description = _description(field)
        said = f" ({description})" if description else ""
        return path, f"missing {name!r}{said}", None
    tag = _INVALID_TAG.match(reason)
    if tag and complete and path:
        tags = _tags(_type_at(type_, path[:-1], value), path[-1])
        if tags:
            return path, f"expected one of {', '.join(tags)}, got {tag.group('value')}", None
    expected = _EXPECTED.match(reason)
    if expected or _INVALID_VALUE.match(reason):
        info = _type_at(type_, path, value) if complete else None
        found, got = _value_at(value, path, secret=_secret(info)) if complete else (False, "")
        if not found:
            got = _TYPE_WORDS.get(_got_type(reason), "something else")
        wanted = expected.group("type") if expected else ""
        return path, f"expected {_expectation(info, wanted)}, got {got}", None
    return path, reason, None


def _secret(info: Any) -> bool:
    """Whether the field is declared secret (``Meta(extra={"secret": True})``): never shown."""
    if isinstance(info, msgspec.inspect.UnionType):
        info = _unwrap(info)
    return isinstance(info, msgspec.inspect.Metadata) and bool((info.extra or {}).get("secret"))


def _parse_path(text: str, value: Any) -> tuple[KeyPath, bool]:
    """The key path, and whether it is complete (msgspec may hide a mapping key)."""
    path: list[str | int] = []
    node = value
    for key, index in _SEGMENT.findall(text):
        seg: str | int
        if key:
            seg = key
        elif index == "...":
            # msgspec hides mapping keys; the key is known only if one entry exists.
            if not isinstance(node, Mapping) or len(node) != 1:
                return tuple(path), False
            seg = next(iter(node))
        else:
            seg = int(index)
        path.append(seg)
        node = _child(node, seg)
    return tuple(path), True


def _find_hidden_keys(message: str, type_: Any, value: Any) -> tuple[KeyPath, bool]:
    """The key path of *message* with the mapping keys msgspec hid (``[...]``) found again.

    msgspec stops at the first bad entry of a mapping of several: each entry is tried
    alone, in order, and the first that gives the same message is the one. Only on the
    error path, so the cost (one conversion per entry) does not matter.
    """
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    text = match.group("path") or ""
    path: list[str | int] = []
    node = value
    for key, index in _SEGMENT.findall(text):
        seg: str | int
        if index == "...":
            if not isinstance(node, Mapping):
                return tuple(path), False
            found = None
            for k in node:
                trial = _replaced(value, tuple(path), {k: node[k]})
                try:
                    msgspec.convert(trial, type_, strict=True)
                except msgspec.ValidationError as exc:
                    if str(exc) == message:
                        found = k
                        break
                except RecursionError:
                    return tuple(path), False
            if found is None:
                return tuple(path), False
            seg = found
        else:
            seg = key or int(index)
        path.append(seg)
        node = _child(node, seg)
    return tuple(path), True


def _replaced(value: Any, path: KeyPath, new: Any) -> Any:
    """A copy of *value* with the node at *path* replaced by *new* (copies along the path)."""
    if not path:
        return new
    seg, rest = path[0], path[1:]
    if isinstance(value, list):
        copy_list = list(value)
        copy_list[int(seg)] = _replaced(value[int(seg)], rest, new)
        return copy_list
    copy = dict(value)
    copy[seg] = _replaced(value[seg], rest, new)
    return copy


def _child(node: Any, seg: str | int) -> Any:
    if isinstance(seg, int):
        return node[seg] if isinstance(node, list) and 0 <= seg < len(node) else None
    return node.get(seg) if isinstance(node, Mapping) else None


def _value_at(value: Any, path: KeyPath, *, secret: bool) -> tuple[bool, str]:
    node = value
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(node, list) or not 0 <= seg < len(node):
                return False, ""
            node = node[seg]
        else:
            if not isinstance(node, Mapping) or seg not in node:
                return False, ""
            node = node[seg]
    return True, _kind(node) if secret else describe(node)


def _kind(value: Any) -> str:
    """What sort of value this is, without showing it."""
    if isinstance(value, bool):
        return "a boolean"
    for cls, word in ((str, "str"), (int, "int"), (float, "float"), (list, "array")):
        if isinstance(value, cls):
            return _TYPE_WORDS[word]
    return _TYPE_WORDS["object"] if isinstance(value, Mapping) else describe(value)


def _got_type(reason: str) -> str:
    got = re.search(r"got `([^`]+)`", reason)
    return got.group(1) if got else ""


def _expectation(info: Any, wanted: str) -> str:
    """What the declared type wants: its description, else its kind and bounds."""
    choices = _choices(info)
    if choices is not None:
        return choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
    null = isinstance(info, msgspec.inspect.UnionType) and any(
        isinstance(t, msgspec.inspect.NoneType) for t in info.types
    )
    info = _unwrap(info)
    if isinstance(info, msgspec.inspect.Metadata):
        description = (info.extra_json_schema or {}).get("description")
        if description:
            return str(description) + (" or null" if null else "")
        info = info.type
    if not isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return " or ".join(_TYPE_WORDS.get(w, w) for w in wanted.split(" | "))
    words = "a whole number" if isinstance(info, msgspec.inspect.IntType) else "a number"
    bounds = [
        (sign, limit)
        for sign, limit in (("≥", info.ge), (">", info.gt), ("≤", info.le), ("<", info.lt))
        if limit is not None
    ]
    if any(abs(limit) == sys.float_info.max for _, limit in bounds):
        words = "a finite " + words.removeprefix("a ")
    shown = [f"{sign} {limit:g}" for sign, limit in bounds if abs(limit) != sys.float_info.max]
    return " ".join([words, *shown]) + (" or null" if null else "")


def _choices(info: Any) -> list[str] | None:
    """The allowed values of an enum or literal type (``None`` for other types)."""
    null = False
    if isinstance(info, msgspec.inspect.UnionType):
        null = any(isinstance(t, msgspec.inspect.NoneType) for t in info.types)
        info = _unwrap(info)
    values: list[Any]
    if isinstance(info, msgspec.inspect.EnumType):
        values = [member.value for member in info.cls]
    elif isinstance(info, msgspec.inspect.LiteralType):
        values = sorted(info.values, key=repr)  # msgspec keeps them as a set
    else:
        return None
    return [str(v) if isinstance(v, str) else repr(v) for v in values] + (["null"] if null else [])


def _type_at(type_: Any, path: KeyPath, value: Any = None) -> Any:
    """The msgspec type info found at *path* inside *type_* (``None`` when unknown).

    A tagged union is resolved to the member whose tag *value* carries at that place.
    """
    try:
        info: Any = msgspec.inspect.type_info(type_)
    except (TypeError, ValueError):
        return None
    node = value
    for seg in path:
        info = _tagged(_unwrap(info), node)
        while isinstance(info, msgspec.inspect.Metadata):  # a constrained list or dict
            info = info.type
        node = _child(node, seg)
        if isinstance(info, msgspec.inspect.StructType) and isinstance(seg, str):
            info = next((f.type for f in info.fields if f.encode_name == seg), None)
        elif isinstance(info, msgspec.inspect.DictType) and isinstance(seg, str):
            info = info.value_type
        elif isinstance(info, msgspec.inspect.ListType | msgspec.inspect.VarTupleType) and (
            isinstance(seg, int)
        ):
            info = info.item_type
        else:
            return None
    return _tagged(info, node)


def _tagged(info: Any, node: Any) -> Any:
    """The member of a tagged union of Structs that *node*'s tag names (else *info*)."""
    if not isinstance(info, msgspec.inspect.UnionType) or not isinstance(node, Mapping):
        return info
    for member in info.types:
        if (
            isinstance(member, msgspec.inspect.StructType)
            and member.tag_field is not None
            and node.get(member.tag_field) == member.tag
        ):
            return member
    return info


def _tags(info: Any, name: str | int) -> list[str]:
    """The tags of a tagged union whose tag field is *name* (empty otherwise)."""
    if not isinstance(info, msgspec.inspect.UnionType):
        return []
    return [
        str(m.tag)
        for m in info.types
        if isinstance(m, msgspec.inspect.StructType) and m.tag_field == name
    ]


def _field_type(info: Any, name: str) -> Any:
    info = _unwrap(info)
    if isinstance(info, msgspec.inspect.StructType):
        return next((f.type for f in info.fields if f.encode_name == name), None)
    return None


def _description(info: Any) -> str | None:
    info = _unwrap(info)
    if isinstance(info, msgspec.inspect.Metadata):
        return (info.extra_json_schema or {}).get("description")
    return None


def _unwrap(info: Any) -> Any:
    """The one non-null member of a union (descriptions kept), else *info*."""
    # type_info already leaves UNSET out of unions.
    if isinstance(info, msgspec.inspect.UnionType):
        members = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(members) == 1:
            return members[0]
    if isinstance(info, msgspec.inspect.Metadata):
        inner = _unwrap(info.type)
        return inner if isinstance(inner, msgspec.inspect.StructType) else info
    return info


def _field_names(info: Any) -> list[str]:
    info = _unwrap(info)
    if isinstance(info, msgspec.inspect.StructType):
        return [f.encode_name for f in info.fields]
    return []


# --- line numbers ----------------------------------------------------------------------------


def locate_line(text: str, path: KeyPath) -> int | None:
    """The line of *path* in TOML or JSON *text*, by a light scan for its keys in order.

    Each key is looked for after the previous one (``key =``, ``"key":``, ``[a.key]``,
    ``a.key.b``); a list index ``[n]`` moves to the n-th ``[[key]]`` header of an array
    of tables, or else skips to the n-th following occurrence of the next key. When a key cannot
    be found, the line of the last key found (the enclosing table) is returned;
    ``None`` when not even the first key is found.
    """
    pos = 0
    line_at: int | None = None
    skip = 0
    last_key: str | None = None
    for seg in path:
        if isinstance(seg, int):
            if last_key is not None and _is_table_array_header(text, pos):
                # [[key]] repeats per element: go to the element's own header.
                again = _find_key(text, last_key, pos, seg - 1) if seg else pos
                if again is None:
                    break
                pos = line_at = again
            else:
                skip = seg
            continue
        found = _find_key(text, seg, pos, skip)
        skip = 0
        if found is None:
            break  # not found as written: the enclosing key's line is the best known
        pos, line_at, last_key = found, found, seg
    return None if line_at is None else text.count("\n", 0, line_at) + 1


def _is_table_array_header(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].lstrip().startswith("[[")


def _find_key(text: str, key: str, start: int, skip: int) -> int | None:
    pattern = re.compile(
        rf"""(?:^|(?<=[\s{{,.\[]))["']?{re.escape(key)}["']?\s*(?=[=:.\]])""", re.M
    )
    for n, match in enumerate(pattern.finditer(text, start)):
        if n == skip:
            return match.end()
    return None
