"""The envelope line: the fast ``dumps_envelope`` writes exactly what ``json.dumps`` would."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.errors import InputError
from autoplay_cli.recording import dumps_envelope, envelope, parse_envelope_line
from autoplay_cli.wire import parse_payload

text = st.text(max_size=20)
opt_text = st.none() | text
action = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["click", "PageView", "submit"]),
        "description": text,
        "canonical_url": text,
        "timestamp_start": st.floats(0, 2e9),
        "index": st.integers(0, 99),
    },
    optional={"user_id": opt_text, "custom": st.integers() | text | st.none()},
)
payload = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("actions"),
            "product_id": text,
            "session_id": opt_text,
            "actions": st.lists(action, max_size=3),
            "forwarded_at": st.floats(0, 2e9),
        },
        optional={"email": opt_text, "extra_field": st.dictionaries(text, st.integers())},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("summary"),
            "session_id": opt_text,
            "summary": text,
            "replaces": st.integers(0, 1000),
        }
    ),
)


@given(
    data=payload,
    event_id=opt_text,
    received_at=st.floats(0, 2e9) | st.integers(0, 2**40) | st.floats(1e-300, 1e-5),
)
def test_dumps_envelope_equals_json_dumps_and_round_trips(
    data: dict[str, object], event_id: str | None, received_at: float
) -> None:
    p = parse_payload(data)
    line = dumps_envelope(event_id, p, received_at)
    reference = json.dumps(
        envelope(event_id, p, received_at), ensure_ascii=False, separators=(",", ":")
    )
    assert json.loads(line) == json.loads(reference)
    back = parse_envelope_line(line)
    assert dumps_envelope(back.id, back.payload, back.received_at) == dumps_envelope(
        event_id, p, float(received_at)
    )


@pytest.mark.parametrize("stamp", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_a_received_at_that_is_not_a_finite_time_is_refused(stamp: str) -> None:
    """Else `--replay --speed 1` would wait forever (or never) on that line."""
    line = '{"id":"1","received_at":' + stamp + ',"payload":{"type":"summary","summary":"x"}}'
    with pytest.raises(InputError, match="received_at"):
        parse_envelope_line(line, where="f:1")
