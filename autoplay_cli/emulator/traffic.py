"""Synthetic user sessions that look like real traffic of a small SaaS app.

Pure and deterministic: the same ``seed`` always yields the same sessions. No
server code here, so ``simulate`` and the tests can use it directly.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from autoplay_cli.wire import ActionsPayload, SummaryPayload

PERSONAS: tuple[str, ...] = ("hesitant", "stuck", "confident", "anonymous")
DEFAULT_START = 1767225600.0  # 2026-01-01T00:00:00Z: a fixed epoch keeps traffic reproducible
DEFAULT_PRODUCT_ID = "demo"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the catalog: a canonical path template and its UI elements."""

    canonical: str
    title: str
    elements: tuple[tuple[str, str], ...]  # (action type, element label)


# The catalog of "Acme Projects", a plausible project-management SaaS app.
CATALOG: tuple[Page, ...] = (
    Page(
        "/dashboard",
        "Dashboard",
        (("click", "New project"), ("click", "Recent activity"), ("click", "Search")),
    ),
    Page(
        "/projects",
        "Projects",
        (("click", "Filter by owner"), ("click", "Sort by due date"), ("input", "Search projects")),
    ),
    Page(
        "/projects/:id",
        "Project overview",
        (("click", "Add task"), ("click", "Members"), ("click", "Timeline")),
    ),
    Page(
        "/projects/:id/board",
        "Project board",
        (("click", "Move card"), ("click", "Add column"), ("input", "Card title")),
    ),
    Page(
        "/projects/:id/settings",
        "Project settings",
        (("click", "Permissions"), ("input", "Project name"), ("submit", "Save settings")),
    ),
    Page(
        "/tasks/:id",
        "Task",
        (("click", "Assign"), ("input", "Comment"), ("click", "Mark complete")),
    ),
    Page(
        "/billing",
        "Billing",
        (("click", "Download invoice"), ("click", "Change plan"), ("click", "Payment method")),
    ),
    Page(
        "/billing/plans",
        "Plans",
        (("click", "Compare plans"), ("click", "Pro plan"), ("click", "Annual billing toggle")),
    ),
    Page(
        "/billing/checkout",
        "Checkout",
        (("input", "Card number"), ("input", "Billing address"), ("submit", "Confirm purchase")),
    ),
    Page(
        "/settings/team",
        "Team",
        (("click", "Invite member"), ("click", "Change role"), ("click", "Remove member")),
    ),
    Page(
        "/settings/team/invite",
        "Invite teammates",
        (("input", "Email addresses"), ("click", "Role dropdown"), ("submit", "Send invites")),
    ),
    Page(
        "/integrations",
        "Integrations",
        (("click", "Slack"), ("click", "GitHub"), ("input", "Search integrations")),
    ),
    Page(
        "/integrations/:id",
        "Integration setup",
        (("click", "Connect"), ("input", "API token"), ("submit", "Save integration")),
    ),
    Page(
        "/reports/:id",
        "Report",
        (("click", "Export CSV"), ("click", "Date range"), ("click", "Share report")),
    ),
)
_PAGES = {p.canonical: p for p in CATALOG}

# Pairs a hesitating user bounces between (URL ping-pong).
_HESITATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("/billing/plans", "/billing/checkout"),
    ("/projects/:id/settings", "/settings/team"),
    ("/integrations", "/integrations/:id"),
    ("/settings/team", "/settings/team/invite"),
)
# Pages a stuck user dwells on: forms that are easy to get lost in.
_STUCK_PAGES = (
    "/integrations/:id",
    "/billing/checkout",
    "/projects/:id/settings",
    "/settings/team/invite",
)
# Journeys a confident user completes.
_JOURNEYS: tuple[tuple[str, ...], ...] = (
    ("/dashboard", "/projects", "/projects/:id", "/projects/:id/board", "/tasks/:id"),
    ("/dashboard", "/settings/team", "/settings/team/invite", "/settings/team"),
    ("/dashboard", "/billing", "/billing/plans", "/billing/checkout", "/billing"),
    ("/dashboard", "/integrations", "/integrations/:id", "/projects"),
    ("/dashboard", "/projects", "/projects/:id", "/reports/:id"),
)
_FIRST = ("maria", "kenji", "amara", "lukas", "priya", "tom", "sofia", "omar", "ines", "david")
_LAST = ("lopez", "tanaka", "okafor", "weber", "shah", "nguyen", "rossi", "haddad", "silva", "kim")
_COMPANIES = ("northwind", "globex", "initech", "umbrella", "hooli", "vandelay")
# "scheme://host[:port]", or a protocol-relative "//host": what precedes a URL's path.
_ORIGIN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/]*")
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{16,})$")


@dataclass(slots=True)
class SyntheticSession:
    """One user's session: its final identity, persona and its action batches in order."""

    session_id: str
    persona: str
    batches: list[ActionsPayload]
    user_id: str | None = None
    email: str | None = None
    summary: SummaryPayload | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def canonicalize(raw_url: str) -> str:
    """The canonical form of *raw_url*, the same whatever its source: the path alone.

    Scheme, host, query and fragment are dropped (``https://app.example/tasks/7?x=1``
    and ``/tasks/7`` are one page), and numeric, UUID and long-hex segments become
    ``:id``, as the generated traffic's canonical URLs are.
    """
    path = raw_url.partition("#")[0].partition("?")[0]
    origin = _ORIGIN.match(path)
    if origin is not None:
        path = path[origin.end() :] or "/"
    parts = [":id" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/")]
    return "/".join(parts)


def _raw(canonical: str, ids: dict[str, str]) -> str:
    """A raw URL for *canonical*: ``:id`` replaced by the session's id for that resource."""
    if ":id" not in canonical:
        return canonical
    resource = canonical.split("/")[1]
    return canonical.replace(":id", ids[resource])


class _Builder:
    """Accumulates one session's actions on a virtual clock."""

    def __init__(self, rng: random.Random, t0: float) -> None:
        self.rng = rng
        self.t = t0
        self.actions: list[dict[str, Any]] = []
        self.ids = {
            "projects": str(rng.randint(1000, 9999)),
            "tasks": str(rng.randint(10000, 99999)),
            "integrations": str(rng.randint(10, 99)),
            "reports": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }

    def act(self, canonical: str, kind: str, label: str, *, gap: float, duration: float) -> None:
        self.t += gap
        page = _PAGES[canonical]
        if kind == "pageview":
            title, description = page.title, f"Opened {page.title}"
        elif kind == "submit":
            title, description = label, f"Submitted {label} on {page.title}"
        elif kind == "input":
            title, description = label, f"Typed in {label} on {page.title}"
        else:
            title, description = label, f"Clicked {label} on {page.title}"
        self.actions.append(
            {
                "index": len(self.actions),
                "type": kind,
                "title": title,
                "description": description,
                "timestamp_start": round(self.t, 3),
                "timestamp_end": round(self.t + duration, 3),
                "raw_url": _raw(canonical, self.ids),
                "canonical_url": canonical,
            }
        )
        self.t += duration

    def visit(self, canonical: str, clicks: int, *, pace: tuple[float, float]) -> None:
        """A pageview then *clicks* interactions on that page."""
        self.act(canonical, "pageview", "", gap=self.rng.uniform(*pace), duration=0.0)
        elements = _PAGES[canonical].elements
        for _ in range(clicks):
            kind, label = self.rng.choice(elements)
            self.act(
                canonical,
                kind,
                label,
                gap=self.rng.uniform(*pace),
                duration=round(self.rng.uniform(0.05, 0.6), 3),
            )


def _hesitant(b: _Builder) -> None:
    a, c = b.rng.choice(_HESITATION_PAIRS)
    b.visit("/dashboard", b.rng.randint(0, 1), pace=(1.0, 4.0))
    # A B A B A (…): only looking, no clicks, so the canonical URLs alternate strictly
    # and every position counts as a ping-pong cycle.
    for i in range(b.rng.randint(5, 7)):
        b.visit(a if i % 2 == 0 else c, 0, pace=(2.0, 8.0))


def _stuck(b: _Builder) -> None:
    page = b.rng.choice(_STUCK_PAGES)
    b.visit("/dashboard", 1, pace=(1.0, 3.0))
    # The trailing run on one page: a pageview and 2–3 actions over 65–150 s.
    b.act(page, "pageview", "", gap=b.rng.uniform(1.0, 3.0), duration=0.0)
    elements = _PAGES[page].elements
    steps = b.rng.randint(2, 3)
    total = b.rng.uniform(65.0, 150.0)
    for _ in range(steps):
        kind, label = b.rng.choice(elements)
        b.act(page, kind, label, gap=total / steps, duration=0.3)


def _confident(b: _Builder) -> None:
    journey = b.rng.choice(_JOURNEYS)
    for page in journey:
        b.visit(page, b.rng.randint(1, 3), pace=(0.5, 3.0))


def _identity(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return f"usr_{rng.getrandbits(32):08x}", f"{first}.{last}@{rng.choice(_COMPANIES)}.example"


_BEHAVIOURS = {"hesitant": _hesitant, "stuck": _stuck, "confident": _confident}


def _session_dicts(
    index: int, persona: str, *, seed: int, t0: float, product_id: str
) -> tuple[str, str, str, list[dict[str, Any]], dict[str, Any] | None]:
    """One session as plain dicts: (session_id, user_id, email, batches, summary)."""
    rng = random.Random(f"autoplay-emulator:{seed}:{index}")
    session_id = f"sess_{rng.getrandbits(48):012x}"
    user_id, email = _identity(rng)
    b = _Builder(rng, t0)
    if persona == "anonymous":
        # Browses anonymously, signs in, then goes on like a confident user.
        b.visit("/dashboard", 1, pace=(1.0, 3.0))
        b.visit("/projects", 1, pace=(1.0, 4.0))
        _confident(b)
    else:
        _BEHAVIOURS[persona](b)
    actions = b.actions
    # Cut into batches of 2–5 actions, the way the connector forwards them.
    cuts: list[list[dict[str, Any]]] = []
    i = 0
    while i < len(actions):
        n = rng.randint(2, 5)
        cuts.append(actions[i : i + n])
        i += n
    anonymous_batches = rng.randint(1, max(1, len(cuts) - 1)) if persona == "anonymous" else 0
    conversation = (
        f"conv_{rng.getrandbits(40):010x}"
        if persona != "anonymous" and rng.random() < 0.25
        else None
    )
    conversation_from = len(cuts) // 2
    batches: list[dict[str, Any]] = []
    forwarded = 0.0
    for n, chunk in enumerate(cuts):
        known = n >= anonymous_batches
        conv = conversation if conversation and n >= conversation_from else None
        ident = {
            "session_id": session_id if known else None,
            "user_id": user_id if known else None,
            "email": email if known else None,
        }
        stamped = [{**a, **ident, **({"conversation_id": conv} if conv else {})} for a in chunk]
        # The connector forwards a session's batches in order, whatever the batching lag.
        forwarded = max(
            round(chunk[-1]["timestamp_end"] + rng.uniform(0.2, 1.5), 3),
            round(forwarded + 0.001, 3),
        )
        batches.append(
            {
                "type": "actions",
                "product_id": product_id,
                **ident,
                "actions": stamped,
                "count": len(stamped),
                "forwarded_at": forwarded,
                "conversation_id": conv,
            }
        )
    summary = None
    if rng.random() < 0.3:
        pages = list(dict.fromkeys(a["canonical_url"] for a in actions))
        summary = {
            "type": "summary",
            "product_id": product_id,
            "session_id": session_id,
            "summary": _summary_text(persona, pages, len(actions)),
            "replaces": len(actions),
            "forwarded_at": round(batches[-1]["forwarded_at"] + rng.uniform(1.0, 5.0), 3),
        }
    return session_id, user_id, email, batches, summary


def _summary_text(persona: str, pages: list[str], n: int) -> str:
    where = ", ".join(pages[:4])
    if persona == "hesitant":
        return (
            f"The user went back and forth between {pages[-2]} and {pages[-1]} "
            f"without completing anything ({n} actions)."
        )
    if persona == "stuck":
        return f"The user spent over a minute on {pages[-1]} with little progress ({n} actions)."
    if persona == "anonymous":
        return f"An anonymous visitor signed in and went on through {where} ({n} actions)."
    return f"The user moved quickly through {where} and finished the task ({n} actions)."


def _pick_personas(personas: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(personas) if personas else PERSONAS
    unknown = [p for p in chosen if p not in PERSONAS]
    if unknown:
        from autoplay_cli.errors import InputError

        raise InputError(
            f"unknown persona {unknown[0]!r}", hint=f"choose from {', '.join(PERSONAS)}"
        )
    return chosen


def _round_dicts(
    count: int,
    *,
    seed: int,
    start: float,
    product_id: str,
    personas: Sequence[str] | None,
    first_index: int = 0,
) -> list[tuple[str, str, str, str, list[dict[str, Any]], dict[str, Any] | None]]:
    chosen = _pick_personas(personas)
    master = random.Random(f"autoplay-emulator:{seed}:round:{first_index}")
    offset = master.randrange(len(chosen))
    out = []
    t0 = start
    for i in range(count):
        persona = chosen[(offset + first_index + i) % len(chosen)]
        sid, uid, email, batches, summary = _session_dicts(
            first_index + i, persona, seed=seed, t0=t0, product_id=product_id
        )
        out.append((sid, persona, uid, email, batches, summary))
        t0 += master.uniform(2.0, 20.0)  # sessions start a few seconds apart and overlap
    return out


def generate_sessions(
    count: int,
    *,
    seed: int,
    start: float = DEFAULT_START,
    product_id: str = DEFAULT_PRODUCT_ID,
    personas: Sequence[str] | None = None,
) -> list[SyntheticSession]:
    """*count* sessions, personas taken in turn (from *personas*, default all of them).

    Deterministic for a given ``seed``; the first session starts at ``start``
    (unix seconds), the others a few seconds apart.
    """
    return [
        SyntheticSession(
            session_id=sid,
            persona=persona,
            user_id=uid,
            email=email,
            batches=[ActionsPayload.model_validate(b) for b in batches],
            summary=SummaryPayload.model_validate(summary) if summary else None,
        )
        for sid, persona, uid, email, batches, summary in _round_dicts(
            count, seed=seed, start=start, product_id=product_id, personas=personas
        )
    ]


def interleave(sessions: Sequence[SyntheticSession]) -> list[ActionsPayload | SummaryPayload]:
    """Every batch and summary of *sessions*, in the order the connector forwards them."""
    items: list[ActionsPayload | SummaryPayload] = []
    for s in sessions:
        items.extend(s.batches)
        if s.summary is not None:
            items.append(s.summary)
    return sorted(items, key=lambda p: p.forwarded_at)


def iter_payloads(
    *,
    seed: int,
    start: float = DEFAULT_START,
    product_id: str = DEFAULT_PRODUCT_ID,
    personas: Sequence[str] | None = None,
    sessions: int | None = None,
    round_size: int = 8,
) -> Iterator[dict[str, Any]]:
    """Payload dicts in forwarding order: *sessions* sessions, or endless when ``None``.

    Sessions come in rounds of *round_size* that overlap in time; dicts (not
    models) because the emulator serialises tens of thousands per second.
    """
    first = 0
    t0 = start
    while sessions is None or first < sessions:
        n = round_size if sessions is None else min(round_size, sessions - first)
        items: list[dict[str, Any]] = []
        for _sid, _persona, _uid, _email, batches, summary in _round_dicts(
            n, seed=seed, start=t0, product_id=product_id, personas=personas, first_index=first
        ):
            items.extend(batches)
            if summary is not None:
                items.append(summary)
        items.sort(key=lambda d: d["forwarded_at"])
        yield from items
        first += n
        t0 = items[-1]["forwarded_at"] + 1.0 if items else t0 + 1.0
