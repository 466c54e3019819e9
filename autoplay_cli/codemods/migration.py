"""Run the import migration over a tree: discover, byte-scan, parse candidates, write.

Only files that pass a cheap byte scan are parsed, here and in spawned worker processes
when there are many, and rewritten files are written while the rest are parsed. Each write
replaces the whole file in one step and keeps permissions; a file that fails is left
byte-identical and reported while the others proceed.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import mmap
import multiprocessing
import multiprocessing.pool
import os
import re
import signal
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from autoplay_cli.codemods.bindings import ParseFailure, RoundTripError
from autoplay_cli.codemods.discover import discover
from autoplay_cli.codemods.mapping import DEFAULT_MAP

#: For modules nested deeper than the default recursion limit allows.
DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 100_000

T = TypeVar("T")

#: Files larger than this are skipped with a message: no hand-written module is this big,
#: and a generated one would cost gigabytes of memory in the libcst path.
MAX_SOURCE_BYTES = 2 * 1024 * 1024

#: Below this much source to parse, starting worker processes costs more than it saves
#: (a spawned worker takes a few tenths of a second to start; the fixers rewrite a few
#: megabytes a second per core).
PARALLEL_MIN_BYTES = 1024 * 1024


class Mode(Enum):
    WRITE = "write"
    CHECK = "check"
    DIFF = "diff"


_LABELS = {"review": "manual review", "port": "manual port"}


@dataclass
class Finding:
    """One item of the report that points at a line: a manual review, or a failure."""

    path: str
    line: int  # 0 when the whole file is concerned
    kind: str  # "review", "port" (to port by hand to a newer API) or "error"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        label = _LABELS.get(self.kind, self.kind)
        return f"{where}: {label}: {self.message}"


@dataclass
class FileOutcome:
    path: str
    imports: int = 0
    references: int = 0
    reviews: list[Finding] = field(default_factory=list)
    error: Finding | None = None
    new_source: bytes | None = None  # set when the file changes
    diff: bytes | None = None  # a unified diff of the file's own bytes
    signature: tuple[int, int] = (0, 0)  # (mtime_ns, size) when read

    @property
    def changed(self) -> bool:
        return self.new_source is not None


@dataclass
class MigrationReport:
    mode: Mode
    scanned: int = 0
    candidates: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def changed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.changed]

    @property
    def reviews(self) -> list[Finding]:
        return [r for o in self.outcomes for r in o.reviews]

    @property
    def failures(self) -> list[Finding]:
        return [o.error for o in self.outcomes if o.error is not None]

    @property
    def imports(self) -> int:
        return sum(o.imports for o in self.changed)

    @property
    def references(self) -> int:
        return sum(o.references for o in self.changed)

    def events(self) -> Iterator[dict[str, object]]:
        """The report as JSON-ready objects: rewrites, reviews and errors, then a summary."""
        for outcome in self.outcomes:
            if outcome.changed:
                yield {
                    "event": "rewrite",
                    "path": outcome.path,
                    "imports": outcome.imports,
                    "references": outcome.references,
                    "written": self.mode is Mode.WRITE,
                }
            findings = [*outcome.reviews, *([outcome.error] if outcome.error else [])]
            for finding in findings:
                yield {
                    "event": finding.kind,
                    "path": finding.path,
                    "line": finding.line,
                    "message": finding.message,
                }
        yield {
            "event": "summary",
            "mode": self.mode.value,
            "scanned": self.scanned,
            "parsed": self.candidates,
            "files_changed": len(self.changed),
            "imports": self.imports,
            "references": self.references,
            "reviews": len(self.reviews),
            "failures": len(self.failures),
        }


def unified_diff(path: str, before: bytes, after: bytes) -> bytes:
    """A patch that ``git apply`` and ``patch -p1`` accept, byte for byte.

    Bytes, not text: a latin-1 file's context lines must match its own bytes, and lines
    end at ``\\n`` only (``str.splitlines`` would also split at form feeds).
    """
    lines = difflib.diff_bytes(
        difflib.unified_diff,
        _LINE.findall(before),
        _LINE.findall(after),
        fromfile=f"a/{path.lstrip('/')}".encode(),
        tofile=f"b/{path.lstrip('/')}".encode(),
    )
    # A last line without a newline gets the marker diff tools expect.
    return b"".join(
        line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n"
        for line in lines
    )


_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def migrate_file(path: str, want_diff: bool = False) -> FileOutcome:
    """Rewrite one file in memory (never writes). Top-level so worker processes can run it."""
    from autoplay_cli.codemods.engine import rewrite_source

    outcome = FileOutcome(path)
    try:
        # os.open and os.read: the file object of open() costs more than the read here.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            st = os.fstat(fd)
            if st.st_size > MAX_SOURCE_BYTES:
                outcome.error = _too_large(path, st.st_size)
                return outcome
            source = _read_all(fd, st.st_size, MAX_SOURCE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        outcome.error = Finding(path, 0, "error", f"cannot read: {exc.strerror or exc}")
        return outcome
    if len(source) > MAX_SOURCE_BYTES:  # grew since the stat
        outcome.error = _too_large(path, len(source))
        return outcome
    outcome.signature = (st.st_mtime_ns, st.st_size)
    nul = source.find(b"\0")
    if nul >= 0:
        # libcst parses it, CPython never would: not Python source (often a binary file).
        line = source.count(b"\n", 0, nul) + 1
        outcome.error = Finding(path, line, "error", "does not parse: it contains a NUL byte")
        return outcome
    try:
        try:
            result = rewrite_source(source)
        except RecursionError:
            # Deeply nested code the libcst path must take (libcst's visitors recurse
            # once per level) outgrows the default limit.
            result = with_deep_stack(rewrite_source, source)
    except ParseFailure as exc:
        outcome.error = _syntax_error(path, source, exc)
        return outcome
    except RoundTripError as exc:
        outcome.error = Finding(path, 0, "error", f"left unchanged: {exc}")
        return outcome
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        outcome.error = Finding(path, 0, "error", f"cannot decode: {exc}")
        return outcome
    except RecursionError:
        outcome.error = Finding(path, 0, "error", "nested too deeply to rewrite")
        return outcome
    outcome.reviews = [Finding(path, r.line, r.kind, r.message) for r in result.reviews]
    if result.code != source:
        outcome.new_source = result.code
        outcome.imports, outcome.references = result.imports, result.references
        if want_diff:
            outcome.diff = unified_diff(path, source, result.code)
    return outcome


def _read_all(fd: int, size: int, limit: int) -> bytes:
    """The bytes of *fd* up to *limit*; *size* (from ``fstat``) makes one read do it all
    (a regular file returns fewer bytes than asked only at its end)."""
    want = min(size + 1, limit)
    data = os.read(fd, want)
    if len(data) < want:
        return data
    parts = [data]  # the file grew since the stat
    total = len(data)
    while total < limit:
        more = os.read(fd, min(limit - total, 1024 * 1024))
        if not more:
            break
        parts.append(more)
        total += len(more)
    return b"".join(parts)


def _too_large(path: str, size: int) -> Finding:
    return Finding(
        path,
        0,
        "error",
        f"skipped: {size / 1_048_576:.1f} MiB is over the {MAX_SOURCE_BYTES // 1_048_576} MiB "
        "limit for one source file; migrate it by hand or split it",
    )


def with_deep_stack(func: Callable[[bytes], T], arg: bytes) -> T:
    """Run *func* in a thread with a large stack and a high recursion limit.

    The limit is raised only while that thread runs; the stack is what keeps the deep
    recursion from overflowing the C stack (address space, committed only as used).
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = func(arg)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    old_stack = threading.stack_size(DEEP_STACK_BYTES)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, DEEP_RECURSION_LIMIT))
    try:
        worker = threading.Thread(target=run, name="migrate-imports-deep")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _syntax_error(path: str, source: bytes, exc: ParseFailure) -> Finding:
    """Locate a parse failure. CPython's own parser names the line and cause more
    precisely than libcst's; when CPython accepts the file, libcst's verdict stands."""
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as syntax:
        return Finding(path, syntax.lineno or 0, "error", f"does not parse: {syntax.msg}")
    except (ValueError, UnicodeDecodeError) as other:
        return Finding(path, 0, "error", f"does not parse: {other}")
    return Finding(path, exc.line, "error", f"libcst cannot parse it: {exc.reason}")


#: Temporaries are named ``.<file>.<pid>.autoplay-migrate.tmp`` beside the file they
#: replace; a later run removes those whose process is gone (a run killed with SIGKILL).
TEMP_SUFFIX = ".autoplay-migrate.tmp"
_TEMP_NAME = re.compile(r"\A\..+\.(\d+)" + re.escape(TEMP_SUFFIX) + r"\Z")


def write_atomically(path: str, data: bytes, signature: tuple[int, int]) -> None:
    """Replace *path* with *data* all at once, keeping its permission bits and owner.

    The new content is written in full to a temporary file beside it, then renamed over
    it: a full disk, a crash or SIGKILL leaves the old file byte-identical.

    Raises OSError when the file changed since it was read (a concurrent edit is never
    overwritten), when it is read-only (a rename would replace it anyway, but a file
    without write permission is one its owner asked tools not to touch), and when it has
    several hard links: a rename would split them, and rewriting the one inode in place
    would leave it half-written if the write failed.
    """
    target = os.path.realpath(path)
    st = os.stat(target)
    if (st.st_mtime_ns, st.st_size) != signature:
        raise OSError(f"{path} changed while it was being migrated; run again")
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        target, os.W_OK
    ):
        raise OSError(f"{path} is read-only; make it writable (chmod u+w) to migrate it")
    if st.st_nlink > 1:
        raise OSError(
            f"{path} has {st.st_nlink} hard links and cannot be replaced in one step for all "
            "of them; break the link (cp it to a new file, then mv that over it) and run again, "
            "or apply the output of `autoplay migrate-imports --diff` to it"
        )
    directory = os.path.dirname(target) or "."
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            # Run as root over a user's checkout (a container), the new file would be
            # root's; without the privilege the owner cannot be kept, as with any editor.
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(directories: Iterable[str]) -> int:
    """Delete temporaries that a killed run left in *directories*; returns how many."""
    removed = 0
    for directory in directories:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP_NAME.match(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            if _process_alive(int(match.group(1))):
                continue  # another run is writing it right now
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _prefilter(files: Sequence[Path], findings: list[FileOutcome]) -> tuple[list[str], int]:
    """The files that may need work, and their total size in bytes."""
    candidates = []
    size = 0
    for file in files:
        try:
            fd = os.open(file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                file_size = os.fstat(fd).st_size
                if file_size > MAX_SOURCE_BYTES:
                    # Scanned without reading it into memory; migrate_file reports it.
                    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as data:
                        needed = DEFAULT_MAP.may_need_work(data)
                    length = MAX_SOURCE_BYTES
                else:
                    data_bytes = _read_all(fd, file_size, sys.maxsize)
                    needed = DEFAULT_MAP.may_need_work(data_bytes)
                    length = len(data_bytes)
            finally:
                os.close(fd)
        except (OSError, ValueError) as exc:
            findings.append(
                FileOutcome(
                    str(file),
                    error=Finding(
                        str(file), 0, "error", f"cannot read: {getattr(exc, 'strerror', exc)}"
                    ),
                )
            )
            continue
        if needed:
            candidates.append(str(file))
            size += length
    return candidates, size


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group; the parent stops the workers, which
    # would otherwise each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL) cannot stop its pool: each worker watches the
    # pipe its parent holds open, and exits when that closes.
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is not None:
        threading.Thread(
            target=_exit_with_parent, args=(sentinel,), name="parent-watch", daemon=True
        ).start()


def _exit_with_parent(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(1)


def _usable_cpus() -> int:
    # The CPUs this process may run on (a container's limit), not the host's count.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def migrate(
    paths: Sequence[Path],
    *,
    mode: Mode = Mode.WRITE,
    exclude: Sequence[str] = (),
    respect_gitignore: bool = True,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Migrate every Python file under *paths*; the report says what changed and what failed.

    *progress* is called with (files done, candidates) as candidates finish. With more
    than one job and much source, *jobs* - 1 spawned worker processes share the files
    with this one; they import the calling script again: call this from under
    ``if __name__ == "__main__":``.
    """
    report = MigrationReport(mode)
    files = list(discover(paths, exclude=exclude, respect_gitignore=respect_gitignore))
    report.scanned = len(files)
    unreadable: list[FileOutcome] = []
    candidates, size = _prefilter(files, unreadable)
    report.candidates = len(candidates)
    outcomes: list[FileOutcome] = []
    writer = _Writer() if mode is Mode.WRITE else None
    if writer is not None and candidates:
        remove_stale_temporaries(_real_directories(files))

    def finished(outcome: FileOutcome) -> None:
        outcomes.append(outcome)
        if writer is not None and outcome.new_source is not None:
            writer.submit(outcome)
        if progress is not None:
            progress(len(outcomes), len(candidates))

    try:
        workers = jobs if jobs is not None else _usable_cpus()
        want_diff = mode is Mode.DIFF
        if workers > 1 and len(candidates) > CHUNK_FILES and size >= PARALLEL_MIN_BYTES:
            _share_with_workers(candidates, workers - 1, want_diff, finished)
        else:
            for path in candidates:
                finished(migrate_file(path, want_diff))
    except BaseException:
        if writer is not None:
            writer.close(interrupted=True)
        raise
    if writer is not None:
        writer.close()
    report.outcomes = sorted(
        (o for o in [*unreadable, *outcomes] if o.changed or o.reviews or o.error is not None),
        key=lambda o: o.path,
    )
    return report


def _real_directories(files: Sequence[Path | str]) -> list[str]:
    """The real directories that hold *files* (a symlinked file's is its target's): one
    ``realpath`` per directory rather than per file (each costs a system call per part)."""
    real = {os.path.realpath(d) for d in {os.path.dirname(f) for f in files}}
    real.update(os.path.dirname(os.path.realpath(f)) for f in files if os.path.islink(f))
    return sorted(real)


#: Files per task handed to a worker process: small, so that the processes finish
#: together; each hand-over costs about as much as one file.
CHUNK_FILES = 16


def _migrate_chunk(
    work: Callable[[str, bool], FileOutcome], paths: list[str], want_diff: bool
) -> list[FileOutcome]:
    return [work(path, want_diff) for path in paths]


def _share_with_workers(
    candidates: list[str],
    helpers: int,
    want_diff: bool,
    finished: Callable[[FileOutcome], None],
) -> None:
    """Migrate *candidates* here and in *helpers* worker processes, chunk by chunk.

    This process takes chunks from the end of the list while the workers take them from
    the front, a few at a time: it starts at once, where a spawned worker first spends
    a few tenths of a second starting, and nobody is left with a long tail of work.
    """
    # Workers are spawned, not forked: a fork of a process with threads (a progress
    # bar, the writer's, a library's) can copy a held lock. A Pool, not a
    # ProcessPoolExecutor: leaving the block early (Ctrl-C) terminates the workers at
    # once, where an executor would first finish every queued file.
    context = multiprocessing.get_context("spawn")
    chunks = deque(
        candidates[start : start + CHUNK_FILES] for start in range(0, len(candidates), CHUNK_FILES)
    )
    work = migrate_file  # looked up here, so a replacement (tests) reaches the workers
    with context.Pool(helpers, initializer=_start_worker) as pool:
        queued: deque[multiprocessing.pool.AsyncResult[list[FileOutcome]]] = deque()
        # One chunk per worker until the first comes back (they are still starting), then
        # two: one to work on and one waiting, so a worker never idles between chunks.
        depth = helpers
        while chunks or queued:
            while queued and queued[0].ready():
                for outcome in queued.popleft().get():
                    finished(outcome)
                depth = 2 * helpers
            while chunks and len(queued) < depth:
                queued.append(pool.apply_async(_migrate_chunk, (work, chunks.popleft(), want_diff)))
            if chunks:
                for path in chunks.pop():
                    finished(work(path, want_diff))
            elif queued:
                for outcome in queued.popleft().get():
                    finished(outcome)


class _Writer:
    """Writes rewritten files while the rest are still being migrated, several at once.

    Each write ends with an fsync, which waits for the disk (milliseconds) rather than
    the CPU; a few threads let those waits overlap. A failed write is recorded on its
    outcome, which then counts as unchanged.
    """

    THREADS = 4  # enough: on this machine 4 and 8 overlapped fsyncs equally

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="migrate-write")

    def submit(self, outcome: FileOutcome) -> None:
        self._pool.submit(self._write, outcome)

    @staticmethod
    def _write(outcome: FileOutcome) -> None:
        assert outcome.new_source is not None
        try:
            write_atomically(outcome.path, outcome.new_source, outcome.signature)
        except OSError as exc:
            outcome.error = Finding(outcome.path, 0, "error", f"cannot write: {exc}")
            outcome.new_source = None

    def close(self, interrupted: bool = False) -> None:
        """Wait for the writes under way; after an interrupt, start no new one."""
        self._pool.shutdown(wait=True, cancel_futures=interrupted)
