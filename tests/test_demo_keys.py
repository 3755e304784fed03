"""The demo's keys (``make run``'s, the screenshots', the README's MCP example) see every private
document of the sample community, whatever loader marked it private."""

from __future__ import annotations

import re

import pytest

from ingest.discover import discover
from ingest.pipeline import load_files
from ingest.sources.base import Report, ThreadPage
from retrieval.records import Resource, Thread
from tests.conftest import ROOT, SAMPLE

pytestmark = pytest.mark.unit


def _sample_private_groups() -> list[tuple[str, ...]]:
    """The visibility of every private document the sample's loaders yield."""
    report = Report()
    records = load_files(discover([SAMPLE], report), report, None)
    assert not report.files_with_errors()
    documents = [r.thread if isinstance(r, ThreadPage) else r for _, r in records]
    return [d.visibility for d in documents if isinstance(d, Thread | Resource) and d.visibility]


def _run_sh_groups() -> set[str]:
    found = re.search(r"OPERATOR_GROUPS=\$\{OPERATOR_GROUPS:-([^}]*)\}", (ROOT / "scripts" / "run.sh").read_text())
    assert found, "scripts/run.sh sets no default OPERATOR_GROUPS"
    return set(found.group(1).split(","))


def test_make_runs_key_sees_every_private_document_of_the_sample() -> None:
    private = _sample_private_groups()
    groups = _run_sh_groups()
    assert {"mentors", "slack:mentors-circle", "discourse:mentors-lounge"} <= {g for v in private for g in v}
    unseen = [v for v in private if not groups & set(v)]
    assert not unseen, f"make run's key ({sorted(groups)}) cannot see documents visible to {sorted(set(unseen))}"
    assert groups <= {g for v in private for g in v}, "a demo group no sample document uses"


def test_the_other_demo_keys_have_the_same_groups() -> None:
    from scripts.screenshots import DEMO_GROUPS

    readme = (ROOT / "README.md").read_text()
    mcp_key = re.search(r"keys add mcp-reader --groups (\S+)", readme)
    assert mcp_key and set(mcp_key.group(1).split(",")) == _run_sh_groups() == set(DEMO_GROUPS)
