from __future__ import annotations

from typing import Any


def test_every_response_carries_the_security_headers(client: Any) -> None:
    for path in ("/", "/api/v1/markets", "/static/css/site.css", "/no-such-page"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert headers["Referrer-Policy"] == "same-origin", path
