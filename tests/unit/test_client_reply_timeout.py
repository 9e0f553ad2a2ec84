"""The limit on client replies: 30 s, or what LSPILOT_CLIENT_REPLY_TIMEOUT_MS says (tests)."""

from __future__ import annotations

import pytest

from lspilot.session import CLIENT_REPLY_TIMEOUT_ENV, CLIENT_REPLY_TIMEOUT_S, client_reply_timeout_s


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, CLIENT_REPLY_TIMEOUT_S),
        ("250", 0.25),
        ("0", CLIENT_REPLY_TIMEOUT_S),
        ("-5", CLIENT_REPLY_TIMEOUT_S),
        ("soon", CLIENT_REPLY_TIMEOUT_S),
    ],
)
def test_the_limit_comes_from_the_environment_when_valid(
    value: str | None, expected: float
) -> None:
    environ = {} if value is None else {CLIENT_REPLY_TIMEOUT_ENV: value}
    assert client_reply_timeout_s(environ) == expected
