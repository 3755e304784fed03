"""Ingest fails closed: private files in every shape of front matter stay private or are skipped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.discover import discover
from ingest.pipeline import ingest
from ingest.sources.base import Report
from ingest.sources.front_matter import FrontMatterError, split_front_matter
from retrieval.embedding import SentenceTransformerEmbedder
from retrieval.index import IndexDir
from retrieval.library import Library

BODY = "# Site notes\n\nThe {canary} apiary gate code is kept here for mentors only.\n"
READ_PRIVATE = {  # name -> file text: read correctly as private to mentors
    "crlf.md": "---\r\ntitle: Gate\r\nvisibility: [mentors]\r\n---\r\n" + BODY.replace("\n", "\r\n"),
    "cr-only.md": "---\rvisibility: [mentors]\r---\r" + BODY.replace("\n", "\r"),
    "blank-first.md": "\n\n---\nvisibility: [mentors]\n---\n" + BODY,
    "end-marker.md": "---\nvisibility: [mentors]\n...\n" + BODY,
    "one-string.md": "---\nvisibility: mentors\n---\n" + BODY,
    "bom.md": "\ufeff---\r\nvisibility:\r\n  - mentors\r\n---\r\n" + BODY,
    "sidecar.md": BODY,
}
SKIPPED = {  # name -> file text: cannot be read with certainty, so an error
    "no-close.md": "---\nvisibility: [mentors]\n" + BODY,
    "no-open.md": "visibility: [mentors]\n---\n" + BODY,
    "empty-vis.md": "---\nvisibility:\n---\n" + BODY,
    "empty-list.md": "---\nvisibility: []\n---\n" + BODY,
    "blank-string.md": "---\nvisibility: ''\n---\n" + BODY,
    "capital.md": "---\nVisibility: [mentors]\n---\n" + BODY,
    "typo.md": "---\nvisiblity: [mentors]\n---\n" + BODY,
    "twice.md": "---\nvisibility: [mentors]\nvisibility: public\n---\n" + BODY,
    "mixed.md": "---\nvisibility: [public, mentors]\n---\n" + BODY,
    "toml.md": "+++\nvisibility = ['mentors']\n+++\n" + BODY,
    "both.md": "---\ntitle: Both\n---\n" + BODY,
    "empty-meta.html": '<html><head><meta name="visibility" content=""></head><body><p>{canary} gate</p></body></html>',
    "empty-sidecar.txt": "The {canary} gate code.",
}
SIDECARS = {"sidecar.md": "visibility: [mentors]\n", "both.md": "visibility: [mentors]\n", "empty-sidecar.txt": ""}


def _canary(name: str) -> str:
    return "zq" + "".join(c for c in name if c.isalpha())[:10] + "canary"


def _write(folder: Path) -> None:
    folder.mkdir()
    for name, text in {**READ_PRIVATE, **SKIPPED}.items():
        (folder / name).write_bytes(text.replace("{canary}", _canary(name)).encode("utf-8"))
    for name, text in SIDECARS.items():
        (folder / f"{name}.meta.yaml").write_text(text)


@pytest.mark.integration
def test_private_files_in_every_shape_stay_private_or_are_skipped(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    _write(tmp_path / "corpus")
    summary = ingest([tmp_path / "corpus"], IndexDir(tmp_path / "index"), embedder)
    failed = {p.where.split(":", 1)[0].removesuffix(".meta.yaml") for p in summary.problems if p.level == "error"}
    assert failed == set(SKIPPED), summary.problems
    catalog = IndexDir(tmp_path / "index").open().catalog
    names = [*READ_PRIVATE, *SKIPPED]
    assert catalog.documents(names, ()) == {}  # nothing public
    assert {d.id: d.groups for d in catalog.documents(names, ("mentors",)).values()} == {
        name: ("mentors",) for name in READ_PRIVATE}
    searcher = Library(IndexDir(tmp_path / "index"), embedder).searcher()
    for name in {**READ_PRIVATE, **SKIPPED}:
        canary = _canary(name)
        assert not any(canary in hit.text for hit in searcher.search(canary, k=20, groups=()))
        inside = searcher.search(canary, k=20, groups=("mentors",))
        assert any(canary in hit.text for hit in inside) == (name in READ_PRIVATE)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "line"), [("---\na: 1\n", 1), ("\n\n---\na: 1\n", 3), ("# T\nVisibility: x\n", 2), ("+++\n", 1)]
)
def test_unreadable_front_matter_names_its_line(text: str, line: int) -> None:
    with pytest.raises(FrontMatterError) as caught:
        split_front_matter(text)
    assert caught.value.line == line


@pytest.mark.unit
def test_symlinks_leaving_the_folder_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Not ours\n")
    corpus = tmp_path / "corpus"
    (corpus / "inner").mkdir(parents=True)
    (corpus / "guide.md").write_text("# Ours\n")
    os.symlink(outside / "secret.md", corpus / "linked.md")
    os.symlink(outside, corpus / "linked-dir")
    os.symlink(corpus / "guide.md", corpus / "inner" / "same.md")  # stays inside: kept
    report = Report()
    found = {source.rel for source, _ in discover([corpus], report, 10**6)}
    assert found == {"guide.md", "inner/same.md"}
    assert {p.where for p in report.warnings if "symlink" in p.message} >= {"linked.md"}


@pytest.mark.unit
def test_symlinks_inside_a_claimed_export_do_not_leave_it(tmp_path: Path) -> None:
    """A Slack export folder is read whole by its loader, not walked by discovery: the same
    symlink rule holds inside it, so a day file linked to a file elsewhere is not read."""
    from ingest.sources.base import SourceFile
    from ingest.sources.slack import SlackLoader

    outside = tmp_path / "outside"
    outside.mkdir()
    secret = [{"type": "message", "user": "U1", "ts": "1714207272.000200", "text": "the vault code is 4471"}]
    (outside / "day.json").write_text(json.dumps(secret))
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (export / "users.json").write_text(json.dumps([{"id": "U1", "name": "ada"}]))
    os.symlink(outside / "day.json", export / "general" / "2024-04-27.json")
    report = Report()
    records = list(SlackLoader().load(SourceFile(export, "export"), report))
    assert "4471" not in repr(records)
    assert [p.where for p in report.warnings if "symlink" in p.message] == ["export/general/2024-04-27.json"]
