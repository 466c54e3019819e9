"""Skill content speaks the toolkit's real language.

Every fenced code block and inline code span of every bundled skill file is read:
each ``autoplay …`` command line must name a real command and only its real options
(checked against the Typer app itself), and each ``autoplay_cli`` import in a Python
block must resolve to a real module attribute. Each platform skill cites https sources
and says what it could not confirm.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from autoplay_cli.cli.app import app

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"
FILES = sorted(SKILLS_DIR.rglob("*.md"))
SHELL_LANGS = {"console", "bash", "sh", "shell", "text", ""}
SEPARATORS = {"|", "||", "&&", ";"}


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, content, line) of every fence and inline code span in *path*."""
    from markdown_it import MarkdownIt

    found: list[tuple[str, str, int]] = []
    for tok in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        line = tok.map[0] + 1 if tok.map else 0
        if tok.type == "fence":
            found.append((tok.info.strip().split(" ")[0].lower(), tok.content, line))
        for child in tok.children or []:
            if child.type == "code_inline":
                found.append(("inline", child.content, line))
    return found


def _command_lines(lang: str, content: str) -> list[str]:
    if lang not in SHELL_LANGS | {"inline"}:
        return []
    joined = content.replace("\\\n", " ")
    lines = []
    for raw in joined.splitlines():
        text = raw.strip()
        if text.startswith("$ "):
            text = text[2:]
        elif lang == "console":
            continue  # output lines of a console transcript
        lines.append(text.split(" #", 1)[0])
    return lines


def _invocations(line: str) -> list[list[str]]:
    """Token lists that start with the word ``autoplay`` at a command position."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return []
    calls: list[list[str]] = []
    current: list[str] | None = None
    at_start = True
    for tok in tokens:
        if tok in SEPARATORS:
            at_start, current = True, None
            continue
        if at_start and tok == "autoplay":
            current = []
            calls.append(current)
        elif current is not None:
            current.append(tok)
        at_start = False
    return calls


def _option_map(command: Any) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for param in command.params:
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            if opt.startswith("-"):
                names[opt] = param
    names["--help"] = names["-h"] = None
    return names


def _subcommands(command: Any) -> dict[str, Any] | None:
    # Through the group API, which also covers the root's lazily loaded commands.
    if not hasattr(command, "list_commands"):
        return None
    return {name: command.get_command(None, name) for name in command.list_commands(None)}


def check_invocation(root: Any, args: list[str]) -> list[str]:
    """Problems with one ``autoplay`` invocation (empty when it is valid)."""
    problems: list[str] = []
    command, path = root, "autoplay"
    options = _option_map(command)
    i = 0
    while i < len(args):
        tok = args[i]
        default = getattr(command, "default_command", None)
        if default is not None and tok not in command.commands and tok not in ("-h", "--help"):
            # A group that runs its default subcommand when no subcommand is named.
            command, path = command.commands[default], f"{path} {default}"
            options = _option_map(command)
        if tok == "--":
            break
        if tok.startswith("-") and tok != "-":
            name = tok.split("=", 1)[0]
            if name not in options:
                problems.append(f"`{path}` has no option {name}")
            else:
                param = options[name]
                takes_value = (
                    param is not None
                    and not getattr(param, "is_flag", False)
                    and not getattr(param, "count", False)
                )
                if takes_value and "=" not in tok:
                    i += 1
            i += 1
            continue
        subcommands = _subcommands(command)
        if subcommands is not None:
            if tok not in subcommands:
                problems.append(f"`{path}` has no command {tok!r}")
                return problems
            command, path = subcommands[tok], f"{path} {tok}"
            options = _option_map(command)
        i += 1
    default = getattr(command, "default_command", None)
    if default is not None:  # a bare group that runs its default subcommand
        command = command.commands[default]
    if _subcommands(command) is not None and command is not root:
        problems.append(f"`{path}` needs a subcommand")
    return problems


def _imports(content: str) -> list[tuple[str, str | None, int]]:
    tree = ast.parse(content)
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "autoplay_cli"
        ):
            found.extend((node.module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, None, node.lineno)
                for alias in node.names
                if alias.name.split(".")[0] == "autoplay_cli"
            )
    return found


@pytest.fixture(scope="module")
def root_command() -> Any:
    return typer.main.get_command(app)


def test_the_checker_itself_catches_bad_references(root_command: Any) -> None:
    assert check_invocation(root_command, ["config", "show", "--json"]) == []
    assert check_invocation(root_command, ["install-skills", "--chatbot", "ada", "--dry-run"]) == []
    assert check_invocation(root_command, ["no-such-command"]) == [
        "`autoplay` has no command 'no-such-command'"
    ]
    assert check_invocation(root_command, ["install-skills", "--bogus"]) == [
        "`autoplay install-skills install` has no option --bogus"
    ]
    assert check_invocation(root_command, ["install-skills", "list", "--json"]) == []
    assert check_invocation(root_command, ["install-skills"]) == []
    assert check_invocation(root_command, ["install-skills", "list", "--force"]) == [
        "`autoplay install-skills list` has no option --force"
    ]
    assert check_invocation(root_command, ["config"]) == ["`autoplay config` needs a subcommand"]
    assert _invocations("autoplay tail --json | jq . && autoplay doctor") == [
        ["tail", "--json"],
        ["doctor"],
    ]
    assert _invocations("set -a; . ./.env.autoplay; set +a") == []


def test_every_skill_file_is_read() -> None:
    assert len([f for f in FILES if f.name == "SKILL.md"]) == 11
    assert sum(len(_blocks(f)) for f in FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SKILLS_DIR)))
def test_autoplay_commands_and_options_exist(path: Path, root_command: Any) -> None:
    problems = []
    for lang, content, line in _blocks(path):
        for text in _command_lines(lang, content):
            for args in _invocations(text):
                problems += [
                    f"line {line}: {text!r}: {p}" for p in check_invocation(root_command, args)
                ]
    assert problems == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SKILLS_DIR)))
def test_autoplay_cli_imports_resolve(path: Path) -> None:
    problems = []
    for lang, content, line in _blocks(path):
        if lang != "python":
            continue
        for module, name, offset in _imports(content):
            where = f"line {line + offset}"
            try:
                mod = importlib.import_module(module)
            except ImportError as exc:
                problems.append(f"{where}: cannot import {module}: {exc}")
                continue
            if name is not None and name != "*" and not hasattr(mod, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ImportError:
                    problems.append(f"{where}: {module} has no {name}")
    assert problems == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SKILLS_DIR)))
def test_python_blocks_parse(path: Path) -> None:
    for lang, content, line in _blocks(path):
        if lang == "python":
            compile(content, f"{path}:{line}", "exec")


PLATFORM_SKILLS = sorted(
    p for p in SKILLS_DIR.glob("*/SKILL.md") if p.parent.name.startswith(("chatbot-", "activity-"))
)


@pytest.mark.parametrize("path", PLATFORM_SKILLS, ids=lambda p: p.parent.name)
def test_platform_skills_cite_sources_and_name_what_is_unconfirmed(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    urls = re.findall(r"\]\((https?://[^)\s]+)\)", text)
    assert len(urls) >= 2, "cite the platform documentation"
    assert all(u.startswith("https://") for u in urls)
    assert "## Not confirmed here" in text
    assert "autoplay-core" in text


# What a skill calls on these names must exist on the class it stands for.
RECEIVERS = {
    "manager": ("autoplay_cli.session", "DeliveryManager"),
    "state": ("autoplay_cli.session", "SessionState"),
    "sessions": ("autoplay_cli.session", "RedisSessionStore"),
}


def name_problems(text: str) -> list[str]:
    """Dotted ``autoplay_cli.…`` names and ``manager.x(`` / ``state.x(`` calls that do not exist."""
    problems = []
    for dotted in sorted(set(re.findall(r"\bautoplay_cli(?:\.[A-Za-z_]\w*)+", text))):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: Any = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
            if obj is None:
                problems.append(f"{dotted} does not exist")
            break
    for receiver, method in sorted(set(re.findall(r"\b(\w+)\.(\w+)\(", text))):
        if receiver in RECEIVERS:
            module, cls = RECEIVERS[receiver]
            if not hasattr(getattr(importlib.import_module(module), cls), method):
                problems.append(f"{receiver}.{method}(): {cls} has no {method}")
    return problems


def test_the_name_checker_catches_missing_names() -> None:
    assert name_problems("`manager.on_actions(p)` and `autoplay_cli.session.AgentState`") == []
    assert name_problems("Call `manager.on_message(...)` and `autoplay_cli.session.Nope`.") == [
        "autoplay_cli.session.Nope does not exist",
        "manager.on_message(): DeliveryManager has no on_message",
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SKILLS_DIR)))
def test_named_library_objects_and_methods_exist(path: Path) -> None:
    """Prose included: what a skill names in the library must be there."""
    assert name_problems(path.read_text(encoding="utf-8")) == []


# --- `autoplay relay` lines: parsed by the real command, and shown before the library -------

RELAY_SKILLS = sorted(
    p
    for p in SKILLS_DIR.glob("*/SKILL.md")
    if p.parent.name == "autoplay-core" or p.parent.name.startswith("chatbot-")
)
RELAY_HEADING = "## Integrate with `autoplay relay` (first choice)"
SECOND_WAY = "**Second way: the library.**"
# The first sign of the library path in a skill's body: the delivery manager, its calls,
# or an import of the session or stream packages.
LIBRARY = re.compile(
    r"DeliveryManager|delivery manager|\bmanager\.\w+\(|autoplay_cli\.(?:session|stream)\b"
)


def relay_invocations(path: Path) -> list[tuple[int, str, list[str], bool]]:
    """(line, text, arguments after ``relay``, whether it is a fenced command) of every
    ``autoplay relay`` line in *path*; inline code in prose may use placeholders."""
    found = []
    for lang, content, line in _blocks(path):
        for text in _command_lines(lang, content):
            found += [
                (line, text, a[1:], lang != "inline")
                for a in _invocations(text)
                if a[:1] == ["relay"]
            ]
    return found


def relay_problems(root: Any, args: list[str], runnable: bool = True) -> list[str]:
    """What the real ``relay`` command would refuse in *args* before it connects anywhere:
    unknown options (:func:`check_invocation`), values its parser rejects, a destination or
    store it does not take, and (for a *runnable* command, not a mention in prose)
    ``--to intercom`` without the admin who writes, or a placeholder destination."""
    from autoplay_cli.errors import AutoplayError
    from autoplay_cli.relay.store import check_store_url

    problems = check_invocation(root, ["relay", *args])
    if problems or {"-h", "--help"} & set(args) or not runnable:
        return problems
    try:
        params = root.get_command(None, "relay").make_context("relay", list(args)).params
    except typer.TyperException as exc:  # typer's parser errors (bad values, missing ones)
        param = getattr(exc, "param", None)
        where = f" {param.opts[0]}" if param is not None and param.opts else ""
        return [f"`autoplay relay` refuses{where}: {exc}"]
    to = params["to"]
    if to not in ("-", "intercom") and not to.startswith("https://"):
        problems.append(f"--to {to!r} is not '-', 'intercom' or an https:// webhook")
    if to == "intercom" and not params.get("dry_run") and not params.get("intercom_admin_id"):
        problems.append("--to intercom needs --intercom-admin-id")
    try:
        check_store_url(params["store"])
    except AutoplayError as exc:
        problems.append(f"--store: {exc.message}")
    return problems


def test_a_wrong_relay_line_in_a_skill_is_caught(tmp_path: Path, root_command: Any) -> None:
    sample = tmp_path / "SKILL.md"
    sample.write_text(
        "Run it:\n\n"
        "```console\n"
        "$ export AUTOPLAY_RELAY_SECRET=whsec_x\n"
        "$ autoplay relay --to https://bot.example.com/hook -c triggers.toml \\\n"
        "    --store redis://127.0.0.1:6379/0\n"
        "$ autoplay relay --to intercom --intercom-admin 814860\n"
        "$ autoplay relay --to intercom --count many --intercom-admin-id 1\n"
        "$ autoplay relay --to intercom\n"
        "$ autoplay relay --to ftp://bot.example.com --store postgres://db/0\n"
        "```\n\n"
        "Or inline: `autoplay relay --replay rec.ndjson --to - --secret s`; a mention in\n"
        "prose such as `autoplay relay --to intercom` or `--to URL` may leave options out:\n"
        "`autoplay relay --resend-dead-letters FILE --to URL`.\n",
        encoding="utf-8",
    )
    found = relay_invocations(sample)
    assert [args[:2] for _, _, args, _ in found] == [["--to", "https://bot.example.com/hook"]] + [
        ["--to", "intercom"]
    ] * 3 + [
        ["--to", "ftp://bot.example.com"],
        ["--replay", "rec.ndjson"],
        ["--to", "intercom"],
        ["--resend-dead-letters", "FILE"],
    ]
    assert [fenced for *_, fenced in found] == [True] * 5 + [False] * 3
    problems = [relay_problems(root_command, args, fenced) for _, _, args, fenced in found]
    assert problems[0] == []  # a continued line, read whole
    assert problems[1] == ["`autoplay relay` has no option --intercom-admin"]
    assert problems[2] == [
        "`autoplay relay` refuses --count: Input should be a valid integer, unable to parse string"
        " as an integer"
    ]
    assert problems[3] == ["--to intercom needs --intercom-admin-id"]
    assert (
        problems[4][0]
        == "--to 'ftp://bot.example.com' is not '-', 'intercom' or an https:// webhook"
    )
    assert len(problems[4]) == 2 and problems[4][1].startswith("--store: ")
    assert problems[5] == ["`autoplay relay` has no option --secret"]
    assert problems[6:] == [[], []]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SKILLS_DIR)))
def test_relay_lines_are_what_the_relay_command_takes(path: Path, root_command: Any) -> None:
    problems = [
        f"line {line}: {text!r}: {p}"
        for line, text, args, fenced in relay_invocations(path)
        for p in relay_problems(root_command, args, fenced)
    ]
    assert problems == []


@pytest.mark.parametrize("path", RELAY_SKILLS, ids=lambda p: p.parent.name)
def test_relay_comes_first_and_the_library_second(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    body = text[text.index("\n---\n", 4) + 5 :]  # after the front matter
    relay_at = body.find(RELAY_HEADING)
    assert relay_at != -1, f"no section {RELAY_HEADING!r}"
    library = LIBRARY.search(body)
    assert library is not None, "the library path is missing"
    second = body.find(SECOND_WAY, relay_at)
    assert relay_at < second <= library.start(), "relay first, then the library as second way"
    # The relay section itself shows a relay command for this chatbot.
    section = body[relay_at:second]
    tos = [
        args[args.index("--to") + 1]
        for _, _, args, fenced in relay_invocations(path)
        if fenced and "--to" in args
    ]
    if path.parent.name == "chatbot-intercom":
        assert "autoplay relay --to intercom" in section and "intercom" in tos
    else:
        assert "autoplay relay --to https://" in section
        assert any(t.startswith("https://") for t in tos)
        assert "/chatbot-webhook/{product_id}" in section


def test_every_chatbot_skill_is_covered_by_the_relay_checks() -> None:
    names = {p.parent.name for p in RELAY_SKILLS}
    chatbots = {p.name for p in SKILLS_DIR.iterdir() if p.name.startswith("chatbot-")}
    assert names == chatbots | {"autoplay-core"} and len(chatbots) == 7
    assert sum(len(relay_invocations(p)) for p in RELAY_SKILLS) >= len(RELAY_SKILLS)
