"""The distribution is ``autoplay-cli``: the metadata says so, no document tells users to
install the unrelated ``autoplay`` project, and the wheel ships no test helper."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# `pip install autoplay` that is not `autoplay-cli` / `autoplay_cli`: bare, quoted, with
# extras or a version, after other packages or options in the same command (a later
# `&& autoplay doctor` is another command, not a package).
BARE_INSTALL = re.compile(
    r"""pip3?\s+install\b[^\n`&;|#]*?(?<![\w.-])['"]?autoplay(?![\w-])""",
    re.IGNORECASE,
)


def _documents() -> list[Path]:
    found = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "BENCHMARKS.md"]
    for folder in ("docs", "skills", "examples"):
        found += sorted(p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix != ".pyc")
    return [p for p in found if p.exists()]


@pytest.mark.parametrize(
    "line",
    [
        "pip install autoplay",
        "$ pip install autoplay && autoplay doctor",
        "pip install 'autoplay'",
        'pip install "autoplay[redis]"',
        "pip install autoplay==0.1.0",
        "pip3 install -U autoplay",
        "pip install httpx autoplay",
        "`pip install autoplay`",
    ],
)
def test_the_check_catches_the_old_name(line: str) -> None:
    assert BARE_INSTALL.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "pip install autoplay-cli",
        "pip install 'autoplay-cli[test]'",
        "pip install autoplay_cli",
        "pip install autoplay-sdk",
        ".venv/bin/pip install '.[test]'",
        "pip install autoplay-cli && autoplay doctor",
        "pip install autoplay-cli  # then run autoplay",
    ],
)
def test_the_check_passes_the_new_name(line: str) -> None:
    assert not BARE_INSTALL.search(line)


def test_no_document_tells_users_to_install_the_old_name() -> None:
    documents = _documents()
    assert len(documents) > 10  # README, CHANGELOG, the skills, the examples, docs/
    offenders = []
    for path in documents:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if BARE_INSTALL.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_distribution_is_named_autoplay_cli() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "autoplay-cli"
    assert meta["project"]["scripts"] == {"autoplay": "autoplay_cli.cli.app:main"}


def test_the_wheel_ships_the_package_and_skills_but_no_test_helper(tmp_path: Path) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "--quiet", "-w", str(tmp_path), str(REPO)], check=True)
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("autoplay_cli-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        assert "\nName: autoplay-cli\n" in archive.read(metadata).decode()
    assert "autoplay_cli/cli/app.py" in names
    assert "autoplay_cli/_skills/autoplay-core/SKILL.md" in names
    assert not [n for n in names if "local_redis" in n]
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]
