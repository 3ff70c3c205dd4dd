"""docs/ONBOARDING.md, followed on the bundled second partner: init → edit → doctor → certify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "ONBOARDING.md"
KESTREL = ROOT / "fixtures" / "second_partner"


def guide_edits() -> list[tuple[str, str]]:
    """The guide's table of edits (skeleton text → Kestrel Pay's), in order."""
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("<!-- edits:start -->", 1)[1].split("<!-- edits:end -->", 1)[0]
    edits = []
    for line in table.splitlines():
        cells = re.findall(r"`([^`]*)`", line)
        if len(cells) == 2:
            edits.append((cells[0], cells[1]))
    return edits


def test_the_guide_shows_the_commands_it_follows() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for command in ("init --out manifest.toml", "doctor --partner manifest.toml",
                    "certify --partner manifest.toml --out reports/mine",
                    "verify reports/mine", "sim trigger settled --trade"):
        assert command in text, command
    assert len(guide_edits()) > 20


@pytest.mark.timeout(300)
def test_following_the_guide_certifies_the_second_partner_ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "manifest.toml"
    # 1. the skeleton: refused while a TODO is left, each named.
    assert main(["init", "--out", str(manifest)]) == 0
    assert main(["doctor", "--partner", str(manifest)]) == 2
    assert "/start/env/port: still the `init` placeholder" in capsys.readouterr().err
    # 2. the guide's edits, as a partner developer makes them in the file.
    text = manifest.read_text(encoding="utf-8")
    for old, new in guide_edits():
        assert old in text, f"the skeleton has no {old!r} any more: update docs/ONBOARDING.md"
        text = text.replace(old, new)
    assert "TODO" not in "".join(
        line.split("#", 1)[0] for line in text.splitlines()
    ), "a placeholder the guide does not fill"
    # The manifest lives in a temporary directory here, not next to app.py.
    text = text.replace('cwd = "."', f"cwd = {str(KESTREL)!r}")
    manifest.write_text(text, encoding="utf-8")
    # 3. doctor: the happy path works.
    capsys.readouterr()
    assert main(["doctor", "--partner", str(manifest)]) == 0, capsys.readouterr().out
    assert "happy path: OK" in capsys.readouterr().out
    # 4. certify: ready; the report verifies.
    out = tmp_path / "reports" / "mine"
    code = main(["certify", "--partner", str(manifest), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "preflight: the happy path works" in printed and "verdict: READY" in printed
    assert main(["verify", str(out)]) == 0
