"""Scenario files and built-in scenario names: what they produce and how they fail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.emulator import scenario
from autoplay_cli.errors import InputError
from autoplay_cli.wire import parse_payload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = 1_700_000_000.0


def built(doc: dict[str, Any], tmp_path: Path, suffix: str = ".json") -> list[dict[str, Any]]:
    path = tmp_path / f"s{suffix}"
    path.write_text(json.dumps(doc))
    return list(scenario.source(str(path), product_id="acme", seed=0, sessions=None)(T0))


def one_session(**session: Any) -> dict[str, Any]:
    base = {
        "session_id": "s1",
        "user_id": "u1",
        "email": "a@b.example",
        "batches": [{"actions": [{"type": "pageview", "raw_url": "/projects/12", "at": 0}]}],
    }
    return {"sessions": [{**base, **session}]}


def test_example_files_build_valid_payloads_in_forwarding_order() -> None:
    for path in sorted(EXAMPLES.glob("scenario-*.*")):
        items = scenario.build(scenario.read_file(path), product_id="demo", seed=0, start=T0)
        assert items, path
        assert [i["forwarded_at"] for i in items] == sorted(i["forwarded_at"] for i in items)
        for item in items:
            parse_payload(item)  # the one parser accepts every payload


def test_toml_and_json_forms_are_equivalent(tmp_path: Path) -> None:
    doc = one_session(summary="done")
    toml = tmp_path / "s.toml"
    toml.write_text(
        '[[sessions]]\nsession_id = "s1"\nuser_id = "u1"\nemail = "a@b.example"\n'
        'summary = "done"\n[[sessions.batches]]\n'
        'actions = [{ type = "pageview", raw_url = "/projects/12", at = 0 }]\n'
    )
    from_toml = list(scenario.source(str(toml), product_id="acme", seed=0, sessions=None)(T0))
    assert from_toml == built(doc, tmp_path)


def test_scripted_session_fields(tmp_path: Path) -> None:
    doc = one_session(
        anonymous_batches=1,
        conversation_id="c1",
        start=10,
        batches=[
            {"actions": [{"type": "PageView", "raw_url": "/projects/12", "title": "P", "at": 0}]},
            {
                "delay": 2,
                "actions": [
                    {
                        "type": "click",
                        "raw_url": "/reports/0c7a9e2b-1f3d-4a5b-8c6d-7e8f9a0b1c2d",
                        "at": 5,
                        "duration": 1.5,
                        "campaign": "spring",
                    },
                    {"type": "submit", "raw_url": "/x", "canonical_url": "/custom"},
                ],
            },
        ],
    )
    first, second = built(doc, tmp_path)
    assert first["session_id"] is None and first["user_id"] is None
    assert first["actions"][0]["type"] == "pageview"
    assert first["actions"][0]["canonical_url"] == "/projects/:id"
    assert first["actions"][0]["timestamp_start"] == T0 + 10
    assert first["actions"][0]["description"] == "PageView P"
    assert second["session_id"] == "s1" and second["conversation_id"] == "c1"
    click, submit = second["actions"]
    assert [click["index"], submit["index"]] == [1, 2]
    assert click["canonical_url"] == "/reports/:id" and click["campaign"] == "spring"
    assert click["timestamp_end"] == T0 + 10 + 6.5
    assert submit["timestamp_start"] == click["timestamp_end"]  # default: right after
    assert submit["canonical_url"] == "/custom"
    assert second["forwarded_at"] == submit["timestamp_end"] + 2


def test_persona_only_session_is_generated(tmp_path: Path) -> None:
    items = built({"sessions": [{"persona": "stuck"}]}, tmp_path)
    assert items and {i["product_id"] for i in items} == {"acme"}
    assert built({"sessions": [{"persona": "stuck"}]}, tmp_path) == items


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "s.json: missing 'sessions' (a non-empty list of [[sessions]])"),
        (
            {"sessions": []},
            "s.json:1: sessions: expected a non-empty list of [[sessions]], got an empty list",
        ),
        ({"sessions": [1]}, "sessions[0]: expected a table/object, got 1"),
        ({"sessions": [{"persona": "grumpy"}]}, "sessions[0].persona: unknown persona 'grumpy'"),
        (
            {"sessions": [{"batches": []}]},
            "sessions[0].batches: expected a non-empty list, got an empty list",
        ),
        (
            {"sessions": [{"batches": [{"actions": []}]}]},
            "batches[0].actions: expected a non-empty list, got an empty list",
        ),
        (
            {"sessions": [{"batches": [{"actions": [{"type": "click"}]}]}]},
            "batches[0].actions[0]: missing 'raw_url'",
        ),
        (
            {
                "sessions": [
                    {"batches": [{"actions": [{"type": "click", "raw_url": "/", "at": "x"}]}]}
                ]
            },
            "actions[0].at: expected a finite number, got 'x'",
        ),
        (
            {"sessions": [{"start": True, "batches": []}]},
            "sessions[0].start: expected a finite number, got True",
        ),
        (
            {
                "sessions": [
                    {"batches": [{"actions": [{"type": "c", "raw_url": "/", "at": 1e400}]}]}
                ]
            },
            "actions[0].at: expected a finite number, got inf",
        ),
        (
            {
                "sessions": [
                    {"user_id": 5, "batches": [{"actions": [{"type": "c", "raw_url": "/"}]}]}
                ]
            },
            "sessions[0].user_id: expected a string or null, got 5",
        ),
    ],
)
def test_bad_documents_name_the_field(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        built(doc, tmp_path)


def act(at: float, **extra: Any) -> dict[str, Any]:
    return {"type": "click", "raw_url": "/projects/1", "at": at, **extra}


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        (
            [{"actions": [act(10), act(4)]}],
            r"batches\[0\].actions\[1\].at: goes back in time \(4 s < 10 s\)",
        ),
        ([{"actions": [act(0)]}, {"actions": [act(2)]}, {"actions": [act(1)]}], "goes back"),
        (
            [{"actions": [act(0, duration=-1)]}],
            r"actions\[0\].duration: expected a finite number of seconds ≥ 0, got -1",
        ),
        (
            [{"actions": [act(0)], "delay": -2}],
            r"batches\[0\].delay: expected a finite number of seconds ≥ 0, got -2",
        ),
    ],
)
def test_a_session_runs_forward(tmp_path: Path, batches: list[Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        built({"sessions": [{"batches": batches}]}, tmp_path)


def test_batches_are_forwarded_in_order_whatever_their_delays(tmp_path: Path) -> None:
    batches = [{"actions": [act(0)], "delay": 30}, {"actions": [act(1)], "delay": 0}]
    items = built({"sessions": [{"batches": batches}]}, tmp_path)
    assert [i["actions"][0]["index"] for i in items] == [0, 1]
    assert items[0]["forwarded_at"] < items[1]["forwarded_at"]


def test_unreadable_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither a built-in name nor a file"):
        scenario.source(str(tmp_path / "missing.toml"), product_id="a", seed=0, sessions=None)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match=r"bad\.json:1:2: not valid JSON"):
        scenario.source(str(bad), product_id="a", seed=0, sessions=None)


@pytest.mark.parametrize("name", scenario.BUILTIN)
def test_builtin_names(name: str) -> None:
    items = list(scenario.source(name, product_id="acme", seed=1, sessions=4)(T0))
    assert items and all(i["product_id"] == "acme" for i in items)


def test_a_toml_mistake_names_its_line_and_the_keys_allowed(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[[sessions]]\nsession_id = "s1"\n\n[[sessions.batches]]\ndelay = 1\n'
        'actions = [{ type = "click", raw_url = "/" }]\n\n'
        '[[sessions]]\nsesion_id = "s2"\n'
    )
    with pytest.raises(InputError) as info:
        scenario.source(str(path), product_id="a", seed=0, sessions=None)
    assert info.value.message == f"{path}:9: sessions[1].sesion_id: unknown key"
    assert info.value.hint is not None and "session_id" in info.value.hint
