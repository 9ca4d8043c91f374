"""Under CI (``PROTEOMICS_REQUIRE_TOOLS=1``, set by .ci/run) a test that lacks its browser or database fails;
elsewhere it is skipped with the reason."""

from __future__ import annotations

import pytest

from .conftest import missing_tool


def test_missing_tool_fails_when_tools_are_required(monkeypatch):
    monkeypatch.setenv("PROTEOMICS_REQUIRE_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="no such tool"):
        missing_tool("no such tool")


def test_missing_tool_skips_elsewhere(monkeypatch):
    monkeypatch.delenv("PROTEOMICS_REQUIRE_TOOLS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no such tool"):
        missing_tool("no such tool")
