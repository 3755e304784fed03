"""Real-world files, each kind found with a small input: HTML text outside paragraphs, PDFs
that are scanned, encrypted or truncated, duplicated resources, binary junk named .jsonl,
replies to posts that do not exist."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from ingest.pipeline import ingest
from ingest.sources.base import MAX_PROBLEMS_PER_FILE, Report, SourceFile
from ingest.sources.html import HtmlLoader
from ingest.sources.pdf import PdfLoader
from retrieval.index import IndexDir
from tests.helpers import thread_line, write_small_corpus

PAGE = """<html><head><title>Swarm calendar</title></head><body>
Text straight in the body about swarm season.
<div>Inside a div: queen cells appear in May.<span> A span adds that drones fly first.</span></div>
<p>A proper paragraph on clipping wings.</p>
Line one after the paragraph<br>line two after a break<br/>line three about bait hives
<ul><li>List item on checking weekly</li></ul><!-- a comment nobody sees -->
<script>var hidden = "never shown";</script>
</body></html>"""


@pytest.mark.unit
def test_every_visible_html_text_is_kept(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE)
    report = Report()
    [resource] = list(HtmlLoader().load(SourceFile(tmp_path / "page.html", "page.html"), report))
    for passage in ("straight in the body", "queen cells appear in May", "drones fly first",
                    "clipping wings", "line two after a break", "line three about bait hives",
                    "- List item on checking weekly"):
        assert passage in resource.text, passage
    assert "never shown" not in resource.text and "comment" not in resource.text
    assert "Line one after the paragraph\n\nline two" in resource.text  # <br> separates passages
    assert resource.title == "Swarm calendar" and not report.problems


def _pdf(pages: list[str | None]) -> bytes:
    """A PDF with a text page per string and a drawing-only page (no text layer) per None."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        if text is None:
            pdf.rect(100, 100, 200, 200, fill=1)
        else:
            pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _encrypted(data: bytes, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.unit
def test_pdfs_scanned_encrypted_truncated_and_half_scanned(tmp_path: Path) -> None:
    text = _pdf(["Mite counts after the oxalic treatment were low."])
    files = {
        "aes.pdf": _encrypted(text, "AES-256"), "rc4.pdf": _encrypted(text, "RC4-128"),
        "scanned.pdf": _pdf([None]), "truncated.pdf": text[: len(text) // 3],
        "locked.pdf": _locked(text), "half.pdf": _pdf(["Page one has text about mites.", None]),
    }
    loaded, report = {}, Report()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        loaded[name] = list(PdfLoader().load(SourceFile(tmp_path / name, name), report))
    assert "oxalic" in loaded["aes.pdf"][0].text and "oxalic" in loaded["rc4.pdf"][0].text
    assert not loaded["scanned.pdf"] and not loaded["truncated.pdf"] and not loaded["locked.pdf"]
    assert "mites" in loaded["half.pdf"][0].text
    errors = {p.where for p in report.errors if "skipped" in p.message}
    assert errors == {"scanned.pdf", "truncated.pdf", "locked.pdf"}, [str(p) for p in report.problems]
    assert [p.where for p in report.warnings] == ["half.pdf"] and "page(s) 2" in report.warnings[0].message


def _locked(data: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.integration
def test_skipped_pdfs_are_counted_and_junk_jsonl_is_capped(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    (corpus / "scan.pdf").write_bytes(_pdf([None]))
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    junk = os.urandom(200_000).replace(b"\x00", b"\x01")
    (corpus / "junk.jsonl").write_bytes(b"\n".join(junk[i:i + 40] for i in range(0, len(junk), 40)))
    (corpus / "zeros.jsonl").write_bytes(b"\x00" * 1000)
    with (corpus / "threads.jsonl").open("a") as f:
        line = json.loads(thread_line("a-9", "Orphan reply", ["First post", "Reply to a ghost"]))
        line["posts"][1]["reply_to"] = "ghost-post"
        f.write(json.dumps(line) + "\n")
    summary = ingest([corpus], IndexDir(tmp_path / "ix"), embedder)
    where = [p.where.split(":")[0] for p in summary.problems]
    assert summary.skipped_files >= 3  # scan.pdf, broken.pdf, zeros.jsonl
    assert where.count("junk.jsonl") <= MAX_PROBLEMS_PER_FILE + 2
    assert any("more error(s) in this file" in p.message for p in summary.problems if p.where == "junk.jsonl")
    assert any("ghost-post" in p.message and p.level == "warning" for p in summary.problems)


@pytest.mark.integration
def test_a_resource_ingested_again_from_a_sub_folder_is_not_indexed_twice(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = write_small_corpus(tmp_path / "src")
    (corpus / "resources").mkdir()
    (corpus / "resources" / "wax.md").write_text("# Wax\n\nRender old comb in a solar wax melter.\n")
    index_dir = IndexDir(tmp_path / "ix")
    ingest([corpus], index_dir, embedder)
    again = ingest([corpus / "resources"], index_dir, embedder, prune=True)
    assert again.documents_new == 0 and again.documents_removed == 0
    assert any("not indexed twice" in p.message for p in again.problems)
    assert index_dir.open().manifest.counts["resources"] == 2  # guide.md and resources/wax.md, once each
