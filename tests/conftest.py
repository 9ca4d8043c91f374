"""Shared test fixtures.

``shared_data`` is ``../shared/data`` beside the repository (real files written by the tools themselves);
tests that need it are skipped with a clear reason when it is absent.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Signing keys and trusted-key lists live in a per-session folder, never in the tester's home (subprocesses
# started by tests inherit it).
_CONFIG_DIR = tempfile.mkdtemp(prefix="proteomics-test-config-")
os.environ["PROTEOMICS_CONFIG_DIR"] = _CONFIG_DIR
atexit.register(shutil.rmtree, _CONFIG_DIR, True)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
ORACLES = SHARED / "oracles"
SAMPLE_DATA = REPO / "sample_data"


def need_shared(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test saying which file is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real-data file {path} is absent (../shared/data is not beside this checkout)")
    return path


def need_oracle(*parts: str) -> Path:
    """Path under ../shared/oracles, or skip the test saying which fixture is absent."""
    path = ORACLES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"oracle fixture {path} is absent (../shared/oracles is not beside this checkout)")
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is absent beside this checkout")
    return SHARED_DATA
