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


def missing_tool(reason: str):
    """Skip a test whose tool (browser, database server, package) is absent; fail instead when
    ``PROTEOMICS_REQUIRE_TOOLS=1`` (set by ``.ci/run`` once it has installed them), so that in CI a browser or
    database test cannot pass by being skipped."""
    if os.environ.get("PROTEOMICS_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (PROTEOMICS_REQUIRE_TOOLS=1: required here)", pytrace=False)
    pytest.skip(reason)


def chromium() -> str:
    """Path of a Chromium executable (Debian's ``chromium``), or :func:`missing_tool`."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    missing_tool("no Chromium on this machine (.ci/run installs Debian's chromium package)")


def playwright_sync_api():
    """``playwright.sync_api``, or :func:`missing_tool`."""
    try:
        from playwright import sync_api
    except ImportError:
        missing_tool("playwright is not installed (pip install -e .[dev])")
    return sync_api


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
