"""Scenarios: which traffic the emulator serves — a built-in persona mix or a scripted file.

A scenario file (TOML or JSON, format in the README's ``emulate`` section and
``examples/scenario-*.toml``) lists exact sessions; it is read and checked
once into declared msgspec Structs (:mod:`autoplay_cli.documents`), and every problem is an
:class:`InputError` naming the file, line and key path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import FINITE, Document, read_document
from autoplay_cli.emulator import traffic
from autoplay_cli.errors import InputError

BUILTIN = ("mixed", *traffic.PERSONAS)

Source = Callable[[float], Iterator[dict[str, Any]]]


def source(scenario: str | None, *, product_id: str, seed: int, sessions: int | None) -> Source:
    """A factory of payload dicts in forwarding order, given the stream's start time."""
    name = scenario or "mixed"
    if name in BUILTIN:
        personas = None if name == "mixed" else (name,)

        def generated(start: float) -> Iterator[dict[str, Any]]:
            return traffic.iter_payloads(
                seed=seed, start=start, product_id=product_id, personas=personas, sessions=sessions
            )

        return generated
    path = Path(name)
    if not path.is_file():
        raise InputError(
            f"scenario {name!r} is neither a built-in name nor a file",
            hint=f"use one of {', '.join(BUILTIN)} or a path to a .toml/.json file",
        )
    spec = read_file(path)

    def scripted(start: float) -> Iterator[dict[str, Any]]:
        return iter(build(spec, product_id=product_id, seed=seed, start=start))

    # Build once now, so a bad file fails at start-up rather than at the first subscriber.
    build(spec, product_id=product_id, seed=seed, start=0.0)
    return scripted


_NUMBER = Annotated[float, FINITE, Meta(description="a finite number")]
_SECONDS = Annotated[
    float, Meta(ge=0, le=sys.float_info.max, description="a finite number of seconds ≥ 0")
]
_OptStr = str | None


class _Action(msgspec.Struct):
    """The keys the emulator reads from an action; any others are passed on as they are."""

    type: Annotated[str, Meta(min_length=1, description="a non-empty string")]
    raw_url: Annotated[str, Meta(description="the page's URL")]
    title: str = ""
    description: _OptStr = None
    canonical_url: _OptStr = None
    at: _NUMBER | UnsetType = UNSET
    duration: _SECONDS = 0.0


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    actions: Annotated[list[_Action], Meta(min_length=1, description="a non-empty list")]
    delay: _SECONDS = 0.5


class _Session(msgspec.Struct, forbid_unknown_fields=True):
    start: _NUMBER = 0.0
    persona: str = "confident"
    session_id: _OptStr = None
    user_id: _OptStr = None
    email: _OptStr = None
    conversation_id: _OptStr = None
    anonymous_batches: _NUMBER = 0.0
    batches: (
        Annotated[list[_Batch], Meta(min_length=1, description="a non-empty list")] | UnsetType
    ) = UNSET
    summary: _OptStr = None


class _File(msgspec.Struct):
    # Other top-level keys (a name, a description) are the author's notes: ignored.
    sessions: Annotated[
        list[_Session], Meta(min_length=1, description="a non-empty list of [[sessions]]")
    ]


_ACTION_KEYS = frozenset(f for f in _Action.__struct_fields__)


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """A scenario file read and checked against its declared type (and its text, for lines)."""

    doc: Document
    sessions: list[_Session]


def read_file(path: Path) -> ScenarioFile:
    """The checked scenario document of a ``.json`` (JSON) or any other (TOML) file."""
    doc = read_document(path, what="scenario file", toml=path.suffix.lower() != ".json")
    return ScenarioFile(doc, doc.load(_File).sessions)


def build(spec: ScenarioFile, *, product_id: str, seed: int, start: float) -> list[dict[str, Any]]:
    """Every payload dict of the scenario *spec*, sorted by ``forwarded_at``."""
    items: list[dict[str, Any]] = []
    for n, session in enumerate(spec.sessions):
        if session.batches is UNSET:
            if session.persona not in traffic.PERSONAS:
                raise spec.doc.error(
                    ("sessions", n, "persona"),
                    f"unknown persona {session.persona!r}",
                    hint=f"choose from {', '.join(traffic.PERSONAS)}",
                )
            items.extend(
                traffic.iter_payloads(
                    seed=seed * 1_000 + n,
                    start=start + session.start,
                    product_id=product_id,
                    personas=(session.persona,),
                    sessions=1,
                )
            )
            continue
        items.extend(
            _scripted_session(
                spec.doc, session, session.batches, product_id, start + session.start, n
            )
        )
    items.sort(key=lambda d: d["forwarded_at"])
    return items


def _scripted_session(
    doc: Document,
    spec: _Session,
    batches: list[_Batch],
    product_id: str,
    t0: float,
    n: int,
) -> list[dict[str, Any]]:
    session_id = spec.session_id or f"sess_scripted_{n}"
    user_id = spec.user_id or None
    email = spec.email or None
    conversation_id = spec.conversation_id or None
    anonymous = int(spec.anonymous_batches)
    raw_batches = doc.data["sessions"][n]["batches"]
    out: list[dict[str, Any]] = []
    index = 0
    last_end = last_begin = t0
    forwarded = t0
    for b, batch in enumerate(batches):
        known = b >= anonymous
        ident = {
            "session_id": session_id if known else None,
            "user_id": user_id if known else None,
            "email": email if known else None,
        }
        actions = []
        for a, act in enumerate(batch.actions):
            begin = t0 + (last_end - t0 if act.at is UNSET else act.at)
            if begin < last_begin:  # the session's timeline, and so its index, runs forward
                raise doc.error(
                    ("sessions", n, "batches", b, "actions", a, "at"),
                    f"goes back in time ({begin - t0:g} s < {last_begin - t0:g} s)",
                    hint="list a session's actions in the order they happen",
                )
            last_begin = begin
            end = begin + act.duration
            raw = raw_batches[b]["actions"][a]
            actions.append(
                {
                    **{k: v for k, v in raw.items() if k not in _ACTION_KEYS},
                    "index": index,
                    "type": act.type.lower(),
                    "title": act.title,
                    "description": act.description or f"{act.type} {act.title}".strip(),
                    "timestamp_start": round(begin, 3),
                    "timestamp_end": round(end, 3),
                    "raw_url": act.raw_url,
                    "canonical_url": act.canonical_url or traffic.canonicalize(act.raw_url),
                    **ident,
                    **({"conversation_id": conversation_id} if conversation_id and known else {}),
                }
            )
            index += 1
            last_end = end
        # Forwarded in order whatever the delays: the stream keeps a session's indices in order.
        forwarded = max(
            round(actions[-1]["timestamp_end"] + batch.delay, 3), round(forwarded + 0.001, 3)
        )
        out.append(
            {
                "type": "actions",
                "product_id": product_id,
                **ident,
                "actions": actions,
                "count": len(actions),
                "forwarded_at": forwarded,
                "conversation_id": conversation_id if known else None,
            }
        )
    if spec.summary:
        out.append(
            {
                "type": "summary",
                "product_id": product_id,
                "session_id": session_id,
                "summary": spec.summary,
                "replaces": index,
                "forwarded_at": round(out[-1]["forwarded_at"] + 1.0, 3),
            }
        )
    return out
