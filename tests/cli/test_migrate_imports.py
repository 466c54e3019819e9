"""``autoplay migrate-imports``: report, exit codes, --check/--diff/--json, and a functional run.

The functional test migrates code written against every legacy path of the table,
then runs it against a stub ``autoplay_sdk`` that has only the canonical layout.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from autoplay_cli.cli.app import COMMANDS, app
from autoplay_cli.codemods import import_map
from autoplay_cli.errors import EXIT_FAILURE, EXIT_INPUT, EXIT_PARTIAL, EXIT_USAGE

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
LEGACY = "import autoplay_sdk.models\nfrom autoplay_sdk import chatbot  # keep me\n"
MIGRATED = "import autoplay_sdk.core.models\nfrom autoplay_sdk.chat import chatbot  # keep me\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["migrate-imports", *args])
    return result.exit_code, result.stdout, result.stderr


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_command_is_registered() -> None:
    assert ("migrate-imports", "autoplay_cli.cli.migrate_imports", "migrate_imports") in [
        c[:3] for c in COMMANDS
    ]


def test_help_names_its_metavars_and_ends_with_examples() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert "--exclude GLOB" in out and "-j, --jobs N" in out
    tail = out[out.index("Examples:") :].splitlines()
    examples = [line.split()[:2] for line in tail if line.strip().startswith("autoplay ")]
    assert examples and all(words == ["autoplay", "migrate-imports"] for words in examples)
    assert 2 <= len(examples) <= 3
    assert "Exit codes:" in out[out.index("Examples:") :]


def test_rewrite_prints_files_changed_and_counts(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": LEGACY, "b.py": "import os\n"})
    code, out, err = invoke(str(tmp_path))
    assert code == 0, err
    assert out == f"rewrote {tmp_path / 'a.py'} (2 imports, 0 references)\n"
    assert "1 file rewritten (2 imports, 0 references)" in err
    assert "scanned 2 files, parsed 1" in err
    assert (tmp_path / "a.py").read_text() == MIGRATED


def test_default_path_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"pkg/a.py": LEGACY})
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke()
    assert code == 0
    assert out == "rewrote pkg/a.py (2 imports, 0 references)\n"
    assert (tmp_path / "pkg" / "a.py").read_text() == MIGRATED


def test_check_exits_1_when_something_would_change_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": LEGACY})
    code, out, err = invoke("--check", str(tmp_path))
    assert code == EXIT_FAILURE
    assert out == f"would rewrite {tmp_path / 'a.py'} (2 imports, 0 references)\n"
    assert "1 file would be rewritten" in err and "Error" not in err
    assert (tmp_path / "a.py").read_text() == LEGACY
    invoke(str(tmp_path))
    assert invoke("--check", str(tmp_path))[0] == 0


def test_check_exits_1_on_items_left_for_manual_review(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "import os\nimport autoplay_sdk.rag_query.brand_new\n"})
    code, out, _ = invoke("--check", str(tmp_path))
    assert code == EXIT_FAILURE
    assert out.startswith(f"{tmp_path / 'a.py'}:2: manual review: `autoplay_sdk.rag_query.")


def test_agent_states_is_reported_for_a_manual_port_left_unchanged_and_fails_check(
    tmp_path: Path,
) -> None:
    source = (
        "import os\n"
        "from autoplay_sdk.agent_states import AgentState\n"
        "import autoplay_sdk.agent_states.state_machine as sm\n"
        "from autoplay_sdk.agent_states.types import StateName\n"
        "import autoplay_sdk.models\n"
    )
    write(tmp_path, {"a.py": source})
    path = tmp_path / "a.py"
    code, out, err = invoke("--check", str(tmp_path))
    assert code == EXIT_FAILURE
    assert "3 to port by hand" in err and "manual review" not in err
    ports = [line for line in out.splitlines() if ": manual port: " in line]
    assert [line.split(": manual port: ")[0] for line in ports] == [
        f"{path}:2",
        f"{path}:3",
        f"{path}:4",
    ]
    assert all(
        "autoplay_sdk.agent_state.v2" in line and "docs/migrate-imports.md" in line
        for line in ports
    )
    # The write leaves those lines as they were and migrates the rest.
    code, out, _ = invoke(str(tmp_path))
    assert code == 0
    assert path.read_text() == source.replace("autoplay_sdk.models", "autoplay_sdk.core.models")
    assert invoke("--check", str(tmp_path))[0] == EXIT_FAILURE  # still to port by hand


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": LEGACY})
    code, out, err = invoke("--diff", str(tmp_path))
    assert code == 0
    path = tmp_path / "a.py"
    assert out.splitlines() == [
        f"--- a/{str(path).lstrip('/')}",
        f"+++ b/{str(path).lstrip('/')}",
        "@@ -1,2 +1,2 @@",
        "-import autoplay_sdk.models",
        "-from autoplay_sdk import chatbot  # keep me",
        "+import autoplay_sdk.core.models",
        "+from autoplay_sdk.chat import chatbot  # keep me",
    ]
    assert f"would rewrite {path}" in err  # the report moves to stderr
    assert path.read_text() == LEGACY
    assert invoke("--diff", "--check", str(tmp_path))[0] == EXIT_FAILURE


def test_diff_applies_cleanly_with_git_apply(tmp_path: Path) -> None:
    # No newline at the end of the file: the patch must say so to apply.
    write(tmp_path, {"a.py": LEGACY + "\n\ndef f():\n    from autoplay_sdk.metrics import X"})
    proc = subprocess.run(
        [sys.executable, "-m", "autoplay_cli", "migrate-imports", "--diff", "a.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "patch.diff").write_text(proc.stdout)
    subprocess.run(["git", "apply", "patch.diff"], cwd=tmp_path, check=True, timeout=60)
    assert "autoplay_sdk.core.metrics" in (tmp_path / "a.py").read_text()
    assert "autoplay_sdk.core.models" in (tmp_path / "a.py").read_text()
    assert not (tmp_path / "a.py").read_text().endswith("\n")


def test_diff_of_a_latin1_crlf_file_with_form_feeds_applies(tmp_path: Path) -> None:
    # The patch is the file's own bytes: a UTF-8 re-encoding of "café" or a line split at
    # the form feed would not apply.
    source = (
        b"# -*- coding: latin-1 -*-\r\nimport autoplay_sdk.models  # caf\xe9\r\n\x0c\r\n"
        b"def f():\r\n    return autoplay_sdk.models.X  # \xe9t\xe9\r\n"
    )
    (tmp_path / "a.py").write_bytes(source)
    proc = subprocess.run(
        [sys.executable, "-m", "autoplay_cli", "migrate-imports", "--diff", "a.py"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "patch.diff").write_bytes(proc.stdout)
    subprocess.run(["git", "apply", "patch.diff"], cwd=tmp_path, check=True, timeout=60)
    assert (tmp_path / "a.py").read_bytes() == source.replace(b".models", b".core.models")


def test_a_syntax_error_is_reported_and_isolated_with_exit_9(tmp_path: Path) -> None:
    broken = "import autoplay_sdk.models\n\ndef broken(:\n    pass\n"
    write(tmp_path, {"a.py": LEGACY, "bad.py": broken})
    code, out, err = invoke(str(tmp_path))
    assert code == EXIT_PARTIAL
    assert f"{tmp_path / 'bad.py'}:3: error: does not parse: invalid syntax\n" in out
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "1 file could not be migrated" in errors[0]
    assert "Traceback" not in err
    assert (tmp_path / "bad.py").read_text() == broken
    assert (tmp_path / "a.py").read_text() == MIGRATED
    # --check reports the failure, not merely "something would change".
    assert invoke("--check", str(tmp_path))[0] == EXIT_PARTIAL


def test_json_is_one_object_per_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": LEGACY,
            "r.py": "from autoplay_sdk.rag_query.hidden import x\n",
            "bad.py": "def (:\n  autoplay_sdk.models\n",
        },
    )
    code, out, _ = invoke("--json", "--check", str(tmp_path))
    assert code == EXIT_PARTIAL
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["rewrite", "error", "review", "summary"]
    assert events[0] == {
        "event": "rewrite",
        "path": str(tmp_path / "a.py"),
        "imports": 2,
        "references": 0,
        "written": False,
    }
    assert events[1]["line"] == 1 and events[2]["line"] == 1
    assert events[3]["files_changed"] == 1 and events[3]["failures"] == 1
    assert invoke("--json", "--diff", str(tmp_path))[0] == EXIT_USAGE


def test_exclude_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(
        tmp_path,
        {
            ".gitignore": "generated/\n",
            "generated/a.py": LEGACY,
            "vendor/b.py": LEGACY,
            "src/c.py": LEGACY,
            ".venv/lib/d.py": LEGACY,
        },
    )
    code, out, _ = invoke("--exclude", "vendor", str(tmp_path))
    assert code == 0
    assert out == f"rewrote {tmp_path / 'src' / 'c.py'} (2 imports, 0 references)\n"
    assert (tmp_path / "generated" / "a.py").read_text() == LEGACY
    assert (tmp_path / "vendor" / "b.py").read_text() == LEGACY
    assert (tmp_path / ".venv" / "lib" / "d.py").read_text() == LEGACY
    code, out, _ = invoke("--no-gitignore", "--check", str(tmp_path))
    assert out.splitlines() == [
        f"would rewrite {tmp_path / p} (2 imports, 0 references)"
        for p in ("generated/a.py", "vendor/b.py")
    ]


def test_a_missing_path_is_exit_8(tmp_path: Path) -> None:
    code, out, err = invoke(str(tmp_path / "nope"))
    assert code == EXIT_INPUT and out == ""
    assert err.startswith("Error: ") and "nope" in err


def _stderr_through_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes]:
    main, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks)


def test_a_progress_bar_only_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, {f"m{i:02d}.py": LEGACY for i in range(25)})
    code, seen = _stderr_through_a_terminal(["migrate-imports", "--check", "."], tmp_path)
    assert code == EXIT_FAILURE
    assert b"migrating" in seen and b"25/25" in seen
    proc = subprocess.run(
        [sys.executable, "-m", "autoplay_cli", "migrate-imports", "--check", "."],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == EXIT_FAILURE
    assert b"migrating" not in proc.stderr and b"\x1b[" not in proc.stderr


def test_pre_commit_hooks_run_this_command() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    by_id = {hook["id"]: hook for hook in hooks}
    assert by_id["autoplay-migrate-imports"]["entry"] == "autoplay migrate-imports"
    assert by_id["autoplay-migrate-imports-check"]["entry"] == "autoplay migrate-imports --check"
    for hook in hooks:
        assert hook["language"] == "python" and "python" in hook["types_or"]


# -- functional: migrated code runs against the canonical layout only ------------------------


def _stub_package(root: Path) -> None:
    """An ``autoplay_sdk`` with only canonical modules; each knows its own path."""
    modules = {"autoplay_sdk"}
    for _, new in import_map.MODULE_MOVES:
        parts = new.split(".")
        modules.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    enum_def = textwrap.dedent("""\
        import enum


        class ConversationEventType(enum.Enum):
            NEW = "new"
            REPLY_EXISTING = "reply_existing"
        """)
    for module in modules:
        directory = root.joinpath(*module.split("."))
        directory.mkdir(parents=True, exist_ok=True)
        body = f"WHERE = {module!r}\n\n\nclass Thing:\n    pass\n"
        if module in ("autoplay_sdk", "autoplay_sdk.chat", "autoplay_sdk.chat.chatbot"):
            body += "\n\n" + enum_def
        (directory / "__init__.py").write_text(body)


# The rows with a live home (the others are reported for a manual port, not rewritten).
LIVE_ROWS = [row for row in import_map.MODULE_MOVES if row[0] not in import_map.MANUAL_PORTS]


def _legacy_program() -> str:
    """Code that exercises every row of the table in every form, then prints what it saw."""
    blocks = [
        "import importlib\nimport json\n",
        "from typing import TYPE_CHECKING\nfrom unittest import mock\n",
        "if TYPE_CHECKING:\n    from autoplay_sdk.models import Thing as _Typed  # noqa: F401\n",
        "try:\n    from autoplay_sdk.context_store import Thing as StoreThing\n"
        "except ImportError:  # pre-0.7.4 fallback\n    StoreThing = None\n",
    ]
    calls = []
    for index, (old, _new) in enumerate(LIVE_ROWS):
        parent, _, last = old.rpartition(".")
        blocks.append(
            textwrap.dedent(f"""\

            def row_{index}():
                import {old}
                import {old} as alias
                from {parent} import (
                    {last},  # the module itself
                )
                from {old} import Thing
                with mock.patch("{old}.Thing", "patched"):
                    patched = importlib.import_module("{old}").Thing
                top = __import__("{old}")
                return [{old}.WHERE, alias.WHERE, {last}.WHERE, Thing.__module__, patched,
                        top.__name__]
            """)
        )
        calls.append(f"row_{index}()")
    blocks.append(
        textwrap.dedent("""\

        def renamed():
            import autoplay_sdk
            from autoplay_sdk import ConversationEvent
            from autoplay_sdk.chatbot import ConversationEvent as Linked
            return [ConversationEvent.NEW.value, Linked.REPLY_EXISTING.value,
                    autoplay_sdk.ConversationEvent.NEW.value]
        """)
    )
    blocks.append(
        "\n\nif __name__ == '__main__':\n"
        f"    print(json.dumps({{'rows': [{', '.join(calls)}], 'renamed': renamed(),\n"
        "                      'fallback': StoreThing.__module__ if StoreThing else None}))\n"
    )
    return "".join(blocks)


def test_migrated_code_runs_against_the_canonical_layout(tmp_path: Path) -> None:
    stub, app_dir = tmp_path / "stub", tmp_path / "app"
    _stub_package(stub)
    write(app_dir, {"legacy.py": _legacy_program()})
    env = {**os.environ, "PYTHONPATH": str(stub)}

    def run_program() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(app_dir / "legacy.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    before = run_program()
    assert before.returncode != 0 and "ModuleNotFoundError" in before.stderr

    code, _, err = invoke(str(app_dir))
    assert code == 0, err
    after = run_program()
    assert after.returncode == 0, after.stderr
    seen = json.loads(after.stdout)
    expected = [[new, new, new, new, "patched", "autoplay_sdk"] for _, new in LIVE_ROWS]
    assert seen["rows"] == expected
    assert seen["renamed"] == ["new", "reply_existing", "new"]
    assert seen["fallback"] == "autoplay_sdk.context.context_store"
    # And it is a fixed point.
    assert invoke("--check", str(app_dir))[0] == 0
