"""Benchmark ``autoplay migrate-imports`` on a copy of this machine's standard library.

Plants a few dozen legacy files in the copy, then times ``--check`` and a full rewrite
(the real CLI, as a subprocess) beside a naive run that parses every file with libcst.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
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
from autoplay_cli.codemods.mapping import DEFAULT_MAP


def legacy_source(index: int) -> str:
    """A module that uses several legacy paths in several forms."""
    rows = import_map.MODULE_MOVES
    picks = [rows[(index * 7 + k) % len(rows)] for k in range(4)]
    lines = ['"""Planted legacy module."""', "from unittest import mock", ""]
    for number, (old, _) in enumerate(picks):
        parent, _, last = old.rpartition(".")
        lines += [
            f"import {old}",
            f"from {parent} import (\n    {last},  # module\n)",
            f"from {old} import Thing as Thing{number}",
        ]
    lines += ["from autoplay_sdk import ActionsPayload, ConversationEvent", "", ""]
    lines += ["def use():"]
    lines += [f"    {old}.run()" for old, _ in picks]
    lines += [f'    mock.patch("{picks[0][0]}.Thing")', "    return ConversationEvent.NEW", ""]
    return "\n".join(lines)


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


def plant(tree: Path, count: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    directories = sorted(
        p
        for p in tree.rglob("*")
        if p.is_dir() and "venv" not in p.parts and "build" not in p.parts
    )
    planted = []
    for index in range(count):
        path = rng.choice(directories) / f"legacy_planted_{index:02d}.py"
        path.write_text(legacy_source(index))
        planted.append(path)
    return planted


def cli(*args: str, command: str = "migrate-imports") -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "autoplay_cli", *([command] if command else []), *args],
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, proc.returncode


def naive(files: list[Path], sample: int) -> tuple[float, float, int]:
    """Parse every file with libcst, no pre-filter; then parse and run the rewriter.

    Returns (parse-only seconds, parse+rewrite seconds, files timed); with *sample* > 0
    only that many files (a seeded random sample) are timed.
    """
    import libcst as cst

    from autoplay_cli.codemods.rewriter import rewrite_source

    chosen = (
        files if sample <= 0 or sample >= len(files) else random.Random(1).sample(files, sample)
    )
    sources = [p.read_bytes() for p in chosen]
    failures = (cst.ParserSyntaxError, UnicodeDecodeError, SyntaxError, RecursionError)
    start = time.perf_counter()
    for data in sources:
        with contextlib.suppress(*failures):
            cst.parse_module(data)
    parse_only = time.perf_counter() - start
    start = time.perf_counter()
    for data in sources:
        with contextlib.suppress(*failures):
            rewrite_source(data)
    return parse_only, time.perf_counter() - start, len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--planted", type=int, default=40, help="legacy files to plant")
    parser.add_argument("--repeat", type=int, default=3, help="runs per CLI figure (median)")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=200,
        help="files the naive run parses before extrapolating (0 = every file)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tree = copy_stdlib(Path(tmp))
        planted = plant(tree, args.planted)
        files = [Path(p) for p in discover([tree])]
        start = time.perf_counter()
        candidates = sum(DEFAULT_MAP.may_need_work(p.read_bytes()) for p in files)
        scan = time.perf_counter() - start

        checks = []
        for _ in range(args.repeat):
            seconds, code = cli("--check", str(tree))
            assert code == 1, f"--check exited {code}, expected 1"
            checks.append(seconds)
        backup = {p: p.read_bytes() for p in planted}
        rewrites = []
        for _ in range(args.repeat):
            for path, data in backup.items():
                path.write_bytes(data)
            seconds, code = cli(str(tree))
            assert code in (0, 9), f"rewrite exited {code}"
            rewrites.append(seconds)
        second, _ = cli("--check", str(tree))
        startup = statistics.median(cli("--version", command="")[0] for _ in range(args.repeat))

        parse_seconds, naive_seconds, naive_count = naive(files, args.naive_sample)
        scale = len(files) / naive_count

    check_s, rewrite_s = statistics.median(checks), statistics.median(rewrites)
    print(f"tree: {len(files)} Python files ({args.planted} planted), {candidates} candidates")
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print("| run | wall time |")
    print("|---|---|")
    print(f"| `autoplay --version` (interpreter and CLI start-up) | {startup:.2f} s |")
    print(f"| byte scan of every file (in process) | {scan:.3f} s |")
    print(f"| `migrate-imports --check` (CLI, median of {args.repeat}) | {check_s:.2f} s |")
    print(f"| `migrate-imports` full rewrite (CLI, median of {args.repeat}) | {rewrite_s:.2f} s |")
    print(f"| `migrate-imports --check` after the rewrite | {second:.2f} s |")
    label = (
        "every file"
        if naive_count == len(files)
        else f"{naive_count} files, extrapolated to {len(files)}"
    )
    print(f"| naive: libcst parse of every file ({label}) | {parse_seconds * scale:.1f} s |")
    print(
        f"| naive: libcst parse + rewrite of every file ({label}) | {naive_seconds * scale:.1f} s |"
    )
    print()
    print(f"target: --check <= 1.5 s: {'met' if check_s <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
