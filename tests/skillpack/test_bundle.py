"""Finding the bundled skills: from the source tree, and from an installed wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from autoplay_cli.skillpack import bundle

REPO = Path(__file__).resolve().parents[2]
SKILLS_DIR = REPO / "skills"


def test_source_tree_bundle_holds_every_skill_folder() -> None:
    found = bundle.load()
    assert found.source == "source tree"
    assert Path(found.location) == SKILLS_DIR
    on_disk = sorted(p.parent.name for p in SKILLS_DIR.glob("*/SKILL.md"))
    assert sorted(found.skills) == on_disk
    core = found.skills["autoplay-core"]
    assert core.files["SKILL.md"] == (SKILLS_DIR / "autoplay-core/SKILL.md").read_bytes()
    assert "references/payloads.md" in core.files
    assert all(not rel.startswith(".") for s in found.skills.values() for rel in s.files)


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{cmd}: {result.stdout}\n{result.stderr}"
    return result


def test_installer_works_from_an_installed_wheel(tmp_path: Path) -> None:
    """Build the wheel, install it in a fresh venv, and run the installer from there.

    The fresh venv gets the toolkit's dependencies through a .pth line pointing at the
    test environment's site-packages (no network); the wheel's own ``autoplay_cli``
    comes first on sys.path, so the source tree is not used.
    """
    wheels = tmp_path / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(wheels),
            str(REPO),
        ]
    )
    (wheel,) = wheels.glob("autoplay_cli-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ]
    )
    target_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (target_site / "test-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    (project / "CLAUDE.md").write_text("x", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    autoplay = str(env_dir / "bin" / "autoplay")

    listing = _run([autoplay, "install-skills", "list", "--json"], cwd=project, env=env)
    head = json.loads(listing.stdout.splitlines()[0])
    assert head["kind"] == "bundle" and head["source"] == "wheel"
    location = Path(head["location"])
    assert location.is_relative_to(env_dir) and location.name == "_skills"

    _run([autoplay, "install-skills", "validate", str(location)], cwd=project, env=env)
    done = _run([autoplay, "install-skills", "--json"], cwd=project, env=env)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["action"] for r in rows} == {"install"} and len(rows) == 11
    installed = project / ".claude" / "skills"
    for source in SKILLS_DIR.rglob("*"):
        if source.is_file() and not source.name.startswith("."):
            rel = source.relative_to(SKILLS_DIR)
            assert (installed / rel).read_bytes() == source.read_bytes(), rel
    again = _run([autoplay, "install-skills", "--json"], cwd=project, env=env)
    assert {json.loads(line)["action"] for line in again.stdout.splitlines()} == {"unchanged"}
