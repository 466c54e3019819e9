"""Plan and apply a skill install: decide per target and skill, then write only what is safe.

Decisions (one per target folder and skill):
  install        not there yet (or its folder was removed): copy it
  update         installed by us and untouched, bundled copy differs: replace our files
  migrate        an unmodified copy from the older SDK's installer (``--migrate``): adopt it
  unchanged      already identical to the bundled copy (the manifest is refreshed)
  kept-modified  installed by us, then edited: kept and reported (``--force`` backs it up
                 and updates it)
  conflict       a folder of that name that did not come from us: never touched
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path

from autoplay_cli.errors import AutoplayError
from autoplay_cli.skillpack import catalog, manifest
from autoplay_cli.skillpack.agents import Target
from autoplay_cli.skillpack.bundle import Bundle, sha256

BACKUP_DIR = ".autoplay-skill-backups"


class Action(StrEnum):
    INSTALL = "install"
    UPDATE = "update"
    MIGRATE = "migrate"
    UNCHANGED = "unchanged"
    KEPT_MODIFIED = "kept-modified"
    CONFLICT = "conflict"


WRITES = frozenset({Action.INSTALL, Action.UPDATE, Action.MIGRATE})

# Legacy versions: skill -> [(label, {relative path: sha256})].
Legacy = dict[str, list[tuple[str, dict[str, str]]]]


@dataclass(frozen=True)
class Item:
    """One decision: what happens to *skill* in the target folder *folder*."""

    folder: Path
    skill: str
    action: Action
    version: str
    installed: str | None = None
    modified: tuple[str, ...] = ()
    backup: Path | None = None
    note: str = ""

    @property
    def path(self) -> Path:
        return self.folder / self.skill

    def to_dict(self, root: Path) -> dict[str, object]:
        """The decision as JSON-ready data, paths relative to *root*."""
        return {
            "target": relative(self.folder, root),
            "skill": self.skill,
            "action": self.action.value,
            "version": self.version,
            "installed": self.installed,
            "modified": list(self.modified),
            "backup": relative(self.backup, root) if self.backup else None,
            "note": self.note,
        }


@dataclass
class Plan:
    targets: list[Target]
    skills: tuple[str, ...]
    items: list[Item]
    bundle: Bundle
    force: bool = False

    def counts(self) -> dict[str, int]:
        found = Counter(i.action.value for i in self.items)
        return {a.value: found[a.value] for a in Action}


@dataclass
class Result:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def relative(path: Path, root: Path) -> str:
    """*path* relative to *root* when below it (for display), else as given."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def load_legacy() -> Legacy:
    """The hashes of the older SDK's skill files, per skill (data shipped with the package)."""
    text = (
        resources.files("autoplay_cli.skillpack")
        .joinpath("legacy_versions.json")
        .read_text(encoding="utf-8")
    )
    table: Legacy = {}
    for skill, versions in json.loads(text)["skills"].items():
        for v in versions:
            sdk = v["sdk_versions"]
            label = sdk[0] if len(sdk) == 1 else f"{sdk[0]}–{sdk[-1]}"
            table.setdefault(skill, []).append((label, dict(v["files"])))
    return table


def _file_hash(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes()) if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def scan(folder: Path) -> dict[str, str]:
    """Hash of every regular file under *folder* (hidden names skipped), by relative path."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if not manifest.inside(folder, rel.as_posix()):  # reached through a symlinked folder
            continue
        digest = _file_hash(path)
        if digest is not None:
            found[rel.as_posix()] = digest
    return found


def local_edits(here: Path, entry: manifest.Entry, want: dict[str, str]) -> tuple[str, ...]:
    """Files of an installed skill that are not as we wrote them, sorted.

    Our recorded files that changed or went missing, and files the user put where the
    bundled version ships one of ours (they are the user's, so they count as edits).
    """
    edited = {r for r, h in entry.files.items() if _file_hash(here / r) != h}
    foreign = {
        r
        for r, h in want.items()
        if r not in entry.files and (here / r).exists() and _file_hash(here / r) != h
    }
    return tuple(sorted(edited | foreign))


def _backup_path(folder: Path, skill: str) -> Path:
    base = folder.parent / BACKUP_DIR
    n = 1
    while (base / f"{skill}.{n}").exists():
        n += 1
    return base / f"{skill}.{n}"


def _decide(
    target: Target,
    man: manifest.Manifest,
    skill: str,
    bundle: Bundle,
    *,
    force: bool,
    migrate: bool,
    legacy: Legacy,
) -> Item:
    version = catalog.BY_NAME[skill].version
    want = bundle.skills[skill].hashes()
    folder = target.folder
    here = folder / skill
    entry = man.skills.get(skill)
    if here.is_symlink() or (here.exists() and not here.is_dir()):
        return Item(
            folder,
            skill,
            Action.CONFLICT,
            version,
            note="not a plain folder (a symlink or a file): left alone",
        )
    if entry is not None:
        if not here.exists():
            return Item(
                folder,
                skill,
                Action.INSTALL,
                version,
                entry.version,
                note="its folder was removed: installing it again",
            )
        modified = local_edits(here, entry, want)
        stale = [r for r in entry.files if r not in want and (here / r).exists()]
        if not stale and all(_file_hash(here / r) == h for r, h in want.items()):
            return Item(folder, skill, Action.UNCHANGED, version, entry.version)
        if not modified:
            return Item(folder, skill, Action.UPDATE, version, entry.version)
        if force:
            return Item(
                folder,
                skill,
                Action.UPDATE,
                version,
                entry.version,
                modified,
                _backup_path(folder, skill),
                note="local edits backed up (`force`)",
            )
        return Item(
            folder,
            skill,
            Action.KEPT_MODIFIED,
            version,
            entry.version,
            modified,
            note="edited locally: kept (use `force` to back up and update)",
        )
    if not here.exists():
        return Item(folder, skill, Action.INSTALL, version)
    present = scan(here)
    if present == want:
        return Item(
            folder,
            skill,
            Action.UNCHANGED,
            version,
            version,
            note="identical to the bundled copy: now tracked by the manifest",
        )
    label = next((lab for lab, files in legacy.get(skill, []) if files == present), None)
    if label is not None and migrate:
        return Item(
            folder,
            skill,
            Action.MIGRATE,
            version,
            f"autoplay-sdk {label}",
            note=f"unmodified copy from autoplay-sdk {label}: adopted and updated",
        )
    if label is not None:
        return Item(
            folder,
            skill,
            Action.CONFLICT,
            version,
            f"autoplay-sdk {label}",
            note=f"copy from autoplay-sdk {label}: rerun with `migrate` to adopt it",
        )
    return Item(
        folder,
        skill,
        Action.CONFLICT,
        version,
        # Unknown origin: someone's own folder, or an autoplay copy whose manifest is gone
        # and that was edited or came from a release this toolkit does not know.
        note=(
            "a folder of that name exists that no manifest records and that matches no "
            "known autoplay copy: left alone (move it aside to install)"
        ),
    )


def make_plan(
    targets: list[Target],
    skills: tuple[str, ...],
    bundle: Bundle,
    *,
    force: bool = False,
    migrate: bool = False,
    legacy: Legacy | None = None,
) -> Plan:
    """Decide, for every target and selected skill, what an install would do. Writes nothing.

    With *migrate*, unmodified legacy copies of unselected catalog skills are adopted too.
    """
    if legacy is None:
        legacy = load_legacy() if migrate else {}
    items: list[Item] = []
    for target in targets:
        man = manifest.load(target.folder) or manifest.Manifest()
        names = list(skills)
        if migrate:
            for extra in bundle.skills:
                if extra in names or extra in man.skills or extra not in catalog.BY_NAME:
                    continue
                here = target.folder / extra
                if (
                    here.is_dir()
                    and not here.is_symlink()
                    and any(files == scan(here) for _, files in legacy.get(extra, []))
                ):
                    names.append(extra)
        decided = [
            _decide(target, man, skill, bundle, force=force, migrate=migrate, legacy=legacy)
            for skill in names
        ]
        _check_paths(target.folder, man, bundle, decided)
        items.extend(decided)
    return Plan(targets, skills, items, bundle, force)


def _check_paths(
    folder: Path, man: manifest.Manifest, bundle: Bundle, items: list[Item] | None = None
) -> None:
    """Refuse (InputError) when a file we would touch leaves its skill's folder.

    The manifest's paths are plain relative names (checked when it is read); this
    catches the rest: a symlink inside a skill's folder that points elsewhere, through
    which an update would delete or write files outside the skills folder. Checked: the
    files the manifest records (deleted or hashed) and, for the *items* that write, the
    bundled files. A folder that is not ours (a conflict) is never touched, so not checked.
    """
    for skill, entry in sorted(man.skills.items()):
        manifest.check_inside(folder, skill, entry.files)
    for item in items or ():
        if item.action in WRITES:
            manifest.check_inside(folder, item.skill, bundle.skills[item.skill].files)


def _prune_empty_dirs(top: Path, path: Path) -> None:
    for parent in path.parents:
        if parent == top or top not in parent.parents:
            break
        try:
            parent.rmdir()
        except OSError:
            break


def apply(plan: Plan) -> Result:
    """Carry out *plan*: copy files, make backups, update each target's manifest."""
    result = Result()
    for target in plan.targets:
        try:
            with manifest.locked(target.folder):
                _apply_target(plan, target, result)
        except OSError as exc:  # only the lock's: _apply_target reports its own
            raise _cannot_write(target.folder, exc) from exc
    return result


def _cannot_write(folder: Path, exc: OSError) -> AutoplayError:
    where = exc.filename or folder
    return AutoplayError(
        f"cannot write into {folder}: {where}: {exc.strerror or exc}",
        hint="move the file that is in the way or fix the permissions, then run again",
    )


def _apply_target(plan: Plan, target: Target, result: Result) -> None:
    """Apply *plan*'s items for *target*, holding its manifest lock (read-modify-write)."""
    items = [i for i in plan.items if i.folder == target.folder]
    loaded = manifest.load(target.folder)
    man = loaded or manifest.Manifest()
    _check_paths(target.folder, man, plan.bundle, items)
    before = man.to_json()
    for item in items:
        if item.action not in WRITES and item.action is not Action.UNCHANGED:
            continue
        want = plan.bundle.skills[item.skill].hashes()
        old = man.skills.get(item.skill)
        origin = old.origin if old else "autoplay"
        if item.action is Action.MIGRATE:
            origin = f"migrated from {item.installed}"
        if item.action in WRITES:
            try:
                _write_skill(plan, item, old, result)
            except BaseException as exc:  # Ctrl-C too: record what landed, then go
                _save_after_failure(plan, target, man, item, old, origin)
                if not isinstance(exc, OSError):
                    raise
                where = exc.filename or item.path
                raise AutoplayError(
                    f"cannot install {item.skill}: {where}: {exc.strerror or exc}",
                    hint="free the path or fix its permissions, then run again "
                    "(what was written is recorded, so the rerun resumes)",
                ) from exc
        man.skills[item.skill] = manifest.Entry(item.version, want, origin)
    if man.to_json() != before or (loaded is None and man.skills):
        try:
            target.folder.mkdir(parents=True, exist_ok=True)
            if manifest.save(target.folder, man):
                result.written.append(manifest.path_for(target.folder))
        except OSError as exc:
            raise AutoplayError(
                f"cannot write {manifest.path_for(target.folder)}: {exc.strerror or exc}",
                hint="fix the folder's permissions, then run again",
            ) from exc


def _write_skill(plan: Plan, item: Item, old: manifest.Entry | None, result: Result) -> None:
    """Back up if asked, drop our files the new version no longer ships, write the rest."""
    bundled = plan.bundle.skills[item.skill]
    want = bundled.hashes()
    here = item.path
    if item.backup is not None:
        shutil.copytree(here, item.backup, symlinks=True)
        result.backups.append(item.backup)
    ours = set(old.files) if old else set()
    if item.action is Action.MIGRATE:
        ours |= set(scan(here))
    for rel in sorted(ours - set(want)):
        gone = here / rel
        # Checked before anything was written (_check_paths); checked again right here
        # because deleting outside the skill's folder must never happen.
        if not manifest.inside(here, rel):
            continue
        if gone.is_file() and not gone.is_symlink():
            gone.unlink()
            result.removed.append(gone)
            _prune_empty_dirs(here, gone)
    for rel, data in sorted(bundled.files.items()):
        dest = here / rel
        if _file_hash(dest) != want[rel]:
            manifest.write_atomic(dest, data)
            result.written.append(dest)


def _save_after_failure(
    plan: Plan,
    target: Target,
    man: manifest.Manifest,
    item: Item,
    old: manifest.Entry | None,
    origin: str,
) -> None:
    """Record which files of *item* are ours after a failed write, so a rerun resumes.

    A file counts as ours when it holds exactly what we shipped, in this version or the
    installed one; anything else stays untracked and is reported as an edit next time.
    """
    want = plan.bundle.skills[item.skill].hashes()
    before = old.files if old else {}
    tracked: dict[str, str] = {}
    for rel in sorted(set(before) | set(want)):
        digest = _file_hash(item.path / rel)
        if digest is not None and digest in (want.get(rel), before.get(rel)):
            tracked[rel] = digest
    man.skills[item.skill] = manifest.Entry(old.version if old else item.version, tracked, origin)
    with contextlib.suppress(OSError):  # the original failure is the one to report
        target.folder.mkdir(parents=True, exist_ok=True)
        manifest.save(target.folder, man)


@dataclass(frozen=True)
class Status:
    folder: Path
    skill: str
    state: str  # current | outdated | modified | missing | unmanaged
    installed: str | None
    bundled: str

    def to_dict(self, root: Path) -> dict[str, object]:
        return {
            "kind": "installed",
            "target": relative(self.folder, root),
            "skill": self.skill,
            "state": self.state,
            "installed": self.installed,
            "bundled": self.bundled,
        }


def status(targets: list[Target], bundle: Bundle) -> list[Status]:
    """What is installed in each target and how it compares with the bundled copy."""
    rows: list[Status] = []
    for target in targets:
        man = manifest.load(target.folder) or manifest.Manifest()
        _check_paths(target.folder, man, bundle)
        for skill in bundle.skills:
            if skill not in catalog.BY_NAME:
                continue
            version = catalog.BY_NAME[skill].version
            here = target.folder / skill
            entry = man.skills.get(skill)
            if entry is None:
                if here.exists():
                    rows.append(Status(target.folder, skill, "unmanaged", None, version))
                continue
            want = bundle.skills[skill].hashes()
            if not here.exists():
                state = "missing"
            elif local_edits(here, entry, want):
                state = "modified"
            elif entry.files == want:
                state = "current"
            else:
                state = "outdated"
            rows.append(Status(target.folder, skill, state, entry.version, version))
    return rows
