"""`/api/docs`: Swagger UI served by the app itself, under the strict CSP."""

import re
import subprocess

import pytest

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_docs_page_loads_only_local_assets_and_no_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    scripts = SCRIPT_TAG.findall(html)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    assert "style=" not in html and "<style" not in html
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        asset_response.close()


@pytest.mark.sqlite_only
def test_docs_render_the_operations_in_chromium(live_server):
    """A real browser applies the CSP: any blocked script would leave the page empty."""
    result = subprocess.run(
        ["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=10000",
         "--dump-dom", f"{live_server}/api/docs"],
        capture_output=True, text=True, timeout=120,
    )
    dom = result.stdout
    assert "swagger-ui" in dom and "opblock" in dom, result.stderr[-3000:]
    for path in ("/api/v1/auth/token", "/api/v1/me/tokens", "/api/v1/me/relatives"):
        assert path in dom
