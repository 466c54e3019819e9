"""The chunk-level SSE decoder: WHATWG rules, and equivalence with httpx-sse as an oracle."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import httpx
from httpx_sse import EventSource
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.stream.sse import SSEDecoder, SSEEvent


def decode(*chunks: bytes | str) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        frames = decoder.feed(chunk.encode() if isinstance(chunk, str) else chunk)
        events += (SSEEvent(*f) for f in frames)
    return events, decoder


# -- differential: httpx-sse (over a real httpx.Response) is the oracle ----------------------

VALUE = st.text(
    alphabet=st.sampled_from(list("ab :z0\0\x07é€😀\u2028\x85\t")), max_size=8
)  # \x07 becomes an invalid UTF-8 byte below
FIELD = st.one_of(
    st.tuples(st.sampled_from(["data", "event", "id", "foo", "dat"]), VALUE),
    # int() (httpx-sse) also takes " 5", "+5", "1_0": WHATWG does not, see the targeted test.
    st.tuples(st.just("retry"), st.from_regex(r"[0-9]{1,4}|[a-z]{0,3}", fullmatch=True)),
)


@st.composite
def line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["field", "field", "field", "bare", "comment", "blank"]))
    if kind == "blank":
        return ""
    if kind == "comment":
        return ":" + draw(VALUE)
    name, value = draw(FIELD)
    if kind == "bare":
        return name  # a field without a colon
    spaces = ["", " "] if name == "retry" else ["", " ", "  "]
    return f"{name}:{draw(st.sampled_from(spaces))}{value}"


@st.composite
def usual_frame(draw: st.DrawFn) -> list[str]:
    """A frame as connectors write it (the decoder's fast path), then its blank line."""
    lines = [f"id: {draw(VALUE)}"] if draw(st.booleans()) else []
    if draw(st.booleans()):
        lines.append(f"event: {draw(VALUE)}")
    return [*lines, f"data: {draw(VALUE)}", ""]


@st.composite
def stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    parts = draw(st.lists(st.one_of(line().map(lambda x: [x]), usual_frame()), max_size=30))
    lines = [x for part in parts for x in part]
    text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines)
    body = (text + "\n\n").encode().replace(b"\x07", b"\xff")
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=12)))
    return body, cuts


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *(c for c in cuts if 0 < c < len(body)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges) if b > a]


def oracle(chunks: list[bytes]) -> tuple[list[tuple[str, str, str]], int | None]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def run() -> tuple[list[tuple[str, str, str]], int | None]:
        response = httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body()
        )
        events, retry = [], None
        async for sse in EventSource(response).aiter_sse():
            if sse.retry is not None:
                retry = sse.retry
            # httpx-sse also emits frames without data; WHATWG does not dispatch them.
            if sse.data:
                events.append((sse.event, sse.data, sse.id))
        return events, retry

    return asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(stream())
def test_same_events_as_httpx_sse_whatever_the_line_ends_and_chunk_boundaries(
    case: tuple[bytes, list[int]],
) -> None:
    body, cuts = case
    chunks = split(body, cuts)
    expected_events, expected_retry = oracle(chunks)
    events, decoder = decode(*chunks)
    # httpx-sse spells a frame without `event:` "message"; we keep it raw ("").
    assert [(e.event or "message", e.data, e.id) for e in events if e.data] == expected_events
    assert decoder.retry == expected_retry
    # The chunking never matters: one chunk or one byte at a time gives the same.
    assert decode(body)[0] == events
    assert decode(*(body[i : i + 1] for i in range(len(body))))[0] == events


# -- targeted rules --------------------------------------------------------------------------


def test_one_frame_with_every_field() -> None:
    events, decoder = decode("id: 7\nevent: actions\nretry: 2500\ndata: {}\n\n")
    assert events == [SSEEvent("actions", "{}", "7")]
    assert (decoder.retry, decoder.last_event_id) == (2500, "7")


def test_all_three_line_ends_and_a_crlf_split_across_chunks() -> None:
    events, _ = decode("data: a\r", "\ndata: b\r\r", "data: c\n\n")
    assert events == [SSEEvent("", "a\nb", ""), SSEEvent("", "c", "")]


def test_a_lone_cr_at_a_chunk_end_is_a_line_end_at_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\r") == [SSEEvent("", "x", "")]


def test_a_leading_bom_is_dropped_once_even_split_across_chunks() -> None:
    bom = "\ufeff".encode()
    events, _ = decode(bom[:1], bom[1:] + b"data: a\n\n")
    assert events == [SSEEvent("", "a", "")]
    # Only the stream's first character: a later BOM is part of a field name.
    events, _ = decode(bom + b"data: a\n\n" + bom + b"data: b\n\n")
    assert events == [SSEEvent("", "a", "")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    events, _ = decode(": keep-alive\n:\nfoo: bar\nDATA: no\ndata: yes\n\n")
    assert events == [SSEEvent("", "yes", "")]


def test_a_field_without_colon_has_an_empty_value() -> None:
    events, _ = decode("data\ndata\n\nevent\ndata: x\n\n")
    assert events == [SSEEvent("", "\n", ""), SSEEvent("", "x", "")]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    events, _ = decode("data:  two\ndata:none\n\n")
    assert events == [SSEEvent("", " two\nnone", "")]


def test_id_with_nul_is_ignored_and_the_last_id_persists() -> None:
    events, decoder = decode("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "1"]
    assert decoder.last_event_id == "1"


def test_an_empty_id_resets_the_last_id() -> None:
    events, _ = decode("id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [e.id for e in events] == ["1", ""]


def test_retry_must_be_ascii_digits_only() -> None:
    for bad in ("+5", "-5", " 5", "5 ", "1_0", "\uff15", "5.0", "", "x"):
        assert decode(f"retry: {bad}\n\n")[1].retry is None, bad
    assert decode("retry: 0\n\nretry: 0012\n\n")[1].retry == 12


def test_empty_data_buffer_is_not_dispatched_but_its_id_counts() -> None:
    events, decoder = decode("id: 4\nevent: update\n\n")
    assert events == []
    assert decoder.last_event_id == "4"
    # A `data:` line with no value is data: that frame is dispatched.
    assert decode("data:\n\n")[0] == [SSEEvent("", "", "")]


def test_a_data_less_heartbeat_is_still_surfaced_as_liveness() -> None:
    events, decoder = decode("id: 7\nevent: heartbeat\n\n: keep-alive\n\n")
    assert [(e.event, e.data) for e in events] == [("heartbeat", "")]
    assert decoder.last_event_id == "7"


def test_event_name_is_reset_after_each_frame() -> None:
    events, _ = decode("event: summary\ndata: a\n\ndata: b\n\nevent: x\n\ndata: c\n\n")
    assert [e.event for e in events] == ["summary", "", ""]


def test_an_incomplete_frame_waits_for_more_bytes() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 9\nda") == []
    assert decoder.feed(b'ta: {"a"') == []
    assert decoder.feed(b": 1}\n") == []
    assert decoder.last_event_id == ""  # not dispatched yet
    assert decoder.feed(b"\n") == [SSEEvent("", '{"a": 1}', "9")]


def test_invalid_utf8_is_replaced_and_split_characters_are_joined() -> None:
    euro = "€".encode()
    events, _ = decode(b"data: \xff" + euro[:1], euro[1:] + b"\n\n")
    assert events == [SSEEvent("", "\ufffd€", "")]


def test_a_long_line_in_tiny_chunks() -> None:
    payload = "x" * 50_000
    body = f"data: {payload}\n\n".encode()
    events, _ = decode(*(body[i : i + 7] for i in range(0, len(body), 7)))
    assert events == [SSEEvent("", payload, "")]


def test_the_id_buffer_starts_at_the_given_resume_point() -> None:
    decoder = SSEDecoder("7")
    assert decoder.last_event_id == "7"
    assert decoder.feed(b"data: a\n\nid:\ndata: b\n\n") == [("", "a", "7"), ("", "b", "")]
    assert decoder.last_event_id == ""
