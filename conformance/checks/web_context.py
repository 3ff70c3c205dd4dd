"""What a browser scenario works with: the page spec, the partner, the provider, where to write.

The plugin's ``web`` and ``client_side`` fixtures build it from the session's fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conformance.checks.page_requests import BrowserLog
from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.driver.actions import HttpActions
from conformance.driver.manifest import Manifest, WebSpec
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True, slots=True, kw_only=True)
class WebContext:
    """What a browser scenario needs: the page spec, the partner, the provider, where to write."""

    manifest: Manifest
    base_url: str
    provider_url: str
    provider: Provider
    evidence: ScenarioRecorder
    log: BrowserLog
    screenshot_dir: Path
    # True when screenshots are written inside the report directory (paths stay relative).
    in_report_dir: bool
    report_dir: Path | None
    # The run's server secrets by label; never printed, only searched for.
    secrets: Mapping[str, str]
    # The partner's HTTP actions: its [actions.login] signs a page's account in through the API.
    http: HttpActions | None = None

    @property
    def web(self) -> WebSpec:
        if self.manifest.web is None:
            raise CannotArrange("the manifest declares no [web] section")
        return self.manifest.web

    @property
    def timings(self) -> Timings:
        return Timings.of(self.manifest)

    def touches_provider(self, url: str) -> bool:
        """A URL on the simulated provider's host and port."""
        target, provider = urlsplit(url), urlsplit(self.provider_url)
        if target.netloc == provider.netloc:
            return True
        return (
            target.port == provider.port
            and (target.hostname or "") in LOOPBACK
            and (provider.hostname or "") in LOOPBACK
        )
