"""The built web app is served at ``/``: files as they are, client routes get ``index.html``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from sluice.api.web import SinglePageApp


def _client(tmp_path: Path) -> TestClient:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<div id=root>app</div>")
    (dist / "assets" / "main.js").write_text("console.log(1)")
    app = FastAPI()

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/", SinglePageApp(dist), name="web")
    return TestClient(app)


def test_web_app_client_routes_get_index_html(tmp_path: Path) -> None:
    client = _client(tmp_path)
    for path in ("/", "/sources", "/sources/01HXYZ", "/settings/audit-log"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "app" in response.text


def test_web_app_serves_files_and_404s_missing_files_and_api_paths(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.get("/assets/main.js").text == "console.log(1)"
    assert client.get("/assets/missing.js").status_code == 404
    assert client.get("/api/v1/nothing-here").status_code == 404
    assert client.get("/api/v1/health").json() == {"status": "ok"}
