"""Benchmark ``autoplay migrate-imports`` (the real CLI, as a subprocess) on three trees.

1. a copy of this machine's standard library (no SDK use): ``--check``;
2. the same copy where 10% of the files also import canonical ``autoplay_sdk`` paths;
3. generated legacy modules (3,000 of about 100 lines, every import form): ``--check``,
   then the in-place rewrite.

Usage: ``python benchmarks/bench_migrate_imports.py [--files 3000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from autoplay_cli.codemods import import_map
from autoplay_cli.codemods.discover import discover

# Rows with a live home whose parent has one too (no manual-port reports in the output).
LIVE_ROWS = [
    row
    for row in import_map.MODULE_MOVES
    if not any(row[0].startswith(gone) for gone in import_map.MANUAL_PORTS)
]

CANONICAL_HEADER = (
    "from autoplay_sdk import ActionsPayload, ConversationEventType\n"
    "from autoplay_sdk.core.models import SummaryPayload\n"
    "import autoplay_sdk.chat.chatbot\n"
    "from autoplay_sdk.proactive.triggers import registry\n"
)

FILLER = '''

class Handler{n}:
    """A handler, as application code has many of."""

    def __init__(self, name, retries=3):
        self.name = name
        self.retries = retries
        self.seen = []

    def handle(self, event):
        for attempt in range(self.retries):
            if event.get("kind") == "summary":
                self.seen.append((attempt, event))
                return True
        return False


def helper_{n}(values):
    total = 0
    for value in values:
        if value % 2:
            total += value * 3
        else:
            total -= value
    return {{"total": total, "count": len(values)}}
'''


def legacy_source(index: int, rng: random.Random) -> str:
    """About 100 lines that use legacy paths in every import form, among ordinary code."""
    rows = rng.sample(LIVE_ROWS, 5)
    (a, _), (b, _), (c, _), (d, _), (e, _) = rows
    b_parent, _, b_last = b.rpartition(".")
    c_parent, _, c_last = c.rpartition(".")
    lines = [
        f'"""Generated legacy module {index}."""',
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING",
        "from unittest import mock",
        "",
        "import autoplay_sdk",
        "import autoplay_sdk as sdk",
        f"import {a}",
        f"import {b} as b_module",
        f"from {b_parent} import {b_last}  # the module itself",
        f"from {c_parent} import (\n    {c_last},  # a comment\n    ActionsPayload,\n)",
        f"from {d} import Thing as D{index}, other",
        "from autoplay_sdk import chatbot, models, ActionsPayload  # noqa: F401",
        "from autoplay_sdk import ConversationEvent",
        "",
        "if TYPE_CHECKING:",
        f"    from {e} import Thing",
        "",
        '__all__ = ["ConversationEvent", "run"]',
        "",
        "",
        f"def run(event: 'ConversationEvent', payload: \"{a}.Payload\") -> None:",
        f"    import {e}",
        f"    {a}.Thing(event)",
        f"    {e}.Thing(payload)",
        "    sdk.chatbot.BaseChatbotWriter()",
        "    autoplay_sdk.models.ActionsPayload()",
        "    return ConversationEvent.NEW",
        "",
        "",
        f"@mock.patch('{a}.Thing')",
        f"def test_{index}(patched):",
        f'    importlib.import_module("{b}")',
        '    mock.patch.object(sdk.chatbot, "ConversationEvent")',
        f"    return {b_last}, {c_last}, b_module",
    ]
    text = "\n".join(lines) + "\n"
    return text + FILLER.format(n=0) + FILLER.format(n=1)


def copy_stdlib(dest: Path) -> Path:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    target = dest / "stdlib"
    shutil.copytree(
        stdlib,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("site-packages", "dist-packages", "__pycache__", "*.pyc"),
    )
    return target


def add_canonical_imports(tree: Path, share: float, seed: int = 7) -> int:
    """Prepend canonical SDK imports to *share* of the Python files; returns how many."""
    files = [Path(p) for p in discover([tree])]
    chosen = random.Random(seed).sample(files, int(len(files) * share))
    for path in chosen:
        data = path.read_bytes()
        # After a coding line or a shebang, if any, so the file still decodes.
        head, _, rest = data.partition(b"\n")
        if head.startswith(b"#"):
            path.write_bytes(head + b"\n" + CANONICAL_HEADER.encode() + rest)
        else:
            path.write_bytes(CANONICAL_HEADER.encode() + data)
    return len(chosen)


def generate_legacy(dest: Path, count: int) -> Path:
    rng = random.Random(11)
    root = dest / "legacy"
    for index in range(count):
        package = root / f"pkg{index // 100:02d}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"mod{index:04d}.py").write_text(legacy_source(index, rng))
    return root


#: CPU seconds (user + system) of every run's process and its workers, by run label.
CPU: dict[str, list[float]] = {}


def cli(*args: str, label: str = "") -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "autoplay_cli", "migrate-imports", *args],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(label, []).append(cpu)
    return wall, proc.returncode


def median_run(repeat: int, *args: str, expect: tuple[int, ...], label: str) -> float:
    times = []
    for _ in range(repeat):
        seconds, code = cli(*args, label=label)
        assert code in expect, f"migrate-imports {' '.join(args)} exited {code}"
        times.append(seconds)
    return statistics.median(times)


def write_bytecode() -> None:
    """Compile the package's bytecode first, as pip does at install time: where
    PYTHONDONTWRITEBYTECODE is set (this machine), every timed process would otherwise
    compile each module it imports, which no installed copy does."""
    import autoplay_cli

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = str(Path(autoplay_cli.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=3000, help="generated legacy modules")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    write_bytecode()
    rows: list[tuple[str, float, float]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        stdlib = copy_stdlib(Path(tmp))
        count = len(list(discover([stdlib])))
        label = f"standard library, {count:,} files, no SDK use: `--check`"
        seconds = median_run(args.repeat, "--check", str(stdlib), expect=(0,), label=label)
        rows.append((label, seconds, 1.5))
        marked = add_canonical_imports(stdlib, 0.10)
        label = f"the same, {marked} files also import canonical paths: `--check`"
        seconds = median_run(args.repeat, "--check", str(stdlib), expect=(0,), label=label)
        rows.append((label, seconds, 1.5))

        legacy = generate_legacy(Path(tmp), args.files)
        pristine = {p: p.read_bytes() for p in legacy.rglob("*.py")}
        lines = sum(data.count(b"\n") for data in pristine.values()) // len(pristine)
        label = f"{len(pristine):,} legacy files of about {lines} lines"
        check = f"{label}: `--check`"
        seconds = median_run(args.repeat, "--check", str(legacy), expect=(1,), label=check)
        rows.append((check, seconds, 3.0))
        rewrites = []
        rewrite = f"{label}: in-place rewrite"
        for _ in range(args.repeat):
            for path, data in pristine.items():
                path.write_bytes(data)
            seconds, code = cli(str(legacy), label=rewrite)
            assert code == 0, f"the rewrite exited {code}"
            rewrites.append(seconds)
        rows.append((rewrite, statistics.median(rewrites), 6.0))
        again = f"{label}: `--check` after the rewrite"
        seconds = median_run(args.repeat, "--check", str(legacy), expect=(0,), label=again)
        rows.append((again, seconds, 3.0))

    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(os.sched_getaffinity(0))} usable CPUs, load "
        f"average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after the run"
    )
    print()
    print(f"| tree and run (median of {args.repeat}) | wall time | CPU time | target | |")
    print("|---|---:|---:|---:|---|")
    for label, seconds, target in rows:
        verdict = "met" if seconds <= target else "NOT met"
        cpu = statistics.median(CPU[label])
        print(f"| {label} | {seconds:.2f} s | {cpu:.2f} s | ≤ {target:g} s | {verdict} |")


if __name__ == "__main__":
    main()
