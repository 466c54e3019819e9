"""The skill catalog, as data: every bundled skill with its version, family and tags.

The catalog is the source of truth for versions; each SKILL.md repeats its version in
``metadata`` so an installed copy says what it is (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autoplay_cli.errors import UsageError

CORE = "autoplay-core"
MIGRATION = "autoplay-migrate-imports"

# SKILL.md metadata keys that carry catalog facts (the spec asks for distinctive keys).
META_VERSION = "autoplay-skill-version"
META_MIN_TOOLKIT = "autoplay-min-toolkit"


@dataclass(frozen=True)
class SkillInfo:
    """One catalog row."""

    name: str
    version: str
    family: str  # core | migration | chatbot | activity
    tags: tuple[str, ...]
    min_toolkit: str
    summary: str

    @property
    def short(self) -> str:
        """The selection name: ``intercom`` for ``chatbot-intercom``."""
        prefix = {"chatbot": "chatbot-", "activity": "activity-"}.get(self.family, "")
        return self.name.removeprefix(prefix)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "skill",
            "name": self.name,
            "version": self.version,
            "family": self.family,
            "tags": list(self.tags),
            "min_toolkit": self.min_toolkit,
            "summary": self.summary,
        }


CATALOG: tuple[SkillInfo, ...] = (
    SkillInfo(
        CORE,
        "1.1.0",
        "core",
        ("concepts", "session-fsm", "checklist"),
        "0.1.0",
        "stream, `autoplay relay`, payloads, session FSM, linking, the gate, integration checklist",
    ),
    SkillInfo(
        MIGRATION,
        "1.1.0",
        "migration",
        ("migration", "codemod"),
        "0.1.0",
        "drive `autoplay migrate-imports`: check, diff, apply, verify",
    ),
    SkillInfo(
        "chatbot-ada",
        "1.1.0",
        "chatbot",
        ("chatbot", "ada"),
        "0.1.0",
        "wire Ada through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-botpress",
        "1.1.0",
        "chatbot",
        ("chatbot", "botpress"),
        "0.1.0",
        "wire Botpress through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-crisp",
        "1.1.0",
        "chatbot",
        ("chatbot", "crisp"),
        "0.1.0",
        "wire Crisp through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-dify",
        "1.1.0",
        "chatbot",
        ("chatbot", "dify"),
        "0.1.0",
        "wire Dify through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-intercom",
        "1.1.0",
        "chatbot",
        ("chatbot", "intercom"),
        "0.1.0",
        "wire Intercom through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-landbot",
        "1.1.0",
        "chatbot",
        ("chatbot", "landbot"),
        "0.1.0",
        "wire Landbot through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "chatbot-tidio",
        "1.1.0",
        "chatbot",
        ("chatbot", "tidio"),
        "0.1.0",
        "wire Tidio through `autoplay relay` or the delivery manager",
    ),
    SkillInfo(
        "activity-fullstory",
        "1.0.0",
        "activity",
        ("activity", "fullstory"),
        "0.1.0",
        "get FullStory activity into the connector",
    ),
    SkillInfo(
        "activity-posthog",
        "1.0.0",
        "activity",
        ("activity", "posthog"),
        "0.1.0",
        "get PostHog activity into the connector",
    ),
)

BY_NAME: dict[str, SkillInfo] = {s.name: s for s in CATALOG}


def family(name: str) -> tuple[SkillInfo, ...]:
    """Every catalog row of one family, in catalog order."""
    return tuple(s for s in CATALOG if s.family == name)


def _resolve(names: Iterable[str], fam: str, setting: str) -> list[str]:
    rows = {s.short: s.name for s in family(fam)} | {s.name: s.name for s in family(fam)}
    chosen: list[str] = []
    for raw in names:
        key = raw.strip().lower()
        if key not in rows:
            valid = ", ".join(s.short for s in family(fam))
            raise UsageError(
                f"unknown `{setting}` {raw!r}", setting=setting, hint=f"valid values: {valid}"
            )
        chosen.append(rows[key])
    return chosen


def select(
    chatbots: Iterable[str] = (),
    activities: Iterable[str] = (),
    *,
    migrate: bool = False,
    all_: bool = False,
) -> tuple[str, ...]:
    """The skills to install, in catalog order.

    ``autoplay-core`` is always included; with no selection at all (or ``all_``),
    every skill is. ``migrate`` adds the migration skill.
    """
    chosen = {CORE}
    chosen.update(_resolve(chatbots, "chatbot", "chatbots"))
    chosen.update(_resolve(activities, "activity", "activities"))
    if migrate:
        chosen.add(MIGRATION)
    if all_ or chosen == {CORE}:
        chosen = set(BY_NAME)
    return tuple(s.name for s in CATALOG if s.name in chosen)
