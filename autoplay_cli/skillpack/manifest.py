"""The install manifest: one JSON file per target folder recording what we wrote.

Sorted keys, no timestamps, a SHA-256 per installed file, so a re-run can tell an
untouched copy (safe to update) from one the user edited (kept) and from files that
never came from us (never touched).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Literal

import msgspec

from autoplay_cli.documents import decode_text
from autoplay_cli.errors import InputError

MANIFEST_NAME = ".autoplay-skills.json"
LOCK_NAME = ".autoplay-skills.json.lock"
FORMAT: Literal[1] = 1  # the one format this version reads and writes (_ManifestDoc.format)
_HINT = "fix the file by hand, or delete it (installed skills are then reported as conflicts)"


class _EntryDoc(msgspec.Struct):
    files: dict[str, str]
    version: str
    origin: str = "autoplay"


class _ManifestDoc(msgspec.Struct):
    """The manifest as written by :meth:`Manifest.to_json` (``generator`` is not read)."""

    format: Literal[1]
    skills: dict[str, _EntryDoc]


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


def plain_relative(rel: str) -> bool:
    """Whether *rel* is a relative POSIX path of plain names: no ``..``, no root, no drive.

    The manifest lives in the repository, so a cloned project can carry a crafted one;
    only such paths may ever be joined to a skill folder.
    """
    parts = rel.split("/")
    return (
        bool(rel)
        and all(part not in ("", ".", "..") for part in parts)
        and "\\" not in rel
        and "\0" not in rel
        and not PureWindowsPath(rel).drive
    )


def inside(folder: Path, rel: str) -> bool:
    """Whether ``folder / rel`` stays below *folder* once symlinks are followed."""
    base = os.path.realpath(folder)
    real = os.path.realpath(folder / rel)
    return real != base and os.path.commonpath([base, real]) == base


def load(folder: Path) -> Manifest | None:
    """The manifest of *folder*, or None when there is none.

    Declared as msgspec Structs and read by the documents loader: a mistake names the
    line and key path (``skills.demo.files.SKILL.md: expected a string, got 1``). Every
    skill name and file path in it must be a plain relative path (see
    :func:`plain_relative`); anything else is an :class:`InputError`, raised before
    anything is touched.
    """
    path = path_for(folder)
    try:
        raw_bytes = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        # No folder, or a file where the folder should be: no manifest. Writing into it
        # fails later with the path that is in the way.
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)", hint=_HINT
        ) from None
    try:
        doc = decode_text(text, source=str(path), toml=False)
        declared = doc.load(_ManifestDoc)
    except InputError as exc:
        raise InputError(exc.message, hint=_HINT) from None
    skills: dict[str, Entry] = {}
    for name, entry in declared.skills.items():
        if not plain_relative(name) or "/" in name:
            raise InputError(
                f"{path}: skill name {name!r} is not a plain folder name", hint=_UNSAFE_HINT
            )
        for rel in entry.files:
            if not plain_relative(rel):
                raise InputError(
                    f"{path}: skill {name!r} lists {rel!r}, which is not a path inside "
                    "the skill's folder; nothing was changed",
                    hint=_UNSAFE_HINT,
                )
        skills[name] = Entry(entry.version, entry.files, entry.origin)
    return Manifest(skills)


_UNSAFE_HINT = (
    "the manifest may have been crafted (it travels with the repository): remove that "
    "entry or delete the file, then run again"
)


def check_inside(folder: Path, skill: str, rels: Iterable[str]) -> None:
    """Raise :class:`InputError` when a path of *skill* leaves its folder through a symlink."""
    here = folder / skill
    if not here.exists():
        return
    for rel in sorted(rels):
        if not inside(here, rel):
            raise InputError(
                f"{path_for(folder)}: {skill}/{rel} leads outside the skill's folder "
                "(through a symlink); nothing was changed",
                hint="remove the symlink from the skill's folder, then run again",
            )


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the manifest's lock file (next to it) for a read-modify-write of the manifest.

    Parallel installs into one folder then take turns instead of each writing back
    the manifest it read, which dropped the others' entries. Creates *folder*. The
    lock file is removed on release, so none is left in the user's repository.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; runs are not serialised
        yield
        return
    path = folder / LOCK_NAME
    while True:
        try:
            fd = _open_lock(path)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            # A folder we may not write: a run with nothing to write still succeeds (as
            # before there was a lock), and any write it tries fails with its own error.
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # The holder before us may have removed the file we locked: then our lock
            # guards nothing, and we start again on the file now at that name.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still holding the lock, so no one else locks it meanwhile
        os.close(fd)


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


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
