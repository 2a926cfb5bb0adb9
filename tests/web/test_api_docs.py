"""/docs is served from this site alone: no inline script, no CDN, every file it loads
answered from node_modules or our static files (tests/e2e/test_api_docs.py renders it)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def test_the_api_docs_page_loads_only_our_own_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="/' in attributes and not body.strip()
                           for attributes, body in scripts), scripts
    loaded = re.findall(r'(?:src|href)="(/[^"]*)"', page.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in loaded
    for path in loaded:
        assert client.get(path).status_code == 200, path
    assert 'data-openapi-url="/openapi.json"' in page.text


def test_only_one_api_docs_page(client: Any) -> None:
    assert client.get("/redoc", headers={"Accept": "application/json"}).status_code == 404
