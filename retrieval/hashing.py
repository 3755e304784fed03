"""Content hashes and stable chunk ids."""

from __future__ import annotations

import hashlib


def text_hash(text: str) -> str:
    """Hex digest identifying a text (used to reuse embeddings of unchanged chunks)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def chunk_id(doc_id: str, post_id: str | None, ordinal: int) -> int:
    """A stable positive int64 id for the ``ordinal``-th chunk of a post or document."""
    key = f"{doc_id}\x1f{post_id or ''}\x1f{ordinal}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") & (2**63 - 1)
