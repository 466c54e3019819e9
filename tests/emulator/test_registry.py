"""POST /products bodies: every problem reported at once, each naming its field."""

from __future__ import annotations

from typing import Any

from autoplay_cli.emulator.registry import validate_registration

GOOD: dict[str, Any] = {
    "product_id": "acme-app",
    "contact_email": "ops@acme.example",
    "webhook_secret": "whsec_" + "k" * 20,
}


def test_a_good_body_has_no_problem() -> None:
    assert validate_registration(GOOD) == []
    extra = {**GOOD, "integration_type": "push", "forward_url": "https://x.example/h"}
    assert validate_registration({**extra, "forward_secret": "s", "note": "kept"}) == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    body = {
        "product_id": "has space",
        "contact_email": "x",
        "webhook_secret": "short-secret-123",  # 16 characters: fine
        "integration_type": "push",
        "forward_url": "ftp://x",
        "integration_config": [1],
        "force_reregister": "yes",
    }
    assert validate_registration(body) == [
        {
            "field": "product_id",
            "message": "expected 1–255 characters of letters, digits, '_', '.', '-', "
            "got 'has space'",
        },
        {"field": "contact_email", "message": "expected an email address, got 'x'"},
        {"field": "forward_url", "message": "expected an http(s) URL, got 'ftp://x'"},
        {"field": "integration_config", "message": "expected a JSON object or null, got a list"},
        {"field": "force_reregister", "message": "expected true or false, got 'yes'"},
        {"field": "forward_secret", "message": "is required for integration_type 'push'"},
    ]


def test_missing_fields_say_what_they_hold_and_a_secret_is_never_shown() -> None:
    assert validate_registration({"webhook_secret": "tiny"}) == [
        {
            "field": "product_id",
            "message": "is required (1–255 characters of letters, digits, '_', '.', '-')",
        },
        {"field": "contact_email", "message": "is required (an email address)"},
        {"field": "webhook_secret", "message": "expected at least 16 characters, got a string"},
    ]
    assert validate_registration([GOOD]) == [
        {"field": "(body)", "message": "must be a JSON object"}
    ]
    assert validate_registration({**GOOD, "integration_type": "pigeon"}) == [
        {"field": "integration_type", "message": "expected one of event_stream, push, got 'pigeon'"}
    ]
