"""Fixtures for the onboarding tests."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def closed_url() -> str:
    """An http URL on a loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
