"""Bundled agent skills: the catalog, the agent folder map, validation, and plan/apply install.

The face is ``__all__``; the modules behind it are internals.
"""

from autoplay_cli.skillpack.agents import (
    AGENTS,
    Agent,
    Target,
    detect,
    find_project_root,
    resolve_targets,
)
from autoplay_cli.skillpack.bundle import Bundle, BundledSkill, load
from autoplay_cli.skillpack.catalog import CATALOG, SkillInfo, select
from autoplay_cli.skillpack.plan import (
    Action,
    Item,
    Plan,
    Result,
    apply,
    make_plan,
    relative,
    status,
)
from autoplay_cli.skillpack.validate import Problem, validate_skill, validate_tree

__all__ = [
    "AGENTS",
    "CATALOG",
    "Action",
    "Agent",
    "Bundle",
    "BundledSkill",
    "Item",
    "Plan",
    "Problem",
    "Result",
    "SkillInfo",
    "Target",
    "apply",
    "detect",
    "find_project_root",
    "load",
    "make_plan",
    "relative",
    "resolve_targets",
    "select",
    "status",
    "validate_skill",
    "validate_tree",
]
