"""The chunk-level SSE decoder: WHATWG rules, and equivalence with httpx-sse as an oracle."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import httpx
import pytest
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
    """A frame as servers write it: `id:`/`event:` in any order, with or without the
    space, comments around them, one `data:` line, then its blank line."""
    space = draw(st.sampled_from(["", " "]))
    head = [f"id:{space}{draw(VALUE)}"] if draw(st.booleans()) else []
    if draw(st.booleans()):
        head.insert(draw(st.integers(0, len(head))), f"event:{space}{draw(VALUE)}")
    if draw(st.booleans()):
        head.insert(draw(st.integers(0, len(head))), ":" + draw(VALUE))
    return [*head, f"data:{space}{draw(VALUE)}", ""]


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


@settings(max_examples=200, deadline=None)
@given(stream())
def test_feed_text_gives_what_feed_gives(case: tuple[bytes, list[int]]) -> None:
    body, cuts = case
    text = body.decode("utf-8", "replace")
    edges = [0, *(c for c in cuts if 0 < c < len(text)), len(text)]
    decoder = SSEDecoder()
    events = [
        SSEEvent(*f) for a, b in itertools.pairwise(edges) for f in decoder.feed_text(text[a:b])
    ]
    assert events == decode(body)[0]


# -- targeted rules --------------------------------------------------------------------------


def test_one_frame_with_every_field() -> None:
    events, decoder = decode("id: 7\nevent: actions\nretry: 2500\ndata: {}\n\n")
    assert events == [SSEEvent("actions", "{}", "7")]
    assert (decoder.retry, decoder.last_event_id) == (2500, "7")


def test_all_three_line_ends_and_a_crlf_split_across_chunks() -> None:
    events, _ = decode("data: a\r", "\ndata: b\r\r", "data: c\n\n")
    assert events == [SSEEvent("", "a\nb", ""), SSEEvent("", "c", "")]


def test_a_lone_cr_among_crlf_line_ends_still_ends_its_line() -> None:
    # CRLF everywhere but one CR: dropping every CR would join "data: a" and "data: b".
    events, _ = decode("id: 1\r\ndata: a\rdata: b\r\n\r\ndata: c\r\n\r\n")
    assert events == [SSEEvent("", "a\nb", "1"), SSEEvent("", "c", "1")]
    # A CR then CR at a chunk's end: two line ends, the frame is complete at once.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r\nid: 2\r\r") == [("", "x", "2")]
    assert decoder.feed(b"\ndata: y\r\n\r\n") == [("", "y", "2")]


def test_a_crlf_split_by_an_empty_chunk_is_still_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\ndata: y\r\n\r\n") == [("", "x\ny", "")]


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


# -- cost: linear in the chunk, whatever the shape of the lines ------------------------------

PAYLOAD = '{"type":"actions","actions":[' + ",".join(['{"title":"a click"}'] * 50) + "]}"

# Every line shape the WHATWG rules allow, one frame each ({i}: the frame's number).
SHAPES = {
    "id, event, data": "id: {i}\nevent: actions\ndata: {p}\n\n",
    "event before id": "event: actions\nid: {i}\ndata: {p}\n\n",
    "no space after the colons": "id:{i}\nevent:actions\ndata:{p}\n\n",
    "CRLF line ends": "id: {i}\r\nevent: actions\r\ndata: {p}\r\n\r\n",
    "CR line ends": "id: {i}\revent: actions\rdata: {p}\r\r",
    "mixed line ends": "id: {i}\r\nevent: actions\rdata: {p}\n\r\n",
    "comment lines between frames": ": keep-alive\nid: {i}\ndata: {p}\n\n: ping\n\n",
    "retry and unknown fields": "retry: 1000\nfoo: bar\nid: {i}\ndata: {p}\n\n",
    "multi-line data": "id: {i}\ndata: {p}\ndata:{p}\ndata\n\n",
    "two spaces, fields without colon": "id\nevent\ndata:  {p}\n\n",
    "id with NUL": "id: {i}\0\ndata: {p}\n\n",
    "data-less frames": "id: {i}\nevent: heartbeat\n\nevent: x\n\ndata: {p}\n\n",
}


def per_event_seconds(shape: str, frames: int) -> float:
    """Best-of-7 decoding CPU time of *frames* frames fed as ONE chunk, per event.

    CPU time of this thread, not wall time: on a loaded machine a long run is
    preempted more often than a short one, which wall time would count as cost.
    """
    chunk = "".join(shape.format(i=i, p=PAYLOAD) for i in range(frames)).encode()
    best = float("inf")
    for _ in range(7):
        decoder = SSEDecoder()
        start = time.thread_time()
        events = decoder.feed(chunk)
        best = min(best, time.thread_time() - start)
        assert len([e for e in events if e[1]]) == frames
    return best / frames


@pytest.mark.parametrize("shape", SHAPES.values(), ids=list(SHAPES))
def test_decoding_cost_per_event_does_not_grow_with_the_chunk(shape: str) -> None:
    # 20 times the frames in one chunk: a cost that grows with the chunk (a search
    # rescanning the rest of the chunk per frame) makes each event ~20x dearer. A
    # linear decoder stays near 1x; 4x leaves room for a loaded machine's noise.
    small = per_event_seconds(shape, 200)
    large = per_event_seconds(shape, 4000)
    assert large < 4 * small, f"{large / small:.1f}x per event with 20x the chunk"


# -- bounded memory: lines and frames over the cap are skipped and counted ------------------


def test_a_data_line_that_never_ends_does_not_grow_memory_past_the_cap() -> None:
    import tracemalloc

    cap = 1 << 20
    decoder = SSEDecoder(max_size=cap)
    piece = b"x" * 65536
    tracemalloc.start()
    try:
        decoder.feed(b"id: 1\ndata: ")
        for _ in range(256):  # 16 MiB of one line, 16 times the cap
            assert decoder.feed(piece) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * cap
    assert decoder.oversize == 1
    # The rest of the line and its frame are skipped; the next frame comes through.
    assert decoder.feed(b"xx\ndata: more\n\nid: 2\ndata: next\n\n") == [("", "next", "2")]
    assert decoder.oversize == 1


def test_an_oversize_frame_in_one_chunk_is_skipped_and_its_neighbours_kept() -> None:
    decoder = SSEDecoder(max_size=100)
    big = "y" * 101
    body = f"id: 1\ndata: a\n\nid: 2\ndata: {big}\n\nid: 3\nevent: e\ndata: c\n\n"
    assert decoder.feed(body.encode()) == [("", "a", "1"), ("e", "c", "3")]
    assert decoder.oversize == 1
    # The skipped frame's id was passed: a reconnection does not ask for it again.
    decoder = SSEDecoder(max_size=100)
    assert decoder.feed(f"data: a\n\nid: 2\ndata: {big}\n\n".encode()) == [("", "a", "")]
    assert decoder.last_event_id == "2"


def test_data_lines_adding_up_past_the_cap_drop_their_frame_whatever_the_chunks() -> None:
    line = "z" * 40
    body = f"data: {line}\ndata: {line}\ndata: {line}\n\ndata: ok\n\n".encode()
    for size in (1, 7, len(body)):
        decoder = SSEDecoder(max_size=100)
        events = [e for i in range(0, len(body), size) for e in decoder.feed(body[i : i + size])]
        assert events == [("", "ok", "")], size
        assert decoder.oversize == 1
    # At the cap exactly (the joined data: 80 characters and a line break), the frame is whole.
    decoder = SSEDecoder(max_size=81)
    assert decoder.feed(f"data: {line}\ndata: {line}\n\n".encode()) == [("", f"{line}\n{line}", "")]
    assert decoder.oversize == 0
    decoder = SSEDecoder(max_size=80)  # one under: the line break counts too
    assert decoder.feed(f"data: {line}\ndata: {line}\n\n".encode()) == []
    assert decoder.oversize == 1


def test_an_oversize_event_or_unknown_line_drops_its_frame_too() -> None:
    decoder = SSEDecoder(max_size=10)
    body = b"event: " + b"e" * 20 + b"\ndata: a\n\nfoo: " + b"f" * 20 + b"\ndata: b\n\ndata: c\n\n"
    for chunks in ([body], [body[i : i + 3] for i in range(0, len(body), 3)]):
        decoder = SSEDecoder(max_size=10)
        assert [e for c in chunks for e in decoder.feed(c)] == [("", "c", "")]
        assert decoder.oversize == 2


@settings(max_examples=200, deadline=None)
@given(stream(), st.integers(1, 12))
def test_the_cap_gives_the_same_events_whatever_the_chunk_boundaries(
    case: tuple[bytes, list[int]], cap: int
) -> None:
    body, cuts = case
    whole = SSEDecoder(max_size=cap)
    expected = whole.feed(body)
    for chunks in (split(body, cuts), [body[i : i + 1] for i in range(len(body))]):
        decoder = SSEDecoder(max_size=cap)
        assert [e for c in chunks for e in decoder.feed(c)] == expected
        assert (decoder.oversize, decoder.last_event_id, decoder.retry) == (
            whole.oversize,
            whole.last_event_id,
            whole.retry,
        )
    # Nothing over the cap is ever dispatched.
    assert all(len(data) <= cap for _, data, _ in expected)


def test_the_cap_counts_the_line_breaks_of_data_lines_with_other_fields_between() -> None:
    # Found by hypothesis: "00000" and "000000" joined are 12 characters, over a cap of 11,
    # though the two values alone add up to 11.
    body = b"data:00000\r\nid:\ndata:000000\n\ndata:ok\n\n"
    for chunks in ([body], [body[i : i + 1] for i in range(len(body))]):
        decoder = SSEDecoder(max_size=11)
        assert [e for c in chunks for e in decoder.feed(c)] == [("", "ok", "")]
        assert decoder.oversize == 1
