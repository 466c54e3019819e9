"""Running the migration over a tree: modes, isolation of failures, atomic writes, workers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.codemods import migration as migrate_module
from autoplay_cli.codemods.migration import FileOutcome, Mode, migrate, write_atomically

LEGACY = "import autoplay_sdk.models\nfrom autoplay_sdk import chatbot  # keep me\n"
MIGRATED = "import autoplay_sdk.core.models\nfrom autoplay_sdk.chat import chatbot  # keep me\n"
BROKEN = b"import autoplay_sdk.models\n\ndef broken(:\n    pass\n"


def tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_write_mode_rewrites_and_reports(tmp_path: Path) -> None:
    tree(tmp_path, {"a.py": LEGACY, "b.py": "import os\n", "c.py": "import autoplay_sdk.rag\n"})
    report = migrate([tmp_path])
    assert (tmp_path / "a.py").read_text() == MIGRATED
    assert [Path(o.path).name for o in report.changed] == ["a.py"]
    assert (report.imports, report.references) == (2, 0)
    # Only the files that name the SDK and a legacy word were parsed.
    assert (report.scanned, report.candidates) == (3, 1)
    assert report.failures == [] and report.reviews == []


def test_check_and_diff_write_nothing(tmp_path: Path) -> None:
    tree(tmp_path, {"a.py": LEGACY})
    before = snapshot(tmp_path)
    check = migrate([tmp_path], mode=Mode.CHECK)
    diff = migrate([tmp_path], mode=Mode.DIFF)
    assert snapshot(tmp_path) == before
    assert len(check.changed) == 1 and check.changed[0].diff is None
    patch = diff.changed[0].diff
    assert patch is not None
    assert (
        b"-import autoplay_sdk.models\n" in patch and b"+import autoplay_sdk.core.models\n" in patch
    )
    shown = str(tmp_path / "a.py").lstrip("/")
    assert patch.startswith(f"--- a/{shown}\n+++ b/{shown}\n".encode())


def test_a_file_that_does_not_parse_is_left_byte_identical(tmp_path: Path) -> None:
    tree(tmp_path, {"a.py": LEGACY, "bad.py": BROKEN, "z.py": LEGACY})
    report = migrate([tmp_path])
    assert (tmp_path / "bad.py").read_bytes() == BROKEN
    assert (tmp_path / "a.py").read_text() == MIGRATED
    assert (tmp_path / "z.py").read_text() == MIGRATED
    [failure] = report.failures
    assert (Path(failure.path).name, failure.line) == ("bad.py", 3)
    assert str(failure).startswith(f"{tmp_path / 'bad.py'}:3: error: does not parse")


def test_a_hard_linked_file_is_refused_with_the_fix_and_stays_one_unchanged_file(
    tmp_path: Path,
) -> None:
    # No one-step replacement exists for every name of an inode; an in-place rewrite
    # would leave it half-written on a full disk. Refused, and said why.
    tree(tmp_path, {"a.py": LEGACY, "c.py": LEGACY})
    os.link(tmp_path / "a.py", tmp_path / "b.py")
    inode = (tmp_path / "a.py").stat().st_ino
    report = migrate([tmp_path / "a.py", tmp_path / "c.py"])
    [failure] = report.failures
    assert str(failure) == (
        f"{tmp_path / 'a.py'}: error: cannot write: {tmp_path / 'a.py'} has 2 hard links and "
        "cannot be replaced in one step for all of them; break the link (cp it to a new file, "
        "then mv that over it) and run again, or apply the output of "
        "`autoplay migrate-imports --diff` to it"
    )
    assert (tmp_path / "a.py").read_text() == (tmp_path / "b.py").read_text() == LEGACY
    assert (tmp_path / "b.py").stat().st_ino == inode and (tmp_path / "a.py").stat().st_nlink == 2
    assert (tmp_path / "c.py").read_text() == MIGRATED


def test_a_file_with_a_nul_byte_is_not_python_and_is_left_alone(tmp_path: Path) -> None:
    """libcst would parse (and rewrite) it; CPython refuses any source with a NUL."""
    data = b"import autoplay_sdk.models\nBLOB = '\0'\n"
    tree(tmp_path, {"nul.py": data, "ok.py": LEGACY})
    report = migrate([tmp_path])
    assert (tmp_path / "nul.py").read_bytes() == data
    assert (tmp_path / "ok.py").read_text() == MIGRATED
    [failure] = report.failures
    assert str(failure) == f"{tmp_path / 'nul.py'}:2: error: does not parse: it contains a NUL byte"


def test_an_undecodable_file_is_reported_and_untouched(tmp_path: Path) -> None:
    data = b"# -*- coding: utf-8 -*-\nimport autoplay_sdk.models\nS = '\xff\xfe'\n"
    tree(tmp_path, {"enc.py": data, "ok.py": LEGACY})
    report = migrate([tmp_path])
    assert (tmp_path / "enc.py").read_bytes() == data
    assert [Path(f.path).name for f in report.failures] == ["enc.py"]
    assert (tmp_path / "ok.py").read_text() == MIGRATED


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    tree(tmp_path, {"a.py": LEGACY, "pkg/b.py": LEGACY.replace("\n", "\r\n")})
    migrate([tmp_path])
    after_first = snapshot(tmp_path)
    assert after_first["pkg/b.py"] == MIGRATED.replace("\n", "\r\n").encode()
    second = migrate([tmp_path])
    assert second.changed == [] and snapshot(tmp_path) == after_first


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_writes_keep_permissions_and_leave_no_temporary_file(tmp_path: Path, mode: int) -> None:
    tree(tmp_path, {"a.py": LEGACY})
    os.chmod(tmp_path / "a.py", mode)
    migrate([tmp_path])
    assert stat.S_IMODE(os.stat(tmp_path / "a.py").st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


def test_a_symlinked_file_is_written_through_its_link(tmp_path: Path) -> None:
    tree(tmp_path, {"real/a.py": LEGACY})
    (tmp_path / "link.py").symlink_to(tmp_path / "real" / "a.py")
    migrate([tmp_path / "link.py"])
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real" / "a.py").read_text() == MIGRATED


def test_a_file_edited_during_the_run_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(LEGACY)
    st = os.stat(path)
    path.write_text(LEGACY + "# edited meanwhile\n")
    with pytest.raises(OSError, match="changed while"):
        write_atomically(str(path), MIGRATED.encode(), (st.st_mtime_ns, st.st_size))
    assert path.read_text().endswith("# edited meanwhile\n")


def test_many_candidates_go_through_worker_processes_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enough source that worker processes pay for themselves.
    padding = "# padding\n" * (migrate_module.PARALLEL_MIN_BYTES // 300)
    files: dict[str, str | bytes] = {f"m{i:02d}.py": LEGACY + padding for i in range(30)}
    files["bad.py"] = BROKEN
    tree(tmp_path / "serial", files)
    tree(tmp_path / "parallel", files)
    used: list[tuple[str, int]] = []
    handed: list[int] = []  # files per chunk handed to the workers
    real_get_context = multiprocessing.get_context

    class SpyPool:
        def __init__(self, pool: Any) -> None:
            self.pool = pool

        def __enter__(self) -> SpyPool:
            self.pool.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self.pool.__exit__(*exc)

        def apply_async(self, func: Any, args: tuple[Any, ...]) -> Any:
            handed.append(len(args[1]))
            return self.pool.apply_async(func, args)

    class SpyContext:
        def __init__(self, method: str) -> None:
            self.context = real_get_context(method)
            self.method = method

        def Pool(self, processes: int, **kw: Any) -> object:
            used.append((self.method, processes))
            return SpyPool(self.context.Pool(processes, **kw))

    monkeypatch.setattr(migrate_module.multiprocessing, "get_context", SpyContext)
    progress: list[tuple[int, int]] = []
    serial = migrate([tmp_path / "serial"], jobs=1)
    parallel = migrate(
        [tmp_path / "parallel"], jobs=2, progress=lambda d, t: progress.append((d, t))
    )
    # Two jobs: one spawned worker (never a fork of this threaded process) beside this one,
    # and both take a share of the files.
    assert used == [("spawn", 1)]
    assert 0 < sum(handed) < 31
    assert snapshot(tmp_path / "serial") == snapshot(tmp_path / "parallel")
    assert len(serial.changed) == len(parallel.changed) == 30
    assert migrate([tmp_path / "parallel"], jobs=2).changed == []
    assert len(parallel.failures) == 1
    assert progress[-1] == (31, 31) and len(progress) == 31


def test_a_failed_write_is_reported_and_the_rest_proceed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree(tmp_path, {"a.py": LEGACY, "b.py": LEGACY})
    real_write = migrate_module.write_atomically

    def flaky_write(path: str, data: bytes, signature: tuple[int, int]) -> None:
        if path.endswith("a.py"):
            raise OSError(28, "No space left on device")
        real_write(path, data, signature)

    monkeypatch.setattr(migrate_module, "write_atomically", flaky_write)
    report = migrate([tmp_path])
    assert (tmp_path / "a.py").read_text() == LEGACY
    assert (tmp_path / "b.py").read_text() == MIGRATED
    [failure] = report.failures
    assert failure.kind == "error" and "No space left on device" in failure.message
    assert [Path(o.path).name for o in report.changed] == ["b.py"]


def test_a_file_libcst_cannot_reproduce_is_left_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoplay_cli.codemods import rewriter

    def refuse(source: bytes, roundtrip: bytes, rewritten: bytes) -> bytes:
        raise rewriter.RoundTripError("libcst reprints this file with 3 lines instead of 4")

    monkeypatch.setattr(rewriter, "apply_onto_original", refuse)
    # A parameter named like a renamed SDK name needs scope analysis: the libcst path.
    source = (
        LEGACY + "from autoplay_sdk import ConversationEvent\n"
        "def f(ConversationEvent=None):\n    pass\n"
        "try:\n    pass\nexcept OSError :\n    pass\n"
    )
    tree(tmp_path, {"a.py": source, "b.py": LEGACY})
    report = migrate([tmp_path], jobs=1)
    assert (tmp_path / "a.py").read_text() == source
    assert (tmp_path / "b.py").read_text() == MIGRATED  # reprints exactly: not affected
    [failure] = report.failures
    assert str(failure) == (
        f"{tmp_path / 'a.py'}: error: left unchanged: libcst reprints this file with 3 lines "
        "instead of 4"
    )


def test_deeply_nested_code_is_still_rewritten(tmp_path: Path) -> None:
    # A thousand-odd implicitly concatenated strings: libcst recurses once per part.
    parts = "".join(f'    "part {i}"\n' for i in range(3000))
    tree(tmp_path, {"deep.py": f"{LEGACY}TEXT = (\n{parts})\n"})
    report = migrate([tmp_path])
    assert report.failures == []
    assert (tmp_path / "deep.py").read_text() == f"{MIGRATED}TEXT = (\n{parts})\n"
    assert sys.getrecursionlimit() < 100_000  # restored


def test_a_link_beside_its_target_is_migrated_once(tmp_path: Path) -> None:
    tree(tmp_path, {"real.py": LEGACY})
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    report = migrate([tmp_path])
    assert report.failures == [] and [o.path for o in report.changed] == [str(tmp_path / "real.py")]
    assert (tmp_path / "link.py").is_symlink() and (tmp_path / "real.py").read_text() == MIGRATED


def test_a_read_only_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    tree(tmp_path, {"ro.py": LEGACY, "rw.py": LEGACY})
    os.chmod(tmp_path / "ro.py", 0o444)
    report = migrate([tmp_path])
    assert [str(f) for f in report.failures] == [
        f"{tmp_path / 'ro.py'}: error: cannot write: {tmp_path / 'ro.py'} is read-only; "
        "make it writable (chmod u+w) to migrate it"
    ]
    assert (tmp_path / "ro.py").read_text() == LEGACY
    assert stat.S_IMODE(os.stat(tmp_path / "ro.py").st_mode) == 0o444
    assert (tmp_path / "rw.py").read_text() == MIGRATED


def sleepy_migrate_file(path: str, want_diff: bool = False) -> FileOutcome:
    """A worker that takes long over a file, then leaves a mark that it finished."""
    time.sleep(8)
    Path(path + ".finished").touch()
    return FileOutcome(path)


def test_an_interrupt_stops_the_workers_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An executor would finish every queued file before letting Ctrl-C through.
    tree(tmp_path, {"a.py": LEGACY, "b.py": LEGACY})
    monkeypatch.setattr(migrate_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(migrate_module, "CHUNK_FILES", 1)  # one file for a worker, one here
    monkeypatch.setattr(migrate_module, "migrate_file", sleepy_migrate_file)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            migrate([tmp_path], jobs=2)
    finally:
        timer.cancel()
    assert multiprocessing.active_children() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


def test_the_owner_is_kept_when_the_privilege_allows(tmp_path: Path) -> None:
    tree(tmp_path, {"a.py": LEGACY})
    path = tmp_path / "a.py"
    if os.geteuid() == 0:  # e.g. a container run over a user's checkout
        os.chown(path, 4321, 4321)
    before = os.stat(path)
    report = migrate([tmp_path])
    after = os.stat(path)
    assert report.failures == [] and path.read_text() == MIGRATED
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
