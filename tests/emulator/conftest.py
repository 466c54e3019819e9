"""A raw SSE reader for the emulator's tests: every field, comment and retry, as sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    retry: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.data)


@dataclass
class Read:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    closed: bool = False  # the server ended the response
    timed_out: bool = False  # no byte within the read timeout

    def data_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.id is not None]


def read_sse(
    url: str,
    token: str | None,
    *,
    stop_after: int | None = None,
    stop_on: str | None = None,
    last_event_id: str | None = None,
    read_timeout: float = 5.0,
    deadline: float = 30.0,
) -> Read:
    """Read SSE frames until *stop_after* frames with an id, an *stop_on* event, a close,
    or *read_timeout* seconds without a byte; never longer than *deadline* seconds, so a
    heartbeat-only stream fails a test instead of hanging it."""
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        result = Read(response.status_code, dict(response.headers))
        if response.status_code != 200:
            response.read()
            return result
        current = Frame()
        give_up = time.monotonic() + deadline
        try:
            for line in response.iter_lines():
                if time.monotonic() > give_up:
                    result.timed_out = True
                    return result
                if line == "":
                    if current.data or current.event or current.id or current.retry:
                        result.frames.append(current)
                        if stop_on is not None and current.event == stop_on:
                            return result
                        if stop_after is not None and len(result.data_frames()) >= stop_after:
                            return result
                    current = Frame()
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "":
                    result.comments.append(value)
                elif name == "data":
                    current.data.append(value)
                elif name in ("id", "event", "retry"):
                    setattr(current, name, value)
        except httpx.ReadTimeout:
            result.timed_out = True
            return result
        result.closed = True
        return result


@pytest.fixture
def sse() -> Callable[..., Read]:
    """The :func:`read_sse` helper (a fixture, so test modules need no import path)."""
    return read_sse
