"""Fixtures of the scanner tests: fresh fake canaries, the planted corpus, third-party JS."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.scan import Canary

from .corpus import Planted, build_corpus, mint_canaries

HERE = Path(__file__).parent
SETUP_THIRDPARTY = HERE / "setup_thirdparty.sh"


@pytest.fixture(scope="session")
def canaries() -> tuple[Canary, Canary]:
    return mint_canaries()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory,
           canaries: tuple[Canary, Canary]) -> tuple[Path, list[Planted]]:
    root = tmp_path_factory.mktemp("planted")
    return root, build_corpus(root, *canaries)


@pytest.fixture(scope="session")
def thirdparty() -> Path:
    """node_modules with production builds of popular packages, installed once (cached)."""
    if shutil.which("npm") is None:
        pytest.fail("npm is required for the zero-false-positive test: apt-get install npm")
    result = subprocess.run(["bash", str(SETUP_THIRDPARTY)], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "npm_config_update_notifier": "false"})
    if result.returncode != 0:
        pytest.fail(f"setup_thirdparty.sh failed ({result.returncode}): {result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])
