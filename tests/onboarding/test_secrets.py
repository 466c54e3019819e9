"""Generated secrets are strong and distinct; RedactedCause keeps secrets out of tracebacks."""

from __future__ import annotations

import pytest

from autoplay_cli.onboarding._secrets import RedactedCause, generate_secret
from autoplay_cli.onboarding._validate import secret


def test_generated_secrets_are_long_distinct_and_pass_validation() -> None:
    made = {generate_secret() for _ in range(200)}
    assert len(made) == 200
    for value in made:
        assert len(value) >= 43  # 32 bytes, base64url
        assert secret(value, what="webhook secret") == value
        assert value.replace("-", "").replace("_", "").isalnum()


def test_too_little_entropy_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_secret(8)


def test_redacted_cause_names_the_error_but_masks_secrets() -> None:
    the_secret = "uk_live_0123456789abcdef"
    cause = RedactedCause(KeyError(f"bad key {the_secret}"), [the_secret, None])
    assert "KeyError" in str(cause)
    assert the_secret not in str(cause)
    assert "cdef" in str(cause)
