"""The install manifest: one JSON file per target folder recording what we wrote.

Sorted keys, no timestamps, a SHA-256 per installed file, so a re-run can tell an
untouched copy (safe to update) from one the user edited (kept) and from files that
never came from us (never touched).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autoplay_cli.errors import InputError

MANIFEST_NAME = ".autoplay-skills.json"
FORMAT = 1


@dataclass
class Entry:
    """One installed skill: its version and the hash of every file we wrote."""

    version: str
    files: dict[str, str]
    origin: str = "autoplay"  # or "autoplay-sdk <versions>" for an adopted legacy copy


@dataclass
class Manifest:
    skills: dict[str, Entry] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "format": FORMAT,
            "generator": "autoplay install-skills",
            "skills": {
                name: {
                    "files": dict(sorted(e.files.items())),
                    "origin": e.origin,
                    "version": e.version,
                }
                for name, e in sorted(self.skills.items())
            },
        }
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def path_for(folder: Path) -> Path:
    return folder / MANIFEST_NAME


def load(folder: Path) -> Manifest | None:
    """The manifest of *folder*, or None when there is none."""
    path = path_for(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    hint = "fix the file by hand, or delete it (installed skills are then reported as conflicts)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}", hint=hint) from exc
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to read", hint=hint) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: not an install manifest of format {FORMAT}", hint=hint)
    skills: dict[str, Entry] = {}
    raw_skills = data.get("skills")
    if not isinstance(raw_skills, dict):
        raise InputError(f"{path}: 'skills' must be an object", hint=hint)
    for name, raw in raw_skills.items():
        files = raw.get("files") if isinstance(raw, dict) else None
        version = raw.get("version") if isinstance(raw, dict) else None
        if (
            not isinstance(files, dict)
            or not isinstance(version, str)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        ):
            raise InputError(f"{path}: malformed entry for skill {name!r}", hint=hint)
        skills[name] = Entry(version, dict(files), str(raw.get("origin", "autoplay")))
    return Manifest(skills)


def write_atomic(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp creates 0600; give the file the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(folder: Path, manifest: Manifest) -> bool:
    """Write the manifest when its content changed; True when something was written."""
    path = path_for(folder)
    text = manifest.to_json()
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, text.encode("utf-8"))
    return True
