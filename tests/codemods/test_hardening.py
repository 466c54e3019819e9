"""migrate-imports under faults, with real processes: a full disk, SIGKILL, huge files.

The full disk is a file-size limit (``RLIMIT_FSIZE``) set in the child process only;
the crash is a real ``kill -9`` of the command while its workers parse.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from autoplay_cli.codemods import migration
from autoplay_cli.codemods.migration import TEMP_SUFFIX, migrate
from autoplay_cli.errors import EXIT_PARTIAL

LEGACY = "import autoplay_sdk.models\nfrom autoplay_sdk import chatbot  # keep me\n"
MIGRATED = "import autoplay_sdk.core.models\nfrom autoplay_sdk.chat import chatbot  # keep me\n"


def cli(*args: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "migrate-imports", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX))


def test_a_full_disk_leaves_the_file_byte_identical_and_no_temporary(tmp_path: Path) -> None:
    padding = "# padding line to make the file large enough\n" * 2000  # ~90 KB
    source = (LEGACY + padding).encode()
    (tmp_path / "big.py").write_bytes(source)
    (tmp_path / "small.py").write_text(LEGACY)
    # Room for the small file's rewrite, not for the big one's.
    proc = cli(str(tmp_path), limit_bytes=len(source) // 2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PARTIAL, err
    assert (tmp_path / "big.py").read_bytes() == source
    assert (tmp_path / "small.py").read_text() == MIGRATED
    assert f"{tmp_path / 'big.py'}: error: cannot write:" in out + err
    assert "File too large" in out + err
    assert leftovers(tmp_path) == []


def test_a_full_disk_never_half_writes_a_hard_linked_file(tmp_path: Path) -> None:
    padding = "# padding\n" * 5000
    source = (LEGACY + padding).encode()
    (tmp_path / "a.py").write_bytes(source)
    os.link(tmp_path / "a.py", tmp_path / "b.py")
    proc = cli(str(tmp_path / "a.py"), limit_bytes=len(source) // 2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PARTIAL, err
    assert "hard links" in out + err
    assert (tmp_path / "a.py").read_bytes() == (tmp_path / "b.py").read_bytes() == source
    assert leftovers(tmp_path) == []


def _descendants(pid: int) -> set[int]:
    """Every live process whose parent chain reaches *pid*."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def test_after_sigkill_no_worker_keeps_running(tmp_path: Path) -> None:
    # Files the libcst path must take (a parameter shadows a renamed name): each worker's
    # share of them is many seconds of work, so only an exit on the parent's death is quick.
    body = "from autoplay_sdk import ConversationEvent\n\n\ndef f(ConversationEvent=None):\n"
    body += "".join(f"    x{i} = ConversationEvent\n" for i in range(3000))
    for index in range(64):
        (tmp_path / f"m{index:02d}.py").write_text(LEGACY + body)
    proc = cli("--check", "--jobs", "3", str(tmp_path))  # two workers beside the parent
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = _descendants(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(0.5)  # let them take files
    assert proc.poll() is None, "finished before the kill: make the work larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 4
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in workers if _alive(pid)] == []
    proc.communicate(timeout=10)  # the workers held the output pipes too


def test_a_later_run_removes_temporaries_a_killed_run_left(tmp_path: Path) -> None:
    # A run killed between writing its temporary and the rename leaves one behind.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    (tmp_path / "a.py").write_text(LEGACY)
    stale = tmp_path / f".a.py.{dead_pid}{TEMP_SUFFIX}"
    stale.write_text("half of a migrated fi")
    busy = tmp_path / f".b.py.{os.getpid()}{TEMP_SUFFIX}"  # a live run's: not touched
    busy.write_text("being written")
    migrate([tmp_path])
    assert not stale.exists() and busy.exists()
    assert (tmp_path / "a.py").read_text() == MIGRATED
    # --check writes nothing, not even a cleanup.
    stale.write_text("again")
    migrate([tmp_path], mode=migration.Mode.CHECK)
    assert stale.exists()


def test_temporaries_beside_a_linked_files_target_are_removed_too(tmp_path: Path) -> None:
    # The rewrite of a link named on the command line writes its temporary beside the
    # target: a killed run leaves it there, in a directory the link's is not.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    (tmp_path / "real").mkdir()
    (tmp_path / "tree").mkdir()
    (tmp_path / "real" / "a.py").write_text(LEGACY)
    (tmp_path / "tree" / "a.py").symlink_to(tmp_path / "real" / "a.py")
    stale = tmp_path / "real" / f".a.py.{int(dead.stdout)}{TEMP_SUFFIX}"
    stale.write_text("half of a migrated fi")
    migrate([tmp_path / "tree" / "a.py"])
    assert not stale.exists()
    assert (tmp_path / "real" / "a.py").read_text() == MIGRATED


def test_a_file_over_the_size_limit_is_skipped_with_a_message(tmp_path: Path) -> None:
    huge = (LEGACY + "# padding\n" * (migration.MAX_SOURCE_BYTES // 10 + 1)).encode()
    (tmp_path / "huge.py").write_bytes(huge)
    (tmp_path / "huge_no_sdk.py").write_bytes(b"# nothing here\n" * 200_000)
    (tmp_path / "a.py").write_text(LEGACY)
    report = migrate([tmp_path])
    [failure] = report.failures
    assert failure.path == str(tmp_path / "huge.py")
    assert "skipped: 2.0 MiB is over the 2 MiB limit for one source file" in failure.message
    assert (tmp_path / "huge.py").read_bytes() == huge
    assert (tmp_path / "a.py").read_text() == MIGRATED
