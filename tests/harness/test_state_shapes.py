"""Order-state shapes: a released trade may leave the order failed, refused or open again.

The provider's docs call a release a clean unwind the customer may retry; a partner that
reopens the order (or refuses it) is as correct as one that marks it failed. The reference
partner names the state ``released``; these manifests map that name to each category.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.results import Status
from conformance.runner import run_catalogue

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner"
OPEN = 'open = ["quoted"]'
REFUSED = 'refused = ["expired", "refused", "conflict"]'
FAILED = 'failed = ["failed", "released"]'
JUDGED = ("ledger.no_credit_on_reserved", "recon.daily_close")


def _released_as(tmp_path: Path, category: str) -> Path:
    text = (REFERENCE / "manifest.toml").read_text()
    for line in (OPEN, REFUSED, FAILED):
        assert text.count(line) == 1, line
    text = text.replace(FAILED, 'failed = ["failed"]')
    line = OPEN if category == "open" else REFUSED
    text = text.replace(line, line[:-1] + ', "released"]')
    text = text.replace('cwd = ".."', f'cwd = "{REFERENCE.parent}"')
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("category", ["open", "refused"])
def test_a_released_order_shown_open_or_refused_passes(tmp_path: Path, category: str) -> None:
    run = run_catalogue(manifest=_released_as(tmp_path, category), only=JUDGED)
    results = {r.scenario_id: (r.status, r.reason) for r in run.scenarios
               if r.scenario_id in JUDGED}
    assert set(results) == set(JUDGED), results
    assert all(status is Status.PASS for status, _ in results.values()), results
