"""Zero false positives on real production JavaScript (react-dom, lodash, moment, jquery…)."""

from __future__ import annotations

from pathlib import Path

from conformance.scan import Artefact, Canary, SecretScanner, load_paths

# Files that must be in the corpus, so the test cannot pass on an empty or partial install.
EXPECTED = (
    "react-dom/umd/react-dom.production.min.js",
    "lodash/lodash.min.js",
    "moment/min/moment-with-locales.min.js",
    "jquery/dist/jquery.min.js",
    "jquery/dist/jquery.min.map",
    "vue/dist/vue.global.prod.js",
    "three/build/three.module.min.js",
    "d3/dist/d3.min.js",
    "chart.js/dist/chart.umd.js",
)


def test_no_finding_in_popular_packages(thirdparty: Path, canaries: tuple[Canary, Canary]) -> None:
    for name in EXPECTED:
        assert (thirdparty / name).is_file(), name
    collected = load_paths([str(thirdparty)])
    size = sum(len(a.body) for a in collected.artefacts)
    assert collected.complete
    assert size > 40_000_000 and len(collected.artefacts) > 3000
    findings = SecretScanner(canaries).scan(collected.artefacts)
    assert [f"{f.location}:{f.offset} {f.rule_id}" for f in findings] == []


def test_a_secret_planted_in_real_minified_code_is_found(
    thirdparty: Path, canaries: tuple[Canary, Canary]
) -> None:
    real = (thirdparty / "jquery/dist/jquery.min.js").read_bytes()
    key = canaries[0].value
    middle = real.index(b"function", len(real) // 2)
    pieces = f'var k="{key[:6]}"+"{key[6:]}";'.encode()
    body = real[:middle] + pieces + real[middle:]
    found = SecretScanner(canaries).scan([Artefact(location="jquery.min.js", body=body)])
    assert [(f.rule_id, f.offset) for f in found] == [("canary.concat", middle + 7)]
