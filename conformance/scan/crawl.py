"""A bounded, same-origin crawl of declared pages for everything a browser would download."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from conformance.errors import PartnerTimeout, PartnerUnreachable, ScanInputError
from conformance.scan.archives import SEPARATOR, ArchiveLimits, Unpacker
from conformance.scan.artefacts import Artefact, Collected, Kind

_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlLimits:
    """Bounds on one crawl; hitting one makes the result incomplete (fail closed)."""

    max_artefacts: int = 500
    max_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    # URLs guessed from string literals, per artefact (referenced URLs are not capped here).
    max_guesses: int = 25
    timeout_seconds: float = 10.0
    deadline_seconds: float = 120.0
    # A URL that answers an archive (an APK download) is opened within these bounds.
    archives: ArchiveLimits = ArchiveLimits()


@dataclass(frozen=True, slots=True)
class _Request:
    url: str
    why: str
    page: str
    # Guessed from a string literal: a 404 is expected and only noted.
    guessed: bool = False


_SOURCE_MAP_COMMENT = re.compile(rb"[#@]\s*sourceMappingURL\s*=\s*([^\s'\"*]+)")
_SERVICE_WORKER = re.compile(rb"""serviceWorker\s*\.\s*register\(\s*(["'`])([^"'`\s]{1,512})\1""")
_IMPORT_SCRIPTS = re.compile(rb"""importScripts\(\s*(["'`])([^"'`\s]{1,512})\1""")
_FETCH = re.compile(rb"""\bfetch\(\s*(["'`])([^"'`\s$]{1,512})\1""")
_IMPORT = re.compile(rb"""\b(?:import|from)\s*\(?\s*(["'`])(\.{0,2}/[^"'`\s]{1,512})\1""")
_URL_LITERAL = re.compile(
    rb"""(["'`])((?:https?://[^"'`\s/]+)?\.{0,2}/[^"'`\s<>()]{0,512}?"""
    rb"""\.(?:json|js|mjs|webmanifest|map))(?:\?[^"'`\s]{0,256})?\1"""
)
_LINK_RELS = frozenset({"manifest", "preload", "modulepreload", "prefetch"})


class _PageLinks(HTMLParser):
    """Collects script sources and the links a page preloads or declares as its manifest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.links.append((values["src"], "script src"))
        elif tag == "link" and values.get("href"):
            rels = set(values.get("rel", "").lower().split())
            if rels & _LINK_RELS:
                self.links.append((values["href"], f"link rel={' '.join(sorted(rels))}"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _text(match: re.Match[bytes], group: int) -> str:
    return match.group(group).decode("utf-8", "replace")


def discover(artefact: Artefact, page: str, headers: httpx.Headers | None = None,
             max_guesses: int = 25) -> Iterator[_Request]:
    """The URLs an artefact references: scripts, maps, manifests, workers, fetched JSON."""
    base, body, kind = artefact.location, artefact.body, artefact.kind
    for name in ("SourceMap", "X-SourceMap"):
        if headers is not None and headers.get(name):
            yield _Request(urljoin(base, headers[name]), f"{name} header of {base}", page)
    if kind is Kind.HTML:
        parser = _PageLinks()
        try:
            parser.feed(body.decode("utf-8", "replace"))
            parser.close()
        except (AssertionError, ValueError):  # malformed markup: take what was parsed
            pass
        for href, why in parser.links:
            yield _Request(urljoin(base, href), f"{why} in {base}", page)
    if kind not in (Kind.HTML, Kind.SCRIPT, Kind.JSON):
        return
    for match in _SOURCE_MAP_COMMENT.finditer(body):
        if not match.group(1).startswith(b"data:"):
            yield _Request(urljoin(base, _text(match, 1)), f"sourceMappingURL in {base}", page)
    for match in _SERVICE_WORKER.finditer(body):
        yield _Request(urljoin(page, _text(match, 2)), f"service worker registered in {base}",
                       page)
    for match in _IMPORT_SCRIPTS.finditer(body):
        yield _Request(urljoin(base, _text(match, 2)), f"importScripts in {base}", page)
    for match in _IMPORT.finditer(body):
        yield _Request(urljoin(base, _text(match, 2)), f"import in {base}", page)
    # fetch() resolves against the page; other literals are module paths, relative to the file.
    guesses = 0
    for pattern, against in ((_FETCH, page), (_URL_LITERAL, base)):
        for match in pattern.finditer(body):
            if guesses >= max_guesses:
                return
            guesses += 1
            yield _Request(urljoin(against, _text(match, 2)), f"string literal in {base}",
                           page, guessed=True)


class _Crawl:
    """One crawl's state: the queue, what was seen, the byte and time budgets."""

    def __init__(self, client: httpx.Client, pages: Sequence[str], limits: CrawlLimits) -> None:
        self.client = client
        self.limits = limits
        self.origins = {_origin(p) for p in pages}
        self.queue: deque[_Request] = deque(_Request(p, "declared page", p) for p in pages)
        self.declared = set(pages)
        self.seen: set[str] = set(pages)
        self.artefacts: list[Artefact] = []
        # Fetched artefacts and what they carry, not an archive's entries (bounded apart).
        self.counted = 0
        self.unpacker = Unpacker(limits.archives)
        self.notes: list[str] = []
        self.incomplete: list[str] = []
        self.total = 0
        self.deadline = time.monotonic() + limits.deadline_seconds

    def run(self) -> Collected:
        while self.queue:
            request = self.queue.popleft()
            if time.monotonic() > self.deadline:
                self.incomplete.append(
                    f"crawl stopped at its {self.limits.deadline_seconds:g} s deadline; "
                    f"{len(self.queue) + 1} URLs not fetched"
                )
                break
            if self.counted >= self.limits.max_artefacts:
                self.incomplete.append(f"crawl stopped at {self.limits.max_artefacts} artefacts; "
                                       f"{len(self.queue) + 1} URLs not fetched")
                break
            self._fetch(request)
        return Collected(artefacts=tuple(self.artefacts), notes=tuple(self.notes),
                         incomplete=(*self.incomplete, *self.unpacker.incomplete))

    def _enqueue(self, request: _Request) -> None:
        url = urldefrag(request.url)[0]
        if url in self.seen or urlsplit(url).scheme not in ("http", "https"):
            return
        if _origin(url) not in self.origins:
            self.notes.append(f"not fetched (other origin): {url} ({request.why})")
            return
        self.seen.add(url)
        self.queue.append(_Request(url, request.why, request.page, request.guessed))

    def _fetch(self, request: _Request) -> None:
        declared = request.url in self.declared
        url = request.url
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                response = self._get(url)
                if response is None:
                    return
                status, headers, body = response
                if status not in _REDIRECTS or "location" not in headers:
                    break
                url = urljoin(url, headers["location"])
                if _origin(url) not in self.origins:
                    self.notes.append(f"not followed (redirect to other origin): {request.url}")
                    return
            else:
                self._problem(request, declared, f"{request.url}: too many redirects")
                return
        except httpx.TimeoutException as exc:
            if declared:
                raise PartnerTimeout(f"declared page {request.url} did not answer within "
                                     f"{self.limits.timeout_seconds:g} s") from exc
            self.incomplete.append(f"{request.url}: timed out ({request.why})")
            return
        except httpx.HTTPError as exc:
            if declared:
                raise PartnerUnreachable(f"cannot fetch declared page {request.url}: "
                                         f"{type(exc).__name__}") from exc
            self.incomplete.append(f"{request.url}: {type(exc).__name__} ({request.why})")
            return
        if not 200 <= status < 300:
            self._problem(request, declared, f"{request.url}: HTTP {status} ({request.why})")
            return
        artefact = Artefact(location=url, body=body, content_type=headers.get("content-type", ""),
                            origin=request.why)
        expanded = self.unpacker.expand(artefact)
        self.artefacts.extend(expanded)
        inside = artefact.location + SEPARATOR
        self.counted += sum(1 for a in expanded if not a.location.startswith(inside))
        for found in discover(artefact, request.page, headers, self.limits.max_guesses):
            self._enqueue(found)

    def _problem(self, request: _Request, declared: bool, message: str) -> None:
        if declared:
            raise ScanInputError(f"declared page {message}")
        self.notes.append(message)

    def _get(self, url: str) -> tuple[int, httpx.Headers, bytes] | None:
        limit = self.limits.max_bytes
        with self.client.stream("GET", url, timeout=self.limits.timeout_seconds) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    self.incomplete.append(f"{url}: only the first {limit} bytes were scanned")
                    break
                if time.monotonic() > self.deadline:
                    self.incomplete.append(f"{url}: cut off at the crawl deadline")
                    break
            body = b"".join(chunks)[:limit]
        self.total += len(body)
        if self.total > self.limits.max_total_bytes:
            self.incomplete.append(f"crawl stopped at {self.limits.max_total_bytes} bytes "
                                   f"before {url}")
            self.queue.clear()
            return None
        return response.status_code, response.headers, body


def crawl(
    pages: Sequence[str],
    *,
    limits: CrawlLimits | None = None,
    client: httpx.Client | None = None,
) -> Collected:
    """Fetch the declared pages and, on their origins only, what they reference or fetch."""
    for page in pages:
        parts = urlsplit(page)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ScanInputError(f"not an http(s) URL: {page!r}")
    limits = limits or CrawlLimits()
    declared = list(dict.fromkeys(urldefrag(p)[0] for p in pages))
    if client is not None:
        return _Crawl(client, declared, limits).run()
    with httpx.Client(trust_env=False, follow_redirects=False,
                      headers={"user-agent": "zeropools-conformance-scan"}) as own:
        return _Crawl(own, declared, limits).run()
