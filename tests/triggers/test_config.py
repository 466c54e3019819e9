"""Trigger configuration: loading TOML/JSON, criteria trees, offers, overrides, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import InputError, UsageError
from autoplay_cli.triggers import (
    DEFAULT_OFFER_BODY,
    DEFAULT_TOUR_OFFER_BODY,
    TriggerConfig,
    config_from_dict,
    load_trigger_config,
    parse_set,
    parse_toggle,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "simulate"


@dataclass(frozen=True)
class A:
    canonical_url: str
    timestamp_start: float = 0.0
    timestamp_end: float = 0.0


PING_PONG = [A("/a"), A("/b"), A("/a")]
T0 = 1_767_225_600.0  # epoch seconds (a timestamp of 0 means "unknown")
DWELL = [A("/form", T0), A("/form", T0 + 100.0)]


def test_defaults_enable_both_builtins_with_the_default_body() -> None:
    config = TriggerConfig()
    active = config.active()
    assert [t.id for t in active] == ["canonical_url_ping_pong", "user_page_dwell"]
    assert {t.body for t in active} == {DEFAULT_OFFER_BODY}
    assert (active[0].interaction_timeout_s, active[0].cooldown_period_s) == (20.0, 60.0)
    offer = active[0].evaluate(PING_PONG, 0.0)
    assert offer is not None and offer.trigger_id == "canonical_url_ping_pong"


def test_example_toml_loads_with_tours_and_chips() -> None:
    config = load_trigger_config(EXAMPLES / "triggers.toml")
    assert [t.id for t in config.tours] == ["upgrade", "integration_setup"]
    ping, dwell = config.active()
    assert ping.chips[1].user_tour_exists and ping.chips[1].user_tour_id == "upgrade"
    assert dwell.interaction_timeout_s == 30.0 and dwell.cooldown_period_s == 60.0
    assert dwell.evaluate(DWELL, 0.0) is not None


def test_a_tour_chip_without_a_body_gets_the_tour_offer_body() -> None:
    config = config_from_dict(
        {
            "tours": [{"id": "t1", "provider_flow_id": "flow_1"}],
            "triggers": {
                "user_page_dwell": {
                    "chips": [{"id": "go", "label": "Show me", "user_tour_id": "t1"}]
                }
            },
        }
    )
    dwell = next(t for t in config.active() if t.id == "user_page_dwell")
    assert dwell.body == DEFAULT_TOUR_OFFER_BODY


def test_criteria_tree_and_or() -> None:
    config = load_trigger_config(EXAMPLES / "criteria.json")
    (lost,) = config.active()  # both built-ins are switched off in that file
    assert lost.id == "lost_user"
    ping_offer = lost.evaluate([A("/a"), A("/b"), A("/a"), A("/b")], 0.0)  # min_cycles 2
    assert ping_offer is not None and ping_offer.detail.startswith("bouncing: 2 ping-pong")
    assert lost.evaluate(PING_PONG, 0.0) is None  # one cycle is below the file's min_cycles
    long_dwell = [A("/form", T0), A("/form", T0 + 50.0), A("/form", T0 + 95.0)]
    offer = lost.evaluate(long_dwell, 0.0)
    assert offer is not None and "dwelling:" in offer.detail and "few actions:" in offer.detail
    # the AND fails when the leaf with the tighter action cap does not hold
    busy = [A("/form", T0 + t) for t in (0, 30, 60, 95)]
    assert lost.evaluate(busy, 0.0) is None


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", "cooldown_period_s = 10\n[triggers\n", r"c\.toml:2:\d+: "),
        ("c.json", '{"triggers": {\n  "x": 1,\n}', r"c\.json:[23]:\d+: not valid JSON"),
        ("c.toml", "colldown = 3\n", r"c\.toml:1: colldown: unknown key"),
        (
            "c.toml",
            "[triggers.user_page_dwell]\ndwell_threshold_seconds = -1\n",
            r"c\.toml:2: triggers\.user_page_dwell\.dwell_threshold_seconds: must be ≥ 0",
        ),
        (
            "c.toml",
            "[triggers.user_page_dwell]\nmin_cycles = 2\n",
            r"c\.toml:2: triggers\.user_page_dwell\.min_cycles: unknown key",
        ),
        (
            "c.toml",
            "[triggers.mystery]\nbody = 'hi'\n",
            r"c\.toml:1: triggers\.mystery: 'mystery' is not a built-in trigger and has no "
            r"'criteria'",
        ),
        (
            "c.toml",
            "[triggers.user_page_dwell]\nchips = [{id='a', label='b', user_tour_id='nope'}]\n",
            r"c\.toml:2: triggers\.user_page_dwell\.chips\[0\]\.user_tour_id: unknown tour 'nope'",
        ),
        (
            "c.toml",
            "[triggers.t]\ncriteria = {id='r', operator='XOR', conditions=[]}\n",
            r"c\.toml:2: triggers\.t\.criteria\.operator: expected AND or OR",
        ),
        (
            "c.toml",
            "[triggers.t]\ncriteria = {id='r', operator='AND', conditions=[]}\n",
            r"criteria\.conditions: a group needs at least one condition",
        ),
        (
            "c.toml",
            "[triggers.t]\ncriteria = {id='r', operator='OR', conditions=["
            "{id='a', type='user_page_dwel'}]}\n",
            r"criteria\.conditions\[0\]\.type: unknown trigger type 'user_page_dwel'",
        ),
        (
            "c.toml",
            "[triggers.t]\ncriteria = {id='r', operator='OR', conditions=["
            "{id='a', type='user_page_dwell'}, {id='a', type='user_page_dwell'}]}\n",
            r"conditions\[1\]\.id: duplicate criteria id 'a'",
        ),
        (
            "c.toml",
            "interaction_timeout_s = 'soon'\n",
            r"c\.toml:1: interaction_timeout_s: expected a finite number of seconds > 0",
        ),
        ("c.toml", "[[tours]]\nprovider_flow_id = 'f'\n", r"c\.toml:1: tours\[0\]: missing 'id'"),
        (
            "c.toml",
            "[triggers.user_page_dwell]\ninteraction_timeout_s = 0\n",
            r"c\.toml:2: triggers\.user_page_dwell\.interaction_timeout_s: "
            r"expected a finite number of seconds > 0, got 0",
        ),
        (
            "c.json",
            '{"cooldown_period_s": 1e999}',
            r"c\.json:1: cooldown_period_s: expected a finite number of seconds ≥ 0, got inf",
        ),
        (
            "c.toml",
            "[[tours]]\nid = 'a'\n[[tours]]\nid = 'b'\n[[tours]]\nname = 'x'\n",
            r"c\.toml:5: tours\[2\]: missing 'id'",
        ),
        (
            "c.json",
            '{\n  "triggers": {\n    "user_page_dwell": {\n      "enabled": "yes"\n    }\n  }\n}',
            r"c\.json:4: triggers\.user_page_dwell\.enabled: expected true or false, got 'yes'",
        ),
        ("c.json", "[1, 2]", r"c\.json: expected a table/object, got a list"),
        (
            "c.toml",
            "[triggers.user_page_dwell]\nchips = [{id='a', label='b'}, {id='c', lable='d'}]\n",
            r"c\.toml:2: triggers\.user_page_dwell\.chips\[1\]\.lable: unknown key",
        ),
    ],
)
def test_bad_config_names_the_file_and_the_place(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_trigger_config(write(tmp_path, name, text))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_trigger_config(tmp_path / "none.toml")


def test_overrides_toggle_set_and_timings() -> None:
    config = load_trigger_config(EXAMPLES / "triggers.toml").with_overrides(
        interaction_timeout_s=5,
        cooldown_period_s=0,
        toggles={"canonical_url_ping_pong": False},
        sets=[
            ("user_page_dwell", "dwell_threshold_seconds", "200"),
            ("user_page_dwell", "cooldown_period_s", "7"),
        ],
    )
    (dwell,) = config.active()
    assert dwell.id == "user_page_dwell"
    # the flag replaced the file's per-trigger timeout; --set beats the flag
    assert (dwell.interaction_timeout_s, dwell.cooldown_period_s) == (5.0, 7.0)
    assert dwell.evaluate(DWELL, 0.0) is None  # 100 s < 200 s now
    assert config.cooldown_period_s == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"toggles": {"nope": True}}, "unknown trigger 'nope'"),
        ({"sets": [("user_page_dwell", "min_cycles", "2")]}, "has no parameter 'min_cycles'"),
        ({"sets": [("user_page_dwell", "dwell_threshold_seconds", "soon")]}, "not a valid"),
        (
            {"sets": [("user_page_dwell", "cooldown_period_s", "-1")]},
            "expected a finite number of seconds ≥ 0, got -1",
        ),
        (
            {"sets": [("user_page_dwell", "interaction_timeout_s", "0")]},
            "expected a finite number of seconds > 0, got 0",
        ),
        ({"sets": [("user_page_dwell", "cooldown_period_s", "inf")]}, "finite number"),
    ],
)
def test_bad_overrides_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        TriggerConfig().with_overrides(**kwargs)  # type: ignore[arg-type]


def test_set_on_a_criteria_trigger_allows_only_timings() -> None:
    config = load_trigger_config(EXAMPLES / "criteria.json")
    changed = config.with_overrides(sets=[("lost_user", "interaction_timeout_s", "9")])
    assert changed.active()[0].interaction_timeout_s == 9.0
    with pytest.raises(UsageError, match="criteria trigger"):
        config.with_overrides(sets=[("lost_user", "min_cycles", "3")])


def test_parse_toggle_and_set() -> None:
    assert parse_toggle("user_page_dwell=OFF") == ("user_page_dwell", False)
    assert parse_set("user_page_dwell.dwell_threshold_seconds=30") == (
        "user_page_dwell",
        "dwell_threshold_seconds",
        "30",
    )
    for bad in ("user_page_dwell", "=on", "x=maybe"):
        with pytest.raises(UsageError, match="ID=on or ID=off"):
            parse_toggle(bad)
    for bad in ("x=1", "x.y=", ".y=1"):
        with pytest.raises(UsageError, match=r"TRIGGER\.PARAM=VALUE"):
            parse_set(bad)


def test_describe_is_json_ready() -> None:
    described = load_trigger_config(EXAMPLES / "triggers.toml").describe()
    assert json.loads(json.dumps(described)) == described
    assert [t["id"] for t in described["triggers"]] == [
        "canonical_url_ping_pong",
        "user_page_dwell",
    ]


_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", "x", "AND", "or", "user_page_dwell", "canonical_url_ping_pong", "t1"])
)
_value = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "name",
                    "type",
                    "operator",
                    "conditions",
                    "params",
                    "label",
                    "chips",
                    "user_tour_id",
                    "user_tour_exists",
                    "enabled",
                    "min_cycles",
                    "dwell_threshold_seconds",
                    "body",
                    "criteria",
                    "provider_flow_id",
                    "interaction_timeout_s",
                    "cooldown_period_s",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["triggers", "tours", "window_actions", "body", "cooldown_period_s"]),
        st.dictionaries(
            st.sampled_from(["user_page_dwell", "canonical_url_ping_pong", "custom"]),
            _value,
            max_size=3,
        )
        | _value,
        max_size=4,
    )
)
def test_any_document_either_loads_or_is_an_input_error(doc: dict[str, object]) -> None:
    try:
        config = config_from_dict(doc, source="fuzz.toml")
    except InputError as exc:
        assert exc.message.startswith("fuzz.toml: ")
        return
    config.active()  # a config that loads can be built
