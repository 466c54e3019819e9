"""Start-up cost: median wall time of `autoplay --help` / `--version` beside a bare `import typer`.

Usage: python benchmarks/bench_startup.py [--runs N]
Target (issue 2): `autoplay --help` at most 1.3x the bare typer import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    # Measure what an installed copy does: pip compiles bytecode at install time,
    # so let the warm-up run write it even where PYTHONDONTWRITEBYTECODE is set
    # (as on the build machine), instead of timing a compile of every module.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["COLUMNS"] = "100"
    subprocess.run(cmd, capture_output=True, env=env, check=True)  # bytecode, page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    script = shutil.which("autoplay", path=os.path.dirname(sys.executable)) or "autoplay"
    cases = [
        ("python -c 'import typer'", [sys.executable, "-c", "import typer"]),
        ("python -c 'pass'", [sys.executable, "-c", "pass"]),
        ("autoplay --version", [script, "--version"]),
        ("autoplay --help", [script, "--help"]),
    ]
    results = {name: median_seconds(cmd, args.runs) for name, cmd in cases}
    base = results["python -c 'import typer'"]
    print(f"{'command':<28} {'median ms':>10} {'x typer':>8}   ({args.runs} runs)")
    for name, seconds in results.items():
        print(f"{name:<28} {seconds * 1000:>10.1f} {seconds / base:>8.2f}")


if __name__ == "__main__":
    main()
