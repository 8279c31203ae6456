"""The dashboard page at ``/`` and its assets: local only, typed, cacheable."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadence.service.api import create_app
from cadence.service.api.routes_dashboard import MEDIA_TYPES
from cadence.service.settings import Settings

STATIC = Path(__file__).parents[2] / "src" / "cadence" / "service" / "api" / "static"


class _Refs(HTMLParser):
    """Every URL the page loads or links to (src and href attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v is not None]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("dashboard")
    with TestClient(create_app(Settings(home=home))) as c:
        yield c


def _refs(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return parser.refs


def test_page_is_html_referencing_only_local_assets(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "script-src 'self'" in csp and "http" not in csp
    refs = _refs(r.text)
    assets = [u for u in refs if u.startswith("/assets/")]
    assert {u.split("?")[0].removeprefix("/assets/") for u in assets} == set(MEDIA_TYPES)
    for url in refs:
        # same-origin paths or in-page anchors; never another host, never a scheme
        assert url.startswith(("/", "#")) and not url.startswith("//"), url
    assert "{{" not in r.text


def test_assets_have_their_types_and_are_immutable_when_versioned(client: TestClient) -> None:
    for url in (u for u in _refs(client.get("/").text) if u.startswith("/assets/")):
        name = url.split("?")[0].removeprefix("/assets/")
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"] == MEDIA_TYPES[name]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
        body = (STATIC / name).read_bytes()
        assert r.content == body
        # the version in the page is the content's digest: a changed file gets a new URL
        assert url.endswith("?v=" + hashlib.sha256(body).hexdigest()[:12])
        unversioned = client.get(f"/assets/{name}")
        assert unversioned.headers["cache-control"] == "no-cache"
        assert client.get(f"/assets/{name}?v=stale").headers["cache-control"] == "no-cache"


def test_etags_answer_304(client: TestClient) -> None:
    for url in ("/", "/assets/dashboard.js"):
        first = client.get(url)
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content


def test_only_listed_assets_are_served(client: TestClient) -> None:
    for name in ("index.html", "..%2Fapp.py", "nope.js", "dashboard.JS"):
        r = client.get(f"/assets/{name}")
        assert r.status_code == 404, name
        assert r.json()["error"]["code"] == "not_found"
    assert client.get("/assets/../routes_dashboard.py").status_code == 404


def test_scripts_fetch_only_the_api(client: TestClient) -> None:
    js = "\n".join(client.get(f"/assets/{n}").text for n in MEDIA_TYPES if n.endswith(".js"))
    css = client.get("/assets/dashboard.css").text
    # the only absolute URL is the SVG namespace name (an identifier, never fetched)
    assert set(re.findall(r"https?://[^\s\"'`)]+", js)) == {"http://www.w3.org/2000/svg"}
    assert re.findall(r"https?://", css) == [] and "@import" not in css
    api_paths = set(re.findall(r"`(/v1/[^`?]*)", js))
    assert api_paths, "the script reads the API"
    assert all(p.startswith("/v1/series") for p in api_paths), api_paths


def test_dashboard_is_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/assets") for p in paths)
    assert "/v1/series/{name}/events" in paths
