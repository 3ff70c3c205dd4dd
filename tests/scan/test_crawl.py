"""The crawl against a small real site on 127.0.0.1: what it fetches, what it finds."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conformance.errors import PartnerUnreachable, ScanInputError
from conformance.scan import Canary, SecretScanner
from conformance.scan.crawl import CrawlLimits, crawl


@dataclass
class Site:
    """A tiny static site: path -> (content type, body, extra headers); records requests."""

    pages: dict[str, tuple[str, bytes, dict[str, str]]]
    requested: list[str] = field(default_factory=list)
    base: str = ""


def _site(key: str, webhook: str) -> dict[str, tuple[str, bytes, dict[str, str]]]:
    config = base64.b64encode(json.dumps({"pool": "usdt", "apiKey": key}).encode()).decode()
    source = f"export const settings = {{ key: '{key}' }};\n"
    app_map = json.dumps({"version": 3, "sources": ["src/settings.ts"],
                          "sourcesContent": [source], "mappings": "AAAA"})
    return {
        "/": ("text/html; charset=utf-8", (
            b"<!doctype html><html><head>"
            b'<link rel="manifest" href="/manifest.webmanifest">'
            b'<link rel="stylesheet" href="/style.css">'
            b'<script src="/static/app.js" defer></script>'
            b'<script src="https://cdn.example.com/lib.js"></script>'
            b"</head><body><script>\n"
            b"navigator.serviceWorker.register('/sw.js');\n"
            b"fetch('/config/runtime.json').then(r => r.json());\n"
            b"</script></body></html>"), {}),
        "/static/app.js": ("application/javascript", (
            b"import('./chunk.js');\n"
            b"const settings = '/api/settings.json';\n"
            b"console.log('app');\n"), {"SourceMap": "/static/app.js.map"}),
        "/static/app.js.map": ("application/json", app_map.encode(), {}),
        "/static/chunk.js": ("text/javascript",
                             b"export const x = 1;\n//# sourceMappingURL=chunk.js.map\n", {}),
        "/config/runtime.json": ("application/json", json.dumps({"cfg": config}).encode(), {}),
        "/sw.js": ("text/javascript", (
            "importScripts('/sw-helper.js');\n"
            f'self.WH = "{webhook.replace("/", chr(92) + "/")}";\n').encode(), {}),
        "/sw-helper.js": ("text/javascript",
                          f"const k = '{key[:7]}' + '{key[7:]}';\n".encode(), {}),
        "/manifest.webmanifest": ("application/manifest+json",
                                  b'{"name": "Acme", "start_url": "/"}', {}),
        "/style.css": ("text/css", b"body { color: red }", {}),
    }


@pytest.fixture
def site(canaries: tuple[Canary, Canary]) -> Iterator[Site]:
    state = Site(pages=_site(canaries[0].value, canaries[1].value))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requested.append(self.path)
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/")
                self.end_headers()
                return
            found = state.pages.get(self.path)
            if found is None:
                self.send_error(404)
                return
            content_type, body, headers = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_crawl_collects_everything_a_browser_would_download(site: Site) -> None:
    collected = crawl([site.base + "/"])
    assert collected.complete, collected.incomplete
    fetched = {a.location.removeprefix(site.base) for a in collected.artefacts}
    assert fetched == {
        "/", "/static/app.js", "/static/app.js.map", "/static/app.js.map#sourcesContent/0",
        "/static/chunk.js", "/config/runtime.json", "/sw.js", "/sw-helper.js",
        "/manifest.webmanifest",
    }
    # Guessed or referenced but absent: fetched once, answered 404, noted. Stylesheets and
    # other origins are never fetched.
    assert sorted(site.requested) == sorted([
        "/", "/static/app.js", "/static/app.js.map", "/static/chunk.js",
        "/static/chunk.js.map", "/config/runtime.json", "/sw.js", "/sw-helper.js",
        "/manifest.webmanifest", "/api/settings.json",
    ])
    assert any("cdn.example.com" in note and "other origin" in note for note in collected.notes)
    assert any("/static/chunk.js.map: HTTP 404" in note for note in collected.notes)


def test_crawl_finds_each_planted_secret_by_url(site: Site,
                                                 canaries: tuple[Canary, Canary]) -> None:
    findings = SecretScanner(canaries).scan(crawl([site.base + "/"]).artefacts)
    got = sorted((f.location.removeprefix(site.base), f.rule_id, f.canary) for f in findings)
    assert got == sorted([
        ("/static/app.js.map", "canary.raw", "secret_key"),
        ("/static/app.js.map#sourcesContent/0", "canary.raw", "secret_key"),
        ("/config/runtime.json", "canary.base64", "secret_key"),
        ("/sw.js", "canary.json", "webhook_secret"),
        ("/sw-helper.js", "canary.concat", "secret_key"),
    ])
    in_source = next(f for f in findings if f.location.endswith("#sourcesContent/0"))
    assert (in_source.line, in_source.column) == (1, len("export const settings = { key: '") + 1)
    assert "src/settings.ts" in in_source.origin


def test_redirects_are_followed_on_the_same_origin(site: Site) -> None:
    collected = crawl([site.base + "/moved"])
    assert collected.artefacts[0].location == site.base + "/"


def test_limits_make_the_crawl_incomplete(site: Site) -> None:
    collected = crawl([site.base + "/"], limits=CrawlLimits(max_artefacts=2))
    assert not collected.complete
    assert "2 artefacts" in collected.incomplete[0]
    small = crawl([site.base + "/"], limits=CrawlLimits(max_bytes=100))
    assert any("only the first 100 bytes" in n for n in small.incomplete)


def test_a_missing_declared_page_is_bad_input(site: Site) -> None:
    with pytest.raises(ScanInputError, match=r"declared page .*/nope: HTTP 404"):
        crawl([site.base + "/nope"])


def test_an_unreachable_declared_page_is_named() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PartnerUnreachable, match=f"127.0.0.1:{port}/app"):
        crawl([f"http://127.0.0.1:{port}/app"], limits=CrawlLimits(timeout_seconds=2))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///nohost", "127.0.0.1/index"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ScanInputError, match="not an http"):
        crawl([url])
