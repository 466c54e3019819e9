"""The README guides and docs/ is the reference: each says what the code does, and the
site builds with every link intact."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pathspec
import pytest

from autoplay_cli import errors
from autoplay_cli.cli.app import COMMANDS

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = (REPO / "README.md").read_text(encoding="utf-8")


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def _quickstart_commands() -> list[str]:
    # The same extraction as .ci/run, which runs these lines exactly as written.
    block = README.split("<!-- quickstart -->", 1)[1].split("<!-- /quickstart -->", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_command_docs", REPO / "scripts" / "gen_command_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the README as a guide ---------------------------------------------------------------


def test_readme_is_a_guide_not_a_specification() -> None:
    assert len(README.encode("utf-8")) <= 16_000


@pytest.mark.parametrize("name", [c[0] for c in COMMANDS])
def test_every_command_has_a_readme_section_and_a_table_row(name: str) -> None:
    assert f"<!-- section: {name} -->" in README
    assert re.search(rf"^\| `autoplay {re.escape(name)}` \|", README, re.M), name
    section = README.split(f"<!-- section: {name} -->", 1)[1].split("<!-- /section", 1)[0]
    examples = re.findall(rf"^\$ autoplay {re.escape(name)}\b", section, re.M)
    assert 2 <= len(examples) <= 4, (name, len(examples))


def test_quickstart_runs_on_a_stock_debian_image() -> None:
    demo, suite = _quickstart_commands()
    assert demo.startswith("python3 -m venv .venv && ")
    # Debian images start with empty package lists: install fails without an update.
    assert suite.startswith("apt-get update && apt-get install -y redis-server && ")
    assert "python3 -m venv .venv" in suite and "'.[test]'" in suite
    assert suite.endswith(".venv/bin/python -m pytest")
    assert "`python3-venv`" in README.split("<!-- /quickstart -->", 1)[0]


def test_the_glossary_names_every_term() -> None:
    glossary = _section(README, "## Glossary")
    for term in ("Connector", "Product", "Stream key", "Unkey", "Proactive", "Trigger", "Tour"):
        assert f"- **{term}" in glossary, term


def test_try_it_live_leaves_git_status_clean() -> None:
    block = README.split("### Try it live", 1)[1].split("\n## ", 1)[0]
    written = re.findall(r"(?:> |--record )(\S+)", block)
    assert {"emulator.env", "run.ndjson"} <= set(written)
    ignored = pathspec.GitIgnoreSpec.from_lines(
        (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    )
    assert [f for f in written if not ignored.match_file(f)] == []


def test_relative_links_of_the_readme_exist() -> None:
    links = re.findall(r"\]\(((?!https?:|#)[^)#]+)(?:#[^)]*)?\)", README)
    assert len(links) >= 10
    assert [link for link in links if not (REPO / link).exists()] == []


# --- docs/ as the reference --------------------------------------------------------------


def test_exit_code_table_matches_the_error_tree() -> None:
    table = _page("exit-codes.md").split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert documented == set(errors.EXIT_CODES)


def test_every_error_class_maps_to_a_documented_code() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.AutoplayError)
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.exit_code in errors.EXIT_CODES, cls


def test_one_line_joins_cause_and_fix() -> None:
    err = errors.ConfigError("no token\nconfigured", hint="pass --token")
    assert err.one_line() == "no token configured — pass --token"
    assert errors.AutoplayError("plain").one_line() == "plain"


def test_the_command_reference_is_what_the_app_prints() -> None:
    page = _generator().render()
    assert page == _page("commands.md"), (
        "docs/commands.md is out of date: run `python scripts/gen_command_docs.py`"
    )
    for name in [c[0] for c in COMMANDS]:
        assert f"### `autoplay {name}`\n" in page, name
        assert f"Usage: autoplay {name} [OPTIONS]" in page, name


def test_code_cites_the_wire_contract_in_the_repository() -> None:
    sections = set(re.findall(r"^## §(\d+) ", _page("wire.md"), re.M))
    assert sections == {"1", "2", "3", "4", "5", "6"}
    cited: set[str] = set()
    for path in sorted((REPO / "autoplay_cli").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "WIRE.md" not in text and "WIRE §" not in text, path
        cited |= set(re.findall(r"docs/wire\.md §(\d+)", text))
    assert cited and cited <= sections


def test_library_examples_run(tmp_path: Path) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", _page("library.md"), re.S | re.M)
    assert len(blocks) >= 2
    for block in blocks:
        script = tmp_path / "example.py"
        script.write_text(block, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # Strict: a broken link, a missing anchor or a page left out of nav fails the build.
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "architecture" / "index.html").exists()
