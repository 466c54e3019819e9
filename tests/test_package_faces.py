"""Each package's face is its ``__init__`` (``__all__``); the CLI imports nothing else.

``autoplay_cli/cli/*.py`` may import other ``cli`` modules, the top-level modules
(``autoplay_cli.errors``, ``.settings``, ``.wire``, ``.redact``, …) and the names a
package lists in ``__all__``, never a package's inner module.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autoplay_cli"
CLI = PACKAGE / "cli"
DOMAIN_PACKAGES = sorted(
    p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file() and p.name != "cli"
)
TOP_LEVEL_MODULES = sorted(
    p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"}
)


def face_names(package: str) -> set[str]:
    """The names the package *package* (dotted) lists in ``__all__``, read without importing it."""
    init = PACKAGE.joinpath(*package.split(".")[1:], "__init__.py")
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _is_package(dotted: str) -> bool:
    return PACKAGE.joinpath(*dotted.split(".")[1:], "__init__.py").is_file()


def _module_problem(dotted: str) -> str | None:
    """Why importing the module *dotted* from the CLI is wrong, or None when it is fine.

    Fine: ``cli`` modules, top-level modules, and packages (faces, nested ones too)
    whose path has no ``_private`` part.
    """
    parts = dotted.split(".")
    if parts[0] != "autoplay_cli" or len(parts) == 1 or parts[1] == "cli":
        return None
    if not (_is_package(dotted) or PACKAGE.joinpath(*parts[1:]).with_suffix(".py").is_file()):
        return f"`{dotted}` is no module of autoplay_cli"
    if any(part.startswith("_") for part in parts[1:]):
        return "imports a private module"
    if _is_package(dotted) or len(parts) == 2:
        return None
    return f"reaches inside the package: import from its face `{'.'.join(parts[:-1])}`"


def _name_problem(module: str, names: list[str]) -> str | None:
    """Why importing *names* from the package *module* is wrong, or None."""
    if module == "autoplay_cli":
        known = {*DOMAIN_PACKAGES, *TOP_LEVEL_MODULES, "cli", "__version__"}
        unknown = ", ".join(n for n in names if n not in known)
        return f"`{unknown}` is no package or module of autoplay_cli" if unknown else None
    missing = sorted(
        n for n in names if n not in face_names(module) and not _is_package(f"{module}.{n}")
    )
    if missing:
        return (
            f"imports {', '.join(missing)}, not in `{module}.__all__`"
            " (add it to the face, or use a name the face offers)"
        )
    return None


def face_violations(source: str, filename: str) -> list[str]:
    """Every import in *source* (a ``cli`` module) that goes behind a package's face."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                why = _module_problem(alias.name)
                if why:
                    problems.append(f"{filename}:{node.lineno}: `import {alias.name}` {why}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            why = _module_problem(node.module)
            parts = node.module.split(".")
            in_cli = len(parts) > 1 and parts[1] == "cli"
            if why is None and parts[0] == "autoplay_cli" and not in_cli:
                why = _name_problem(node.module, names) if _is_package(node.module) else None
            if why:
                shown = f"from {node.module} import {', '.join(names)}"
                problems.append(f"{filename}:{node.lineno}: `{shown}` {why}")
    return problems


def test_the_cli_imports_only_package_faces() -> None:
    problems: list[str] = []
    for path in sorted(CLI.glob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        problems += face_violations(path.read_text(encoding="utf-8"), rel)
    assert not problems, "\n".join(problems)


def test_the_face_check_names_the_file_and_the_import() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from autoplay_cli.relay import Relay\n"
        "from autoplay_cli.errors import UsageError\n"
        "from autoplay_cli import settings, relay\n"
        "from autoplay_cli.cli import output\n"
        "if TYPE_CHECKING:\n"
        "    from autoplay_cli.relay.runner import RelayOptions\n"
        "def f():\n"
        "    import autoplay_cli.stream.client\n"
        "    from autoplay_cli.simulate import no_such_name\n"
        "    from autoplay_cli import nowhere\n"
        "    from autoplay_cli.session._redis import safe_url\n"
        "    from autoplay_cli.codemods.fixers import REGISTRY\n"
        "    from autoplay_cli.codemods.fixers.base import Context\n"
    )
    problems = face_violations(source, "autoplay_cli/cli/x.py")
    assert [p.split(": ", 1)[0] for p in problems] == [
        "autoplay_cli/cli/x.py:7",
        "autoplay_cli/cli/x.py:9",
        "autoplay_cli/cli/x.py:10",
        "autoplay_cli/cli/x.py:11",
        "autoplay_cli/cli/x.py:12",
        "autoplay_cli/cli/x.py:14",
    ], problems
    assert "`from autoplay_cli.relay.runner import RelayOptions`" in problems[0]
    assert "face `autoplay_cli.relay`" in problems[0]
    assert "`import autoplay_cli.stream.client`" in problems[1]
    assert "no_such_name" in problems[2] and "__all__" in problems[2]
    assert "nowhere" in problems[3]
    assert "private" in problems[4]
    # A nested package is a face of its own: its __all__ may be imported, not its modules.
    assert "face `autoplay_cli.codemods.fixers`" in problems[5]


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_every_name_of_a_face_resolves(package: str) -> None:
    module = importlib.import_module(f"autoplay_cli.{package}")
    names = face_names(f"autoplay_cli.{package}")
    assert names, f"autoplay_cli.{package} lists no __all__"
    assert len(set(module.__all__)) == len(module.__all__), "a name is listed twice"
    missing = [n for n in sorted(names) if getattr(module, n, None) is None]
    assert not missing, f"autoplay_cli.{package}.__all__ names {missing}, which do not resolve"
    assert names <= set(dir(module))


# What importing a face must not load: each package loads its heavy dependency only
# when a function that needs it runs (the stream client needs httpx from the start).
HEAVY = ("starlette", "uvicorn", "redis", "mcp", "prometheus_client", "libcst", "unkey")
LIGHT_FACES = {
    "codemods": (*HEAVY, "httpx", "pydantic"),
    "emulator": (*HEAVY, "httpx", "pydantic"),
    "onboarding": (*HEAVY, "httpx", "pydantic"),
    "relay": (*HEAVY, "httpx"),
    "session": HEAVY,
    "simulate": HEAVY,
    "skillpack": (*HEAVY, "httpx", "pydantic"),
    "stream": HEAVY,
    "triggers": (*HEAVY, "httpx"),
}


def test_every_package_has_a_start_up_budget() -> None:
    assert sorted(LIGHT_FACES) == DOMAIN_PACKAGES


@pytest.mark.parametrize("package", sorted(LIGHT_FACES))
def test_importing_a_face_loads_no_heavy_library(package: str) -> None:
    banned = LIGHT_FACES[package]
    code = (
        "import sys\n"
        f"import autoplay_cli.{package}\n"
        f"print(','.join(m for m in {banned!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"import autoplay_cli.{package} loaded {proc.stdout}"


def test_no_command_help_loads_a_heavy_library() -> None:
    # A command module imports faces inside its functions: its --help stays light.
    # Each line names what that command's help loaded first (modules stay loaded).
    # (pydantic is left out: Typer itself imports it when it builds a command.)
    banned = ("httpx", "httpx_sse", *HEAVY)
    code = (
        "import sys\n"
        "from autoplay_cli.cli.app import COMMANDS, run\n"
        "seen = set()\n"
        "for entry in COMMANDS:\n"
        "    try:\n"
        "        run([entry[0], '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"    loaded = [m for m in {banned!r} if m in sys.modules and m not in seen]\n"
        "    seen.update(loaded)\n"
        "    print('LOADED', entry[0], *loaded, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln.split()[1:] for ln in proc.stderr.splitlines() if ln.startswith("LOADED ")]
    assert len(lines) >= 10, proc.stderr[-2000:]
    heavy = [f"autoplay {ln[0]} --help loaded {', '.join(ln[1:])}" for ln in lines if ln[1:]]
    assert not heavy, "\n".join(heavy)
