"""A strict validator for skill folders, per the Agent Skills specification.

Spec: https://agentskills.io/specification (frontmatter fields and limits, name rules,
file references one level deep), declared as the :class:`FrontMatter` Struct and checked
field by field so that every problem is reported. A few house rules on top are warnings: a quoted
description that says when to use the skill. Used by the tests over every bundled skill
and by ``autoplay install-skills validate DIR`` for skill authors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import msgspec
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import problem, render_path

SKILL_FILE = "SKILL.md"
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
MAX_BODY_LINES = 500


class FrontMatter(msgspec.Struct, forbid_unknown_fields=True):
    """The frontmatter fields of a SKILL.md, as the specification declares them."""

    name: Annotated[
        str,
        Meta(
            max_length=MAX_NAME,
            pattern=NAME_RE.pattern,
            description=f"at most {MAX_NAME} lowercase letters, digits and single hyphens, "
            "not starting or ending with a hyphen",
        ),
    ]
    description: Annotated[
        str,
        Meta(
            max_length=MAX_DESCRIPTION,
            pattern=r"\S",
            description=f"a non-empty string of at most {MAX_DESCRIPTION} characters",
        ),
    ]
    license: Annotated[str, Meta(min_length=1, description="a non-empty string")] | UnsetType = (
        UNSET
    )
    compatibility: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=MAX_COMPATIBILITY,
                description=f"a string of 1-{MAX_COMPATIBILITY} characters",
            ),
        ]
        | UnsetType
    ) = UNSET
    metadata: (
        dict[str, Annotated[str, Meta(description='a string (quote numbers such as "1.0")')]]
        | UnsetType
    ) = UNSET
    allowed_tools: (
        Annotated[
            str | list[str],
            Meta(description="a space-delimited string or a list of strings"),
        ]
        | UnsetType
    ) = msgspec.field(default=UNSET, name="allowed-tools")


_FIELDS = msgspec.structs.fields(FrontMatter)
ALLOWED_KEYS = tuple(f.encode_name for f in _FIELDS)
_DESCRIPTIONS = {
    f.encode_name: next(m.description for m in f.type.__metadata__ if m.description)
    for f in _FIELDS
    if f.required
}


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int | None
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.severity}: {self.message}"


def _load_yaml(text: str) -> Any:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """Refuses duplicate keys, which plain YAML silently resolves to the last one."""

    def mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return loader.construct_mapping(node)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass: no arbitrary objects


def split_frontmatter(text: str) -> tuple[str, str, int] | None:
    """(frontmatter, body, line number where the body starts), or None without frontmatter."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None


def _local_links(markdown: str) -> list[tuple[str, int | None]]:
    """Relative link and image targets in *markdown*, with their line numbers."""
    from markdown_it import MarkdownIt

    found: list[tuple[str, int | None]] = []

    def walk(tokens: list[Any], line: int | None) -> None:
        for tok in tokens:
            here = tok.map[0] + 1 if tok.map else line
            attr = "href" if tok.type == "link_open" else "src" if tok.type == "image" else None
            if attr:
                target = str(tok.attrGet(attr) or "")
                parts = urlsplit(target)
                if target and not parts.scheme and not parts.netloc and not target.startswith("#"):
                    found.append((unquote(parts.path), here))
            if tok.children:
                walk(tok.children, here)

    walk(MarkdownIt("commonmark").parse(markdown), None)
    return found


def _check_frontmatter(skill_md: Path, fm_text: str, folder_name: str) -> list[Problem]:
    import yaml

    problems: list[Problem] = []

    def err(msg: str, line: int | None = None, severity: str = "error") -> None:
        problems.append(Problem(skill_md, line, severity, msg))

    try:
        data = _load_yaml(fm_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        err(
            f"frontmatter is not valid YAML: {getattr(exc, 'problem', None) or exc}",
            mark.line + 2 if mark is not None else None,
        )
        return problems
    if not isinstance(data, dict):
        err("frontmatter must be a YAML mapping of fields", 2)
        return problems
    lines = {
        k.split(":", 1)[0].strip(): n + 2
        for n, k in enumerate(fm_text.split("\n"))
        if k and not k[0].isspace() and ":" in k
    }
    for key in data:
        if key not in ALLOWED_KEYS:
            err(
                f"field {key!r} is not allowed (allowed: {', '.join(ALLOWED_KEYS)})",
                lines.get(str(key)),
            )
    # Field by field, so that every problem is reported, not only the first.
    for field_ in _FIELDS:
        key = field_.encode_name
        if key not in data:
            if field_.required:
                err(f"'{key}' is required ({_DESCRIPTIONS[key]})", lines.get(key))
            continue
        why = problem(data[key], field_.type)
        if why is not None:
            path, message, _ = why
            err(f"'{render_path((key, *path))}': {message}", lines.get(key))
    name = data.get("name")
    if isinstance(name, str) and name and name != folder_name:
        err(f"'name' {name!r} must equal the folder name {folder_name!r}", lines.get("name"))
    desc = data.get("description")
    if isinstance(desc, str) and desc.strip():
        raw = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in fm_text.split("\n")
                if ln.startswith("description:")
            ),
            "",
        )
        if not raw.startswith(('"', "'")):
            err(
                "'description' should be quoted, so a colon in it cannot change its meaning",
                lines.get("description"),
                "warning",
            )
        if "use when" not in desc.lower() and "use it when" not in desc.lower():
            err(
                "'description' should say when to use the skill (\"Use when ...\")",
                lines.get("description"),
                "warning",
            )
    return problems


def _check_links(
    folder: Path, source: Path, text: str, *, from_skill_md: bool, first_line: int = 1
) -> list[Problem]:
    """Problems with the local links of *text*, which starts at line *first_line* of *source*."""
    problems: list[Problem] = []
    for target, found_at in _local_links(text):
        line = found_at + first_line - 1 if found_at else None
        if target.startswith("/"):
            problems.append(
                Problem(
                    source, line, "error", f"link {target!r} must be relative to the skill folder"
                )
            )
            continue
        resolved = (source.parent / target).resolve()
        try:
            rel = resolved.relative_to(folder.resolve())
        except ValueError:
            problems.append(
                Problem(source, line, "error", f"link {target!r} points outside the skill folder")
            )
            continue
        if not resolved.is_file():
            problems.append(
                Problem(source, line, "error", f"link {target!r} does not name a file in the skill")
            )
        elif not from_skill_md and resolved.name != SKILL_FILE:
            problems.append(
                Problem(
                    source,
                    line,
                    "error",
                    f"reference files must not link on to {target!r}: keep "
                    "references one level deep from SKILL.md",
                )
            )
        elif len(rel.parts) > 2:
            problems.append(
                Problem(
                    source,
                    line,
                    "error",
                    f"{target!r} is nested too deep: keep reference files "
                    "one level below the skill folder",
                )
            )
    return problems


def validate_skill(folder: Path) -> list[Problem]:
    """Every problem with one skill folder (empty when it is valid)."""
    skill_md = folder / SKILL_FILE
    if not skill_md.is_file():
        return [Problem(folder, None, "error", f"no {SKILL_FILE} in the skill folder")]
    problems: list[Problem] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            problems.append(
                Problem(path, None, "error", "symlinks are not allowed: installers copy files")
            )
    try:
        text = skill_md.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [*problems, Problem(skill_md, None, "error", "not UTF-8 text")]
    parts = split_frontmatter(text)
    if parts is None:
        return [
            *problems,
            Problem(skill_md, 1, "error", "must open with YAML frontmatter between '---' lines"),
        ]
    fm_text, body, body_line = parts
    problems += _check_frontmatter(skill_md, fm_text, folder.name)
    body_lines = len(body.rstrip("\n").split("\n")) if body.strip() else 0
    if body_lines >= MAX_BODY_LINES:
        problems.append(
            Problem(
                skill_md,
                body_line,
                "error",
                f"body is {body_lines} lines (keep it under {MAX_BODY_LINES}; "
                "move detail to reference files)",
            )
        )
    problems += _check_links(folder, skill_md, body, from_skill_md=True, first_line=body_line)
    for ref in sorted(folder.rglob("*.md")):
        if ref == skill_md or ref.is_symlink():
            continue
        try:
            ref_text = ref.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(ref, None, "error", "not UTF-8 text"))
            continue
        problems += _check_links(folder, ref, ref_text, from_skill_md=False)
    return problems


def validate_tree(path: Path) -> tuple[list[Path], list[Problem]]:
    """Validate one skill folder, or every skill folder directly inside *path*.

    Returns the skill folders checked and the problems found.
    """
    if (path / SKILL_FILE).is_file():
        return [path], validate_skill(path)
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    problems: list[Problem] = []
    for folder in folders:
        problems += validate_skill(folder)
    return folders, problems
