"""Plan and apply: fresh install, re-run, upgrade, local edits, --force, conflicts, --migrate."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from autoplay_cli.errors import AutoplayError, InputError
from autoplay_cli.skillpack import manifest, plan
from autoplay_cli.skillpack.agents import Target, resolve_targets
from autoplay_cli.skillpack.bundle import Bundle, sha256
from autoplay_cli.skillpack.plan import Action, apply, make_plan, status

Snapshot = Callable[[Path], dict[str, bytes]]
CORE = "autoplay-core"
INTERCOM = "chatbot-intercom"
SKILLS = (CORE, INTERCOM)


def claude(project: Path) -> list[Target]:
    return resolve_targets(project, ["claude"])[0]


def actions(p: plan.Plan) -> dict[str, str]:
    return {i.skill: i.action.value for i in p.items}


def install(
    project: Path, bundle: Bundle, skills: tuple[str, ...] = SKILLS, **kw: object
) -> tuple[plan.Plan, plan.Result]:
    the_plan = make_plan(claude(project), skills, bundle, **kw)  # type: ignore[arg-type]
    return the_plan, apply(the_plan)


def test_fresh_install_copies_byte_identical_files_and_a_manifest(
    project: Path, bundle: Bundle, snapshot: Snapshot
) -> None:
    the_plan, result = install(project, bundle)
    assert actions(the_plan) == {CORE: "install", INTERCOM: "install"}
    folder = project / ".claude" / "skills"
    for skill in SKILLS:
        for rel, data in bundle.skills[skill].files.items():
            assert (folder / skill / rel).read_bytes() == data
    files = snapshot(folder)
    assert set(files) == {".autoplay-skills.json"} | {
        f"{s}/{rel}" for s in SKILLS for rel in bundle.skills[s].files
    }
    man = json.loads(files[".autoplay-skills.json"])
    assert man["format"] == 1
    assert man["skills"][CORE]["files"] == bundle.skills[CORE].hashes()
    assert list(man["skills"]) == sorted(man["skills"])
    assert "time" not in files[".autoplay-skills.json"].decode()
    assert len(result.written) == len(files)


def test_rerun_changes_nothing(project: Path, bundle: Bundle, snapshot: Snapshot) -> None:
    install(project, bundle)
    before = snapshot(project)
    mtimes = {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file()}
    the_plan, result = install(project, bundle)
    assert actions(the_plan) == {CORE: "unchanged", INTERCOM: "unchanged"}
    assert result.written == [] and result.removed == []
    assert snapshot(project) == before
    assert {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file()} == mtimes


def test_manifest_is_deterministic(project: Path, bundle: Bundle, tmp_path: Path) -> None:
    install(project, bundle)
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    install(other, bundle, (INTERCOM, CORE))
    name = ".claude/skills/.autoplay-skills.json"
    assert (project / name).read_bytes() == (other / name).read_bytes()


def test_upgrade_replaces_untouched_skills_keeps_user_files(
    project: Path, bundle: Bundle, make_variant: Callable[..., Bundle]
) -> None:
    old = make_variant(bundle, {CORE: {"SKILL.md": b"old core\n", "references/gone.md": b"x\n"}})
    install(project, old)
    here = project / ".claude/skills" / CORE
    (here / "NOTES.md").write_text("mine\n", encoding="utf-8")  # a file we never wrote
    the_plan, result = install(project, bundle)
    assert actions(the_plan) == {CORE: "update", INTERCOM: "unchanged"}
    assert (here / "SKILL.md").read_bytes() == bundle.skills[CORE].files["SKILL.md"]
    assert not (here / "references/gone.md").exists()
    assert (here / "NOTES.md").read_text(encoding="utf-8") == "mine\n"
    assert here / "references/gone.md" in result.removed
    entry = manifest.load(here.parent).skills[CORE]  # type: ignore[union-attr]
    assert entry.files == bundle.skills[CORE].hashes()


def test_local_edits_are_kept_and_reported(
    project: Path, bundle: Bundle, make_variant: Callable[..., Bundle]
) -> None:
    old = make_variant(bundle, {CORE: {"SKILL.md": b"old core\n"}})
    install(project, old)
    edited = project / ".claude/skills" / CORE / "SKILL.md"
    edited.write_text("my edits\n", encoding="utf-8")
    the_plan, result = install(project, bundle)
    (item,) = [i for i in the_plan.items if i.skill == CORE]
    assert item.action is Action.KEPT_MODIFIED and item.modified == ("SKILL.md",)
    assert edited.read_text(encoding="utf-8") == "my edits\n"
    assert all(CORE not in str(p) for p in result.written)
    rows = {r.skill: r.state for r in status(claude(project), bundle)}
    assert rows == {CORE: "modified", INTERCOM: "current"}


def test_force_backs_up_then_updates(project: Path, bundle: Bundle) -> None:
    install(project, bundle)
    edited = project / ".claude/skills" / CORE / "references" / "payloads.md"
    edited.write_text("my edits\n", encoding="utf-8")
    the_plan, result = install(project, bundle, force=True)
    (item,) = [i for i in the_plan.items if i.skill == CORE]
    backup = project / ".claude" / ".autoplay-skill-backups" / f"{CORE}.1"
    assert item.action is Action.UPDATE and item.backup == backup
    assert result.backups == [backup]
    assert (backup / "references/payloads.md").read_text(encoding="utf-8") == "my edits\n"
    assert edited.read_bytes() == bundle.skills[CORE].files["references/payloads.md"]
    edited.write_text("again\n", encoding="utf-8")
    again, _ = install(project, bundle, force=True)
    assert [i.backup for i in again.items if i.skill == CORE] == [backup.with_name(f"{CORE}.2")]


def test_a_user_file_where_a_new_version_ships_one_is_an_edit_not_overwritten(
    project: Path, bundle: Bundle, make_variant: Callable[..., Bundle]
) -> None:
    old = make_variant(bundle, {CORE: {"references/payloads.md": None}})
    install(project, old)
    theirs = project / ".claude/skills" / CORE / "references/payloads.md"
    theirs.write_text("the user's own notes\n", encoding="utf-8")  # never shipped by us
    the_plan, _ = install(project, bundle)
    (item,) = [i for i in the_plan.items if i.skill == CORE]
    assert item.action is Action.KEPT_MODIFIED and item.modified == ("references/payloads.md",)
    assert theirs.read_text(encoding="utf-8") == "the user's own notes\n"
    assert {r.skill: r.state for r in status(claude(project), bundle)}[CORE] == "modified"
    forced, _ = install(project, bundle, force=True)
    (item,) = [i for i in forced.items if i.skill == CORE]
    assert item.backup is not None
    assert (item.backup / "references/payloads.md").read_text(encoding="utf-8") == (
        "the user's own notes\n"
    )


def test_a_write_failure_is_one_clear_error_and_the_rerun_resumes(
    project: Path, bundle: Bundle
) -> None:
    install(project, bundle)
    here = project / ".claude/skills" / CORE
    shutil.rmtree(here / "references")
    blocker = here / "references"  # a file where the skill needs a folder
    blocker.write_text("in the way\n", encoding="utf-8")
    with pytest.raises(AutoplayError) as caught:
        install(project, bundle, force=True)
    assert not isinstance(caught.value, OSError)
    assert caught.value.message.startswith(f"cannot install {CORE}: {blocker}")
    assert blocker.read_text(encoding="utf-8") == "in the way\n"
    # The manifest says what is ours now (SKILL.md), not what failed to land.
    entry = manifest.load(here.parent).skills[CORE]  # type: ignore[union-attr]
    assert entry.files == {"SKILL.md": bundle.skills[CORE].hashes()["SKILL.md"]}
    blocker.unlink()
    again, _ = install(project, bundle)
    assert actions(again)[CORE] == "update"
    for rel, data in bundle.skills[CORE].files.items():
        assert (here / rel).read_bytes() == data


def test_ctrl_c_half_way_leaves_a_manifest_the_rerun_resumes_from(
    project: Path, bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = manifest.write_atomic
    calls: list[Path] = []

    def interrupted(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(manifest, "write_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        install(project, bundle)
    monkeypatch.setattr(manifest, "write_atomic", real)
    folder = project / ".claude/skills"
    entry = manifest.load(folder).skills[CORE]  # type: ignore[union-attr]
    assert entry.files == {"SKILL.md": bundle.skills[CORE].hashes()["SKILL.md"]}
    again, _ = install(project, bundle)
    assert actions(again) == {CORE: "update", INTERCOM: "install"}
    for rel, data in bundle.skills[CORE].files.items():
        assert (folder / CORE / rel).read_bytes() == data


def test_unchanged_edit_back_to_bundled_is_unchanged(project: Path, bundle: Bundle) -> None:
    install(project, bundle)
    path = project / ".claude/skills" / CORE / "SKILL.md"
    original = path.read_bytes()
    path.write_bytes(b"tmp")
    path.write_bytes(original)
    assert actions(make_plan(claude(project), SKILLS, bundle))[CORE] == "unchanged"


def test_foreign_folders_are_never_touched_even_with_force(
    project: Path, bundle: Bundle, snapshot: Snapshot
) -> None:
    foreign = project / ".claude/skills" / INTERCOM
    foreign.mkdir(parents=True)
    (foreign / "SKILL.md").write_text("someone else's\n", encoding="utf-8")
    the_plan, _ = install(project, bundle, force=True)
    assert actions(the_plan) == {CORE: "install", INTERCOM: "conflict"}
    [note] = [i.note for i in the_plan.items if i.skill == INTERCOM]
    # It cannot know who made the folder (a lost manifest looks the same): it says what it saw.
    assert "no manifest records" in note and "move it aside" in note
    assert (foreign / "SKILL.md").read_text(encoding="utf-8") == "someone else's\n"
    assert INTERCOM not in manifest.load(foreign.parent).skills  # type: ignore[union-attr]
    assert {r.skill: r.state for r in status(claude(project), bundle)}[INTERCOM] == "unmanaged"


def test_an_identical_unmanaged_copy_is_adopted(project: Path, bundle: Bundle) -> None:
    here = project / ".claude/skills" / INTERCOM
    here.mkdir(parents=True)
    (here / "SKILL.md").write_bytes(bundle.skills[INTERCOM].files["SKILL.md"])
    the_plan, result = install(project, bundle)
    assert actions(the_plan)[INTERCOM] == "unchanged"
    assert INTERCOM in manifest.load(here.parent).skills  # type: ignore[union-attr]
    assert here / "SKILL.md" not in result.written


def test_removed_folder_is_installed_again(project: Path, bundle: Bundle) -> None:
    install(project, bundle)
    import shutil

    shutil.rmtree(project / ".claude/skills" / INTERCOM)
    the_plan, _ = install(project, bundle)
    assert actions(the_plan)[INTERCOM] == "install"
    assert (project / ".claude/skills" / INTERCOM / "SKILL.md").is_file()


def test_make_plan_writes_nothing(project: Path, bundle: Bundle, snapshot: Snapshot) -> None:
    (project / "CLAUDE.md").write_text("x", encoding="utf-8")
    before = snapshot(project)
    targets, _ = resolve_targets(project, ["claude", "cursor", "codex", "gemini"])
    the_plan = make_plan(targets, SKILLS, bundle, force=True, migrate=True)
    assert len(the_plan.items) == 6
    assert snapshot(project) == before


def test_several_agents_at_once(project: Path, bundle: Bundle, snapshot: Snapshot) -> None:
    targets, _ = resolve_targets(project, ["claude", "cursor", "codex", "gemini"])
    assert len(targets) == 3
    apply(make_plan(targets, SKILLS, bundle))
    for folder in (".claude/skills", ".cursor/skills", ".agents/skills"):
        files = snapshot(project / folder)
        assert files[f"{INTERCOM}/SKILL.md"] == bundle.skills[INTERCOM].files["SKILL.md"]
        assert ".autoplay-skills.json" in files


def legacy_table(skill: str, content: bytes) -> plan.Legacy:
    return {skill: [("0.7.8", {"SKILL.md": sha256(content)})]}


def test_migrate_adopts_unmodified_legacy_copies(project: Path, bundle: Bundle) -> None:
    legacy_core, legacy_tidio = b"legacy core v0.7.8\n", b"legacy tidio\n"
    table = {**legacy_table(CORE, legacy_core), **legacy_table("chatbot-tidio", legacy_tidio)}
    cursor = project / ".cursor" / "skills"
    for skill, data in ((CORE, legacy_core), ("chatbot-tidio", legacy_tidio)):
        (cursor / skill).mkdir(parents=True)
        (cursor / skill / "SKILL.md").write_bytes(data)
    targets, how = resolve_targets(project)
    assert how == "detected" and [t.folder for t in targets] == [cursor]
    without = make_plan(targets, (CORE,), bundle, legacy=table)
    assert actions(without) == {CORE: "conflict"}
    assert "`migrate`" in without.items[0].note
    the_plan = make_plan(
        targets, (CORE, "autoplay-migrate-imports"), bundle, migrate=True, legacy=table
    )
    assert actions(the_plan) == {
        CORE: "migrate",
        "autoplay-migrate-imports": "install",
        "chatbot-tidio": "migrate",
    }
    apply(the_plan)
    for skill in (CORE, "chatbot-tidio"):
        assert (cursor / skill / "SKILL.md").read_bytes() == bundle.skills[skill].files["SKILL.md"]
    man = manifest.load(cursor)
    assert man is not None
    assert man.skills[CORE].origin == "migrated from autoplay-sdk 0.7.8"
    assert actions(make_plan(targets, (CORE,), bundle, migrate=True, legacy=table)) == {
        CORE: "unchanged"
    }


def test_migrate_leaves_edited_legacy_copies_alone(project: Path, bundle: Bundle) -> None:
    cursor = project / ".cursor" / "skills"
    (cursor / CORE).mkdir(parents=True)
    (cursor / CORE / "SKILL.md").write_bytes(b"legacy core, edited\n")
    table = legacy_table(CORE, b"legacy core\n")
    the_plan = make_plan([Target(cursor, ("cursor",))], (CORE,), bundle, migrate=True, legacy=table)
    assert actions(the_plan) == {CORE: "conflict"}
    apply(the_plan)
    assert (cursor / CORE / "SKILL.md").read_bytes() == b"legacy core, edited\n"


def test_the_shipped_legacy_table_is_well_formed() -> None:
    table = plan.load_legacy()
    assert set(table) == {
        "activity-fullstory",
        "activity-posthog",
        CORE,
        "autoplay-migrate-imports",
        "chatbot-ada",
        "chatbot-botpress",
        "chatbot-crisp",
        "chatbot-dify",
        "chatbot-intercom",
        "chatbot-landbot",
        "chatbot-tidio",
    }
    for versions in table.values():
        for label, files in versions:
            assert label.startswith("0.7.")
            assert list(files) == ["SKILL.md"]
            assert all(len(h) == 64 and int(h, 16) >= 0 for h in files.values())


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"format": 2, "skills": {}}',
        '{"format": 1, "skills": []}',
        '{"format": 1, "skills": {"x": {"files": {"a": 1}, "version": "1"}}}',
    ],
)
def test_a_malformed_manifest_is_a_clear_input_error(
    project: Path, bundle: Bundle, text: str
) -> None:
    folder = project / ".claude" / "skills"
    folder.mkdir(parents=True)
    (folder / manifest.MANIFEST_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        make_plan(claude(project), SKILLS, bundle)
    assert manifest.MANIFEST_NAME in str(info.value)
    assert info.value.hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": 2, "skills": {}}', ":1: format: expected 1, got 2"),
        ('{"format": 1}', ": missing 'skills'"),
        (
            '{\n  "format": 1,\n  "skills": {\n'
            '    "x": {"files": {"a": "0", "b": 1}, "version": "1"}\n  }\n}',
            ":4: skills.x.files.b: expected a string, got 1",
        ),
        ('{"format": 1, "skills": {"x": {"files": {}}}}', ":1: skills.x: missing 'version'"),
    ],
)
def test_a_manifest_mistake_names_its_line_and_key_path(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / manifest.MANIFEST_NAME).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        manifest.load(tmp_path)
    assert info.value.message == f"{tmp_path / manifest.MANIFEST_NAME}{message}"
    assert info.value.hint is not None and "delete it" in info.value.hint
