"""The error tree: library messages name settings, never flags; the CLI spells them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import autoplay_cli
from autoplay_cli import errors
from autoplay_cli.errors import ConfigError, UsageError

PACKAGE = Path(autoplay_cli.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: A whole command line in backticks is an instruction that holds for any caller
#: (``autoplay config set KEY VALUE --profile ops``), not a flag of the caller's run.
COMMAND_LINE = re.compile(r"`(?:autoplay|pip) [^`]*`")
#: Calls that build an error; ``bad`` is the emulator options' error helper.
HELPERS = {"bad", "MissingInput", "_Transient"}
#: Variables that are built first and then passed to an error.
MESSAGE_VARIABLES = {"hint", "where", "message", "fix"}


def _strings(node: ast.AST) -> Iterator[str]:
    """The string literals under *node*; an f-string whole, its fields as ``{}``."""
    if isinstance(node, ast.JoinedStr):
        yield "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
            for v in node.values
        )
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    else:
        for child in ast.iter_child_nodes(node):
            yield from _strings(child)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _error_texts(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (
            _callee(node).endswith("Error") or _callee(node) in HELPERS
        ):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for text in _strings(arg):
                    yield node.lineno, text
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in MESSAGE_VARIABLES for t in targets):
                for text in _strings(node.value):
                    yield node.lineno, text


def flags_in_library_errors() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "cli") in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _error_texts(tree):
            for flag in FLAG.findall(COMMAND_LINE.sub("", text)):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {flag}")
    return found


def test_no_error_outside_the_cli_names_a_flag() -> None:
    # Flags belong to the command line: the library names the setting (`idle_timeout`)
    # and `cli/` spells it as the running command's flag.
    assert flags_in_library_errors() == []


def test_the_scan_finds_a_flag_in_an_error() -> None:
    # The scan itself can fail: a flag in a message, a hint or a hint variable.
    source = (
        "raise UsageError('--rate must be positive', hint='see `autoplay emulate --help`')\n"
        "raise ConfigError('no key', hint='pass --token')\n"
        "hint = 'e.g. --store redis://'\n"
        "raise bad('--port', 'out of range')\n"
    )
    texts = [text for _, text in sorted(_error_texts(ast.parse(source)))]
    flags = [f for text in texts for f in FLAG.findall(COMMAND_LINE.sub("", text))]
    assert flags == ["--rate", "--token", "--store", "--port"]


def test_a_library_error_names_its_setting() -> None:
    from autoplay_cli.stream.client import StreamConfig

    with pytest.raises(ConfigError) as caught:
        StreamConfig("http://127.0.0.1:1", "acme", "uk_x", idle_timeout=-1)
    assert caught.value.setting == "idle_timeout"
    assert caught.value.one_line() == "`idle_timeout` must be ≥ 0 seconds"


def test_one_line_spells_the_settings_it_is_asked_to() -> None:
    err = UsageError(
        "`store` 'x': expected a redis:// URL",
        setting="store",
        hint="e.g. `store` redis://127.0.0.1; see `other`",
    )
    flags = {"store": "--store"}
    assert err.one_line(flags.get) == (
        "--store 'x': expected a redis:// URL — e.g. --store redis://127.0.0.1; see `other`"
    )
    assert err.one_line() == (
        "`store` 'x': expected a redis:// URL — e.g. `store` redis://127.0.0.1; see `other`"
    )


def test_respell_touches_only_backticked_names() -> None:
    text = "`to` URL needs to be signed; `autoplay relay --help` and to_secret stay"
    assert errors.respell(text, {"to": "--to"}.get) == (
        "--to URL needs to be signed; `autoplay relay --help` and to_secret stay"
    )
