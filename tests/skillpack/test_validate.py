"""The Agent Skills validator: every bundled skill passes; each rule catches its violation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoplay_cli.skillpack.validate import validate_skill, validate_tree

SKILLS_DIR = Path(__file__).resolve().parents[2] / "skills"

GOOD_FM = 'name: {name}\ndescription: "Does a thing for tests. Use when testing the validator."\n'


def make(
    root: Path,
    name: str = "demo-skill",
    fm: str | None = None,
    body: str = "# Demo\n",
    files: dict[str, str] | None = None,
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    front = GOOD_FM.format(name=name) if fm is None else fm
    (folder / "SKILL.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    for rel, text in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def messages(folder: Path, severity: str = "error") -> list[str]:
    return [p.message for p in validate_skill(folder) if p.severity == severity]


def test_every_bundled_skill_is_valid_without_warnings() -> None:
    folders, problems = validate_tree(SKILLS_DIR)
    assert len(folders) == 11
    assert [str(p) for p in problems] == []


def test_a_minimal_skill_is_valid(tmp_path: Path) -> None:
    assert validate_skill(make(tmp_path)) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Demo-Skill", "lowercase"),
        ("-demo", "lowercase"),
        ("demo-", "lowercase"),
        ("demo--skill", "lowercase"),
        ("demo_skill", "lowercase"),
        ("a" * 65, "at most 64"),
    ],
)
def test_bad_names(tmp_path: Path, name: str, fragment: str) -> None:
    folder = make(tmp_path, name, GOOD_FM.format(name=name))
    assert any(fragment in m for m in messages(folder)), messages(folder)


def test_name_must_equal_the_folder(tmp_path: Path) -> None:
    folder = make(tmp_path, "demo-skill", GOOD_FM.format(name="other-skill"))
    assert any("must equal the folder name" in m for m in messages(folder))


@pytest.mark.parametrize(
    ("fm", "fragment"),
    [
        ("name: demo-skill\n", "'description' is required"),
        (
            'name: demo-skill\ndescription: ""\n',
            "'description': expected a non-empty string of at most 1024 characters, got ''",
        ),
        ('name: demo-skill\ndescription: "' + "x" * 1025 + ' use when"\n', "at most 1024"),
        ('description: "Use when x."\n', "'name' is required"),
        (GOOD_FM.format(name="demo-skill") + "version: 1\n", "'version' is not allowed"),
        (GOOD_FM.format(name="demo-skill") + "name: demo-skill\n", "duplicate key"),
        (
            GOOD_FM.format(name="demo-skill") + "metadata:\n  version: 1.0\n",
            "'metadata.version': expected a string (quote numbers such as \"1.0\"), got 1.0",
        ),
        (
            GOOD_FM.format(name="demo-skill") + "compatibility: " + "x" * 501 + "\n",
            "'compatibility': expected a string of 1-500 characters",
        ),
        (GOOD_FM.format(name="demo-skill") + "allowed-tools: {a: 1}\n", "'allowed-tools'"),
        (GOOD_FM.format(name="demo-skill") + "license: ''\n", "'license'"),
        ("name: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping"),
    ],
)
def test_frontmatter_rules(tmp_path: Path, fm: str, fragment: str) -> None:
    folder = make(tmp_path, fm=fm)
    assert any(fragment in m for m in messages(folder)), messages(folder)


def test_allowed_tools_as_string_or_list_and_optional_fields_pass(tmp_path: Path) -> None:
    fm = (
        GOOD_FM.format(name="demo-skill") + "license: MIT\ncompatibility: Needs git\n"
        'metadata:\n  author: me\n  version: "1.0"\nallowed-tools:\n  - Read\n  - Bash(git:*)\n'
    )
    assert validate_skill(make(tmp_path, fm=fm)) == []


def test_missing_frontmatter_or_skill_file(tmp_path: Path) -> None:
    folder = tmp_path / "no-front"
    folder.mkdir()
    (folder / "SKILL.md").write_text("# Just markdown\n", encoding="utf-8")
    assert any("frontmatter" in m for m in messages(folder))
    empty = tmp_path / "empty-skill"
    empty.mkdir()
    assert messages(empty) == ["no SKILL.md in the skill folder"]


def test_body_must_stay_under_500_lines(tmp_path: Path) -> None:
    ok = make(tmp_path, "short-skill", body="line\n" * 499)
    assert messages(ok) == []
    long = make(tmp_path, "long-skill", body="line\n" * 500)
    assert any("under 500" in m for m in messages(long))


def test_links_must_name_files_inside_one_level_deep(tmp_path: Path) -> None:
    body = (
        "[ok](references/ok.md) [web](https://example.com) [anchor](#x)\n"
        "[missing](references/missing.md)\n[outside](../elsewhere.md)\n"
        "[abs](/etc/passwd)\n[deep](a/b/deep.md)\n"
    )
    folder = make(
        tmp_path, body=body, files={"references/ok.md": "fine\n", "a/b/deep.md": "deep\n"}
    )
    found = messages(folder)
    assert any("'references/missing.md' does not name a file" in m for m in found)
    assert any("'../elsewhere.md' points outside" in m for m in found)
    assert any("'/etc/passwd' must be relative" in m for m in found)
    assert any("'a/b/deep.md' is nested too deep" in m for m in found)
    assert len(found) == 4, found


def test_reference_files_do_not_chain(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        body="[a](references/a.md)\n",
        files={"references/a.md": "[b](b.md) [home](../SKILL.md)\n", "references/b.md": "b\n"},
    )
    found = messages(folder)
    assert len(found) == 1 and "must not link on" in found[0]


def test_symlinks_are_refused(tmp_path: Path) -> None:
    folder = make(tmp_path, files={"references/real.md": "x\n"})
    os.symlink(folder / "references" / "real.md", folder / "references" / "link.md")
    assert any("symlinks" in m for m in messages(folder))


def test_house_warnings_unquoted_or_no_when(tmp_path: Path) -> None:
    folder = make(tmp_path, fm="name: demo-skill\ndescription: Does things.\n")
    assert messages(folder) == []
    warnings = messages(folder, "warning")
    assert any("quoted" in w for w in warnings) and any("when to use" in w for w in warnings)


def test_problems_carry_the_line(tmp_path: Path) -> None:
    folder = make(tmp_path, fm=GOOD_FM.format(name="demo-skill") + "bogus: 1\n")
    (problem,) = validate_skill(folder)
    assert problem.line == 4
    assert str(problem).endswith(
        "SKILL.md:4: error: field 'bogus' is not allowed "
        "(allowed: name, description, license, compatibility, "
        "metadata, allowed-tools)"
    )


def test_link_problems_carry_the_line_of_the_file_not_of_the_body(tmp_path: Path) -> None:
    folder = make(tmp_path, body="# Demo\n\nSee [missing](references/nope.md).\n")
    (problem,) = validate_skill(folder)
    assert "does not name a file" in problem.message
    assert problem.line == 7  # 4 frontmatter lines, then the body's line 3


def test_validate_tree_accepts_one_skill_or_a_parent(tmp_path: Path) -> None:
    folder = make(tmp_path)
    assert validate_tree(folder) == ([folder], [])
    make(tmp_path, "second-skill")
    folders, problems = validate_tree(tmp_path)
    assert [f.name for f in folders] == ["demo-skill", "second-skill"] and problems == []


def test_every_frontmatter_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    fm = "name: Demo\nlicense: ''\nmetadata:\n  a: 1\n  b: [x]\nallowed-tools: {a: 1}\n"
    folder = make(tmp_path, fm=fm)
    found = [(p.line, p.message) for p in validate_skill(folder) if p.severity == "error"]
    assert found == [
        (
            2,
            "'name': expected at most 64 lowercase letters, digits and single hyphens, "
            "not starting or ending with a hyphen, got 'Demo'",
        ),
        (None, "'description' is required (a non-empty string of at most 1024 characters)"),
        (3, "'license': expected a non-empty string, got ''"),
        (4, "'metadata.a': expected a string (quote numbers such as \"1.0\"), got 1"),
        (7, "'allowed-tools': expected a space-delimited string or a list of strings, got a table"),
        (2, "'name' 'Demo' must equal the folder name 'demo-skill'"),
    ]
