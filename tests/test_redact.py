"""Redaction: a secret is masked in every encoding a peer may echo it in; words stay words."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import mask_url, redact

ENCODINGS: dict[str, Callable[[str], str]] = {
    "verbatim": lambda s: s,
    "url": lambda s: quote(s, safe=""),
    "url-plus": quote_plus,
    "url-lower-hex": lambda s: _lower_hex(quote(s, safe="")),
    "json": lambda s: json.dumps(s)[1:-1],
    "json-unicode": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "url-of-url": lambda s: quote(quote(s, safe=""), safe=""),
    "json-of-json": lambda s: json.dumps(json.dumps(s))[1:-1],
    "url-of-json": lambda s: quote(json.dumps(s)[1:-1], safe=""),
    "json-of-url": lambda s: json.dumps(quote(s, safe=""))[1:-1],
}


def _lower_hex(text: str) -> str:
    import re

    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


secrets_ = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_categories=["Cs"]),
    min_size=12,
    max_size=40,
)
context = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=150, deadline=None)
@given(secret=secrets_, before=context, after=context)
def test_a_secret_is_removed_in_every_encoding_tried(secret: str, before: str, after: str) -> None:
    for name, encode in ENCODINGS.items():
        shown = encode(secret)
        text = f"{before} the peer said: {shown} {after}"
        assert shown not in redact(text, [secret]), name


@settings(max_examples=100, deadline=None)
@given(secret=st.from_regex(r"[A-Za-z0-9_\-]{4,11}", fullmatch=True), before=context)
def test_a_short_secret_is_removed_as_a_whole_token_in_every_encoding(
    secret: str, before: str
) -> None:
    if secret.isalpha() and len(secret) < 8:
        return  # reads as a word: see the test below
    for name, encode in ENCODINGS.items():
        shown = encode(secret)
        text = f'{before} key={shown}; again "{shown}"'
        result = redact(text, [secret])
        assert f"={shown};" not in result and f'"{shown}"' not in result, name


def test_echoed_admin_key_and_webhook_secret_do_not_leak() -> None:
    admin = 'adm/in+key=with&odd"chars\\x'
    webhook = "wh_9f8e7d6c5b4a39281706"
    body = json.dumps({"error": f"bad key {quote(admin, safe='')}", "echo": {"s": webhook}})
    masked = redact(json.dumps({"detail": body}), [admin, webhook])
    for form in (admin, quote(admin, safe=""), json.dumps(admin)[1:-1], webhook):
        assert form not in masked


def test_ordinary_words_are_not_mangled() -> None:
    # The wrong key typed was the word "wrong": the connector's message stays readable.
    assert redact("missing or wrong X-Admin-Key", ["wrong"]) == "missing or wrong X-Admin-Key"
    # A short key inside a longer word is not a whole token.
    assert redact("key a1b2 but not xa1b2y", ["a1b2"]) == "key **** but not xa1b2y"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:PW@host:6379/0", "redis://u:****@host:6379/0"),
        ("redis://:PW@host/1", "redis://:****@host/1"),
        ("redis://host/0?password=PW&db=2", "redis://host/0?password=****&db=2"),
        ("http://user:pw@example.com/x", "http://user:****@example.com/x"),
        ("https://TOKEN@example.com/x", "https://****@example.com/x"),
        ("https://example.com/a?token=T&x=1", "https://example.com/a?token=****&x=1"),
        ("https://example.com/plain", "https://example.com/plain"),
        ("not a url", "not a url"),
    ],
)
def test_credentials_in_urls_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert redact(f"cannot reach {url}: refused", []) == f"cannot reach {shown}: refused"
