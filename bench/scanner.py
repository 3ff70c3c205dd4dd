"""Scanner: MB/s on real third-party JavaScript and recall on the planted corpus, vs detect-secrets.

The corpus is the production builds of popular npm packages that the scanner's own tests use
(``tests/scan/setup_thirdparty.sh`` installs them into .cache once): every .js/.mjs/.cjs
file, a deterministic sample of at least ``--corpus-mb`` megabytes. Both tools start from
the list of paths (reading the files is part of the time), single process, in this process.
detect-secrets 1.5.0 (default plugins and filters, as a user would run it) is about three
orders of magnitude slower on minified code, so by default it scans a deterministic
sub-sample (``--ds-mb``) and our scanner scans that same sub-sample in the same run for the
ratio; ``--full`` makes detect-secrets scan the whole corpus (several minutes).

Recall: the scanner tests' planted corpus (fresh fake canaries, every encoding) scanned by
both. Ours must find each case at its offset; detect-secrets is credited with a case when it
reports anything at all in that file (it reports lines, not offsets, and has no canaries).

    python bench/scanner.py [--quick] [--corpus-mb 20] [--ds-mb 2] [--runs 3] [--full]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import ROOT, finish, median, run_main, table, write_result

sys.path.insert(0, str(ROOT))

from conformance.scan import Canary, SecretScanner, load_paths  # noqa: E402
from tests.scan.corpus import Planted, build_corpus, mint_canaries  # noqa: E402

SETUP = ROOT / "tests" / "scan" / "setup_thirdparty.sh"
JS_SUFFIXES = (".js", ".mjs", ".cjs")
UNLIMITED = {"max_files": 10**7, "max_total_bytes": 10**12, "max_bytes": 10**9}


def thirdparty_dir() -> Path:
    result = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=900,
                            env={**os.environ, "npm_config_update_notifier": "false"})
    if result.returncode != 0:
        raise SystemExit(f"setup_thirdparty.sh failed: {result.stderr[-1500:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def sample(files: list[Path], megabytes: float) -> list[Path]:
    """Every k-th file of the sorted list until the sample reaches the size.

    A file that would overshoot the size by more than a tenth is passed over, so a small
    sample is not one huge bundle; the whole list is taken when it is smaller than asked.
    """
    sizes = {p: p.stat().st_size for p in files}
    want = megabytes * 1_000_000
    if want >= sum(sizes.values()):
        return files
    stride = max(1, int(sum(sizes.values()) / want))
    order = [p for offset in range(stride) for p in files[offset::stride]]
    chosen: list[Path] = []
    size = 0
    for path in order:
        if size + sizes[path] > want * 1.1:
            continue
        chosen.append(path)
        size += sizes[path]
        if size >= want:
            break
    return sorted(chosen)


def size_of(files: list[Path]) -> int:
    return sum(p.stat().st_size for p in files)


def run_ours(files: list[Path], canaries: tuple[Canary, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    collected = load_paths([str(p) for p in files], **UNLIMITED)
    loaded = time.perf_counter()
    findings = SecretScanner(canaries).scan(collected.artefacts)
    done = time.perf_counter()
    return {"seconds": done - started, "scan_seconds": done - loaded,
            "findings": [f"{f.location}:{f.offset} {f.rule_id}" for f in findings],
            "artefacts": len(collected.artefacts), "complete": collected.complete}


def run_detect_secrets(files: list[Path]) -> dict[str, Any]:
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    started = time.perf_counter()
    with default_settings():
        collection = SecretsCollection()
        for path in files:
            collection.scan_file(str(path))
    seconds = time.perf_counter() - started
    found = {name: sorted((s.type, s.line_number) for s in secrets)
             for name, secrets in collection.data.items() if secrets}
    return {"seconds": seconds, "findings": found,
            "finding_count": sum(len(v) for v in found.values())}


def recall(quick: bool) -> dict[str, Any]:
    canaries = mint_canaries()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        planted = build_corpus(root, *canaries)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        ours = run_ours(files, canaries)
        theirs = run_detect_secrets(files)
        ours_hits = defaultdict(list)
        for line in ours["findings"]:
            where, rule = line.rsplit(" ", 1)
            location, offset = where.rsplit(":", 1)
            ours_hits[location].append((int(offset), rule))
        cases = []
        for case in planted:
            base_file = case.file.split("#", 1)[0]
            found_ours = any(case.start <= off < case.end
                             for off, _ in ours_hits.get(case.file, []))
            found_ds = bool(theirs["findings"].get(base_file))
            cases.append({"case": case.case, "rule": case.rule_id, "ours": found_ours,
                          "detect_secrets": found_ds})
    return summarise_recall(cases, planted)


def summarise_recall(cases: list[dict[str, Any]], planted: list[Planted]) -> dict[str, Any]:
    by_rule: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "ours": 0, "ds": 0})
    for c in cases:
        entry = by_rule[c["rule"]]
        entry["cases"] += 1
        entry["ours"] += c["ours"]
        entry["ds"] += c["detect_secrets"]
    return {
        "cases": cases, "by_encoding": dict(by_rule), "planted": len(planted),
        "ours_found": sum(c["ours"] for c in cases),
        "ds_found": sum(c["detect_secrets"] for c in cases),
        "ours_full_recall": all(c["ours"] for c in cases),
        "ours_finds_every_case_ds_misses": all(c["ours"] for c in cases
                                              if not c["detect_secrets"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a megabyte: smoke run")
    parser.add_argument("--corpus-mb", type=float, default=20.0, help="third-party sample size")
    parser.add_argument("--ds-mb", type=float, default=2.0,
                        help="detect-secrets' sub-sample of the corpus (MB)")
    parser.add_argument("--full", action="store_true",
                        help="detect-secrets scans the whole corpus (several minutes)")
    parser.add_argument("--runs", type=int, default=3, help="runs of our scanner (median)")
    args = parser.parse_args(argv)
    if args.quick:
        args.corpus_mb, args.ds_mb, args.runs = 1.0, 0.1, 1

    node_modules = thirdparty_dir()
    all_files = sorted(p for p in node_modules.rglob("*")
                       if p.suffix in JS_SUFFIXES and p.is_file())
    corpus = sample(all_files, args.corpus_mb)
    ds_files = corpus if args.full else sample(corpus, args.ds_mb)
    corpus_bytes, ds_bytes = size_of(corpus), size_of(ds_files)
    canaries = mint_canaries()

    ours_full = [run_ours(corpus, canaries) for _ in range(args.runs)]
    ours_sub = [run_ours(ds_files, canaries) for _ in range(args.runs)]
    theirs = run_detect_secrets(ds_files)
    ours_full_s = median([r["seconds"] for r in ours_full])
    ours_sub_s = median([r["seconds"] for r in ours_sub])
    scan_only_s = median([r["scan_seconds"] for r in ours_full])
    rec = recall(args.quick)

    mbps = {
        "ours_corpus": corpus_bytes / 1e6 / ours_full_s,
        "ours_corpus_scan_only": corpus_bytes / 1e6 / scan_only_s,
        "ours_ds_sample": ds_bytes / 1e6 / ours_sub_s,
        "detect_secrets_ds_sample": ds_bytes / 1e6 / theirs["seconds"],
    }
    speedup = theirs["seconds"] / ours_sub_s
    checks = {
        "corpus_at_least_requested": corpus_bytes >= args.corpus_mb * 1_000_000 * 0.999,
        "ours_no_false_positives_on_corpus": all(not r["findings"] for r in ours_full),
        "ours_complete": all(r["complete"] for r in ours_full),
        "ours_full_recall": rec["ours_full_recall"],
        "ours_finds_every_case_ds_misses": rec["ours_finds_every_case_ds_misses"],
    }
    ok = all(checks.values())
    targets = {"faster_than_detect_secrets": speedup > 1,
               "full_recall_where_detect_secrets_misses": rec["ours_finds_every_case_ds_misses"],
               "corpus_at_least_20_MB": corpus_bytes >= 20_000_000}
    path = write_result("scanner", {
        "settings": {"corpus_mb": args.corpus_mb, "ds_mb": args.ds_mb, "full": args.full,
                     "runs": args.runs, "quick": args.quick, "node_modules": str(node_modules)},
        "corpus": {"files": len(corpus), "bytes": corpus_bytes,
                   "ds_files": len(ds_files), "ds_bytes": ds_bytes},
        "ours_runs_seconds": [r["seconds"] for r in ours_full],
        "ours_ds_sample_runs_seconds": [r["seconds"] for r in ours_sub],
        "detect_secrets_seconds": theirs["seconds"],
        "mb_per_s": mbps, "speedup_vs_detect_secrets": speedup,
        "false_positives": {"ours": len(ours_full[0]["findings"]),
                            "detect_secrets_on_ds_sample": theirs["finding_count"],
                            "detect_secrets_files_flagged": len(theirs["findings"])},
        "recall": rec, "checks": checks, "ok": ok, "targets_met": targets,
    })
    print(table(["tool", "files", "MB", "seconds (median)", "MB/s", "findings on real JS"], [
        ["zeropools scanner", len(corpus), corpus_bytes / 1e6, ours_full_s, mbps["ours_corpus"],
         len(ours_full[0]["findings"])],
        ["zeropools scanner (same files as detect-secrets)", len(ds_files), ds_bytes / 1e6,
         ours_sub_s, mbps["ours_ds_sample"], len(ours_sub[0]["findings"])],
        ["detect-secrets 1.5.0", len(ds_files), ds_bytes / 1e6, theirs["seconds"],
         mbps["detect_secrets_ds_sample"], theirs["finding_count"]],
    ]))
    print(f"speed-up over detect-secrets on the same files: {speedup:,.0f}x")
    print(table(["encoding (rule)", "planted", "zeropools found", "detect-secrets found"],
                [[rule, v["cases"], v["ours"], v["ds"]]
                 for rule, v in sorted(rec["by_encoding"].items())]
                + [["total", rec["planted"], rec["ours_found"], rec["ds_found"]]]))
    return finish(path, ok, checks=checks, targets=targets)


if __name__ == "__main__":
    run_main(main)
