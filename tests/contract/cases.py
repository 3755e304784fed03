"""Filter cases shared by the contract suites: each restriction alone, and some together."""

from __future__ import annotations

import pytest

from retrieval.filters import Filters
from tests.contract.world import day

FILTER_CASES = [
    pytest.param(Filters(), id="none"),
    pytest.param(Filters(channel="general"), id="channel"),
    pytest.param(Filters(channel="mentors"), id="private-channel"),
    pytest.param(Filters(source="guides"), id="source"),
    pytest.param(Filters(author="m01"), id="author"),
    pytest.param(Filters(tag="winter"), id="tag"),
    pytest.param(Filters(tag="lease"), id="private-tag"),
    pytest.param(Filters(since=day("2025-01-01")), id="since"),
    pytest.param(Filters(until=day("2024-12-31")), id="until"),
    pytest.param(Filters(since=day("2024-03-02"), until=day("2024-11-01")), id="date-range"),
    pytest.param(Filters(kind="resource"), id="kind"),
    pytest.param(Filters(kind="thread", tag="winter", source="forum"), id="combined"),
    pytest.param(Filters(channel="nowhere"), id="no-match"),
]
