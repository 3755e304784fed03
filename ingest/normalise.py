"""Unicode normalisation of loaded records: every text in NFC, as questions are, so that a
composed ``é`` in a post and a decomposed one in a question (or the other way round) match,
lexically and by content hash."""

from __future__ import annotations

from dataclasses import replace

from retrieval.cjk import nfc
from retrieval.records import Document, Resource, Thread


def nfc_document(doc: Document) -> Document:
    """``doc`` with its title and texts in NFC (the same object when nothing changes)."""
    if isinstance(doc, Resource):
        title, text = nfc(doc.title), nfc(doc.text)
        return doc if (title, text) == (doc.title, doc.text) else replace(doc, title=title, text=text)
    posts = tuple(p if nfc(p.text) == p.text else replace(p, text=nfc(p.text)) for p in doc.posts)
    title = nfc(doc.title)
    unchanged = title == doc.title and all(a is b for a, b in zip(posts, doc.posts, strict=True))
    return doc if unchanged else replace(doc, title=title, posts=posts)


def nfc_documents(threads: list[Thread], resources: list[Resource]) -> tuple[list[Thread], list[Resource]]:
    """:func:`nfc_document` over both lists."""
    return ([nfc_document(t) for t in threads],  # type: ignore[misc]
            [nfc_document(r) for r in resources])  # type: ignore[misc]
