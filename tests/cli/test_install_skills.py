"""``autoplay install-skills`` end to end, in process: plan output, files, exit codes."""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoplay_cli.cli.app import run
from autoplay_cli.errors import EXIT_FAILURE, EXIT_INPUT, EXIT_USAGE
from autoplay_cli.skillpack.catalog import CATALOG

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    monkeypatch.chdir(root / "src")  # the project root is found from a subfolder
    return root


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def test_default_installs_everything_into_the_shared_folder(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["install-skills"]) == 0
    out, err = capsys.readouterr()
    assert out.count("install ") == 11
    assert "Targets (default): .agents/skills" in err
    installed = files(project / ".agents/skills")
    for skill_md in SKILLS_DIR.glob("*/SKILL.md"):
        rel = f"{skill_md.parent.name}/SKILL.md"
        assert installed[rel] == skill_md.read_bytes()


def test_selection_detection_and_json_plan(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "CLAUDE.md").write_text("x", encoding="utf-8")
    (project / ".cursor").mkdir()
    assert (
        run(["install-skills", "--chatbot", "intercom", "--user-activity", "posthog", "--json"])
        == 0
    )
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert {(r["target"], r["skill"], r["action"]) for r in rows} == {
        (t, s, "install")
        for t in (".claude/skills", ".cursor/skills")
        for s in ("autoplay-core", "chatbot-intercom", "activity-posthog")
    }
    assert "Targets (detected): .claude/skills (claude), .cursor/skills (cursor)" in err


def test_dry_run_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files(project)
    assert run(["install-skills", "--agent", "claude", "--agent", "gemini", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert files(project) == before
    assert "install        .claude/skills/autoplay-core" in out
    assert "install        .agents/skills/autoplay-core" in out
    assert "Dry run, nothing written: 22 install" in err


def test_rerun_edit_kept_then_force(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["install-skills", "--chatbot", "ada", "--agent", "claude"]
    assert run(args) == 0
    capsys.readouterr()
    assert run(args) == 0
    out, err = capsys.readouterr()
    assert out.split().count("unchanged") == 2 and "Done: 2 unchanged" in err
    skill_md = project / ".claude/skills/chatbot-ada/SKILL.md"
    skill_md.write_text("my version\n", encoding="utf-8")
    assert run(args) == 0
    out, err = capsys.readouterr()
    assert "kept-modified  .claude/skills/chatbot-ada" in out and "[SKILL.md]" in out
    assert "(edited locally: kept (use --force to back up and update))" in out
    assert "kept locally edited skill(s): chatbot-ada" in err
    assert skill_md.read_text(encoding="utf-8") == "my version\n"
    assert run([*args, "--force"]) == 0
    out, _ = capsys.readouterr()
    assert "update         .claude/skills/chatbot-ada" in out
    assert "(local edits backed up (--force))" in out
    assert "backup: .claude/.autoplay-skill-backups/chatbot-ada.1" in out
    backup = project / ".claude/.autoplay-skill-backups/chatbot-ada.1/SKILL.md"
    assert backup.read_text(encoding="utf-8") == "my version\n"
    assert skill_md.read_bytes() == (SKILLS_DIR / "chatbot-ada/SKILL.md").read_bytes()


def test_list_shows_catalog_and_state(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["install-skills", "--dest", "vendor/skills", "--chatbot", "dify"]) == 0
    # --dest is relative to the current folder (src/), like any path typed in a shell.
    (project / "src/vendor/skills/chatbot-dify/SKILL.md").write_text("x", encoding="utf-8")
    capsys.readouterr()
    assert run(["install-skills", "list", "--dest", "vendor/skills", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"kind": "bundle", "source": "source tree", "location": str(SKILLS_DIR)}
    assert [r["name"] for r in rows if r["kind"] == "skill"] == [s.name for s in CATALOG]
    assert {r["skill"]: r["state"] for r in rows if r["kind"] == "installed"} == {
        "autoplay-core": "current",
        "chatbot-dify": "modified",
    }
    assert run(["install-skills", "list", "--dest", "vendor/skills"]) == 0
    out = capsys.readouterr().out
    assert "chatbot-tidio" in out and "vendor/skills/chatbot-dify" in out and "modified" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--chatbot", "zendesk"], "unknown --chatbot 'zendesk' — valid values: ada, botpress"),
        (["--user-activity", "amplitude"], "valid values: fullstory, posthog"),
        (["--agent", "windsurf"], "unknown --agent 'windsurf'"),
        (["--agent", "claude", "--dest", "x"], "--dest and --agent cannot be combined"),
        (["validate", ".", "--chatbot", "ada"], "No such option: --chatbot"),
        (["list", "--dry-run"], "No such option: --dry-run"),
        (["--list"], "--list is now a subcommand — run `autoplay install-skills list`"),
        (["--validate", "x"], "run `autoplay install-skills validate x`"),
        (["lsit"], "No such command 'lsit' (try: install, list, validate)"),
    ],
)
def test_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    assert run(["install-skills", *args]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("Error: ") and fragment in err and err.count("\n") == 1


def test_validate_bundled_and_broken_skills(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["install-skills", "validate", str(SKILLS_DIR)]) == 0
    assert "11 skill folder(s) valid, 0 warning(s)" in capsys.readouterr().err
    bad = tmp_path / "Bad_Skill"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: Bad_Skill\nextra: 1\n---\n", encoding="utf-8")
    assert run(["install-skills", "validate", str(bad), "--json"]) == EXIT_FAILURE
    out, err = capsys.readouterr()
    problems = [json.loads(line) for line in out.splitlines()]
    assert {p["severity"] for p in problems} == {"error"} and len(problems) == 3
    assert "Error: 3 error(s) in 1 skill folder(s)" in err
    assert run(["install-skills", "validate", str(tmp_path / "missing")]) == EXIT_INPUT
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["install-skills", "validate", str(empty)]) == EXIT_INPUT


def test_a_broken_manifest_is_one_error_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project / ".agents/skills"
    folder.mkdir(parents=True)
    (folder / ".autoplay-skills.json").write_text("{oops", encoding="utf-8")
    assert run(["install-skills"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and ".autoplay-skills.json:1:2: not valid JSON" in err


def _craft(project: Path, tmp_path: Path, form: str, *, right_hash: bool) -> Path:
    """Install core, then list a victim file outside its folder in the manifest (*form*)."""
    assert run(["install-skills", "--agent", "agents", "--chatbot", "ada"]) == 0
    here = project / ".agents/skills/autoplay-core"
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.md"
    victim.write_text("precious\n", encoding="utf-8")
    if form == "dotdot":
        rel = "../../../../outside/victim.md"
        assert (here / rel).resolve() == victim.resolve()
    elif form == "absolute":
        rel = str(victim)
    else:  # a symlink inside the skill's folder, pointing outside
        (here / "refs").symlink_to(outside, target_is_directory=True)
        rel = "refs/victim.md"
    path = project / ".agents/skills/.autoplay-skills.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    digest = hashlib.sha256(victim.read_bytes()).hexdigest() if right_hash else "0" * 64
    data["skills"]["autoplay-core"]["files"][rel] = digest
    path.write_text(json.dumps(data), encoding="utf-8")
    return victim


@pytest.mark.parametrize("form", ["dotdot", "absolute", "symlink"])
@pytest.mark.parametrize("force", [False, True])
def test_a_crafted_manifest_never_deletes_outside_the_skill_folder(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, force: bool
) -> None:
    # The right hash makes the skill look untouched (an update), a wrong one needs --force:
    # either way the victim was an "old file of ours" that the update would delete.
    victim = _craft(project, tmp_path, form, right_hash=not force)
    capsys.readouterr()
    before = files(project)
    args = ["install-skills", "--agent", "agents", *(["--force"] if force else [])]
    assert run(args) == EXIT_INPUT
    out, err = capsys.readouterr()
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert files(project) == before  # nothing written either
    assert out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert ".autoplay-skills.json" in err and "nothing was changed" in err
    assert run(["install-skills", "list", "--agent", "agents"]) == EXIT_INPUT


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", ".."])
def test_a_crafted_skill_name_in_the_manifest_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = project / ".agents/skills"
    folder.mkdir(parents=True)
    body = {"format": 1, "skills": {name: {"files": {"SKILL.md": "0" * 64}, "version": "1"}}}
    (folder / ".autoplay-skills.json").write_text(json.dumps(body), encoding="utf-8")
    assert run(["install-skills", "--agent", "agents"]) == EXIT_INPUT
    assert "is not a plain folder name" in capsys.readouterr().err


# Each process imports the CLI first, then waits for the same start signal, so that
# the four installs really overlap instead of being spread out by start-up time.
_RACER = """
import os, sys, time
import autoplay_cli.cli.install_skills
from autoplay_cli.cli.app import run
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
sys.exit(run(sys.argv[2:]))
"""


def test_parallel_installs_into_one_folder_keep_every_manifest_entry(
    project: Path, tmp_path: Path
) -> None:
    chatbots = ["ada", "botpress", "crisp", "dify", "landbot", "tidio"]
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _RACER,
                str(go),
                "install-skills",
                "--dest",
                "skills",
                "--chatbot",
                name,
            ],
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name in chatbots
    ]
    time.sleep(1.5)  # let every process finish importing
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    recorded = json.loads((project / "skills/.autoplay-skills.json").read_text(encoding="utf-8"))
    assert sorted(recorded["skills"]) == sorted(
        ["autoplay-core", *(f"chatbot-{n}" for n in chatbots)]
    )
    assert not (project / "skills/.autoplay-skills.json.lock").exists()


def test_a_non_utf8_manifest_is_an_input_error_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project / ".agents/skills"
    folder.mkdir(parents=True)
    (folder / ".autoplay-skills.json").write_bytes(b'{"format": 1, "skills": {"\xff": {}}}')
    assert run(["install-skills", "--agent", "agents"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert str(folder / ".autoplay-skills.json") in err and "not UTF-8" in err


@pytest.mark.parametrize("in_the_way", [".agents", ".agents/skills"])
def test_a_file_in_the_way_of_the_target_folder_exits_1_as_documented(
    project: Path, capsys: pytest.CaptureFixture[str], in_the_way: str
) -> None:
    if in_the_way != ".agents":
        (project / ".agents").mkdir()
    (project / in_the_way).write_text("mine\n", encoding="utf-8")
    assert run(["install-skills", "--agent", "agents"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert in_the_way in err and "in the way" in err
    assert (project / in_the_way).read_text(encoding="utf-8") == "mine\n"


def test_install_is_the_default_subcommand(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["install-skills", "--chatbot", "ada", "--dry-run"]) == 0
    implicit = capsys.readouterr()
    assert run(["install-skills", "install", "--chatbot", "ada", "--dry-run"]) == 0
    assert capsys.readouterr() == implicit
    assert "install        .agents/skills/chatbot-ada" in implicit.out


@pytest.mark.parametrize("sub", [[], ["install"], ["list"], ["validate"]])
def test_help_names_values_and_ends_with_examples(
    capsys: pytest.CaptureFixture[str], sub: list[str]
) -> None:
    assert run(["install-skills", *sub, "--help"]) == 0
    text = capsys.readouterr().out
    assert not re.search(r"<(str|int|float|list\[str\])>", text), text
    tail = text.rstrip().splitlines()
    examples = tail[tail.index("  Examples:") + 1 :]
    assert 2 <= len(examples) <= 3
    assert all(line.startswith("    autoplay install-skills") for line in examples)
    if not sub:
        assert "install   " in text and "list      " in text and "validate  " in text


def test_an_update_never_writes_through_a_symlinked_folder_of_a_skill(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["install-skills", "--agent", "agents"]) == 0
    here = project / ".agents/skills/autoplay-core"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # A cloned repository replaces the skill's references/ folder by a link to elsewhere;
    # updating the skill would write the bundled reference files there.
    shutil.rmtree(here / "references")
    (here / "references").symlink_to(outside, target_is_directory=True)
    capsys.readouterr()
    assert run(["install-skills", "--agent", "agents", "--force"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "autoplay-core/references/" in err and "leads outside the skill's folder" in err
    assert list(outside.iterdir()) == []


def test_a_folder_that_is_not_ours_may_hold_any_symlink(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = project / ".agents/skills/autoplay-core"  # the user's own, unrecorded folder
    mine.mkdir(parents=True)
    (mine / "notes").symlink_to(tmp_path, target_is_directory=True)
    assert run(["install-skills", "--agent", "agents", "--chatbot", "ada"]) == 0
    out = capsys.readouterr().out
    assert "conflict       .agents/skills/autoplay-core" in out
    assert "install        .agents/skills/chatbot-ada" in out


def test_a_folder_we_may_not_write_still_reports_an_unchanged_install(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from autoplay_cli.skillpack import manifest

    assert run(["install-skills", "--agent", "agents"]) == 0
    capsys.readouterr()

    def refused(path: Path) -> int:
        # The tests run as root, for whom no folder is read-only: refuse as a real one would.
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(manifest, "_open_lock", refused)
    assert run(["install-skills", "--agent", "agents"]) == 0
    assert "Done: 11 unchanged" in capsys.readouterr().err
