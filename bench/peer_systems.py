"""The systems `bench/peers.py` compares, each behind one small interface.

Every system gets the same units — the chunk texts Townsquare's pipeline made of the dataset,
each with its document id — and the same vectors (``SharedVectors``: all-MiniLM-L6-v2 from
the product's model path, computed once and cached on disk under ``var/bench-cache``), so
quality differences come from the systems, not from different texts or encoders. Each system
returns, per query, chunk-level results collapsed to documents (first occurrence wins).

A system: ``build(units)`` then ``search(query, k) -> [doc_id, ...]``. Query vectors come from
the same cache, so query latencies leave the (identical) model encoding out for every system.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Unit = tuple[str, str]
"""(text, document id)."""


class SharedVectors:
    """Text -> vector through ``bench.common.CachedEmbedder`` (the model loads only on a miss)."""

    def __init__(self) -> None:
        from bench.common import CachedEmbedder

        self.cached = CachedEmbedder(LazyModel())

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.cached.embed(list(texts))


class LazyModel:
    """The product's model run by sentence-transformers (torch), loaded on first use (a warm
    cache never loads it). Torch, not the ONNX default of new indexes: the cache is keyed by
    the torch model's fingerprint, and txtai and LangChain would run this model with torch.
    Tokens are counted with the model's own tokenizer (``tokenizer.json``), so Townsquare's
    chunker cuts long posts exactly as the product does."""

    model_id, model_name, dimension, max_tokens = "", "all-MiniLM-L6-v2", 384, 256

    def __init__(self) -> None:
        from retrieval.embedding import default_model_path, fingerprint

        self.model_id = fingerprint(default_model_path())
        self._model: Any = None
        self._tokenizer: Any = None

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if self._model is None:
            from retrieval.embedding import load_embedder

            self._model = load_embedder(None, "torch")
        return self._model.embed(texts, batch_size=batch_size)

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            from retrieval.embedding import default_model_path

            self._tokenizer = Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def first_docs(doc_ids: Sequence[str], k: int) -> list[str]:
    """Document ids in order of first appearance, at most ``k``."""
    return list(dict.fromkeys(doc_ids))[:k]


class Txtai:
    """txtai ``Embeddings`` on the shared vectors (``method: external``); ``hybrid`` adds its
    BM25 sparse index (``hybrid: True``) and txtai's own score fusion."""

    def __init__(self, vectors: SharedVectors, hybrid: bool) -> None:
        self.vectors, self.hybrid = vectors, hybrid

    def build(self, units: Sequence[Unit]) -> None:
        from txtai import Embeddings

        self.docs = [d for _, d in units]
        transform: Callable[[Any], np.ndarray] = lambda texts: self.vectors(list(texts))  # noqa: E731
        self.engine = Embeddings(method="external", transform=transform, content=False, hybrid=self.hybrid)
        self.engine.index([(i, text, None) for i, (text, _) in enumerate(units)])

    def search(self, query: str, k: int) -> list[str]:
        found = self.engine.search(query, k * 3)
        return first_docs([self.docs[int(i)] for i, _ in found], k)


class LangChainDense:
    """``FAISS.from_texts`` (langchain-community) with an ``Embeddings`` on the shared vectors
    (the same vectors ``HuggingFaceEmbeddings`` gives for this model; see ``bench/peers.py``'s
    ingest comparison, which uses ``HuggingFaceEmbeddings`` itself)."""

    def __init__(self, vectors: SharedVectors) -> None:
        self.vectors = vectors

    def build(self, units: Sequence[Unit]) -> None:
        from langchain_community.vectorstores import FAISS

        self.store = FAISS.from_texts([t for t, _ in units], langchain_embeddings(self.vectors),
                                      metadatas=[{"doc": d} for _, d in units])

    def search(self, query: str, k: int) -> list[str]:
        return first_docs([d.metadata["doc"] for d in self.store.similarity_search(query, k=k * 3)], k)


class LangChainEnsemble:
    """LangChain's ``EnsembleRetriever`` over ``BM25Retriever`` and the FAISS retriever, equal
    weights (its documented default pattern), each retriever asked for the same depth."""

    def __init__(self, vectors: SharedVectors, depth: int = 300) -> None:
        self.vectors, self.depth = vectors, depth

    def build(self, units: Sequence[Unit]) -> None:
        from langchain_classic.retrievers import EnsembleRetriever  # type: ignore[import-not-found]
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS

        texts, metadatas = [t for t, _ in units], [{"doc": d} for _, d in units]
        store = FAISS.from_texts(texts, langchain_embeddings(self.vectors), metadatas=metadatas)
        bm25 = BM25Retriever.from_texts(texts, metadatas=metadatas, k=self.depth)
        dense = store.as_retriever(search_kwargs={"k": self.depth})
        self.retriever = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def search(self, query: str, k: int) -> list[str]:
        return first_docs([d.metadata["doc"] for d in self.retriever.invoke(query)], k)


def langchain_embeddings(vectors: SharedVectors) -> Any:
    """A LangChain ``Embeddings`` answering from the shared vectors."""
    from langchain_core.embeddings import Embeddings

    class Shared(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return vectors(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return vectors([text])[0].tolist()

    return Shared()


class Bm25s:
    """Plain ``bm25s`` (English stopwords, its default BM25 variant), no stemming."""

    def build(self, units: Sequence[Unit]) -> None:
        import bm25s

        self.docs = [d for _, d in units]
        self.engine = bm25s.BM25()
        self.engine.index(bm25s.tokenize([t for t, _ in units], stopwords="en", show_progress=False),
                          show_progress=False)

    def search(self, query: str, k: int) -> list[str]:
        import bm25s

        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        n = min(k * 3, len(self.docs))
        ids, _ = self.engine.retrieve(tokens, k=n, show_progress=False, n_threads=1)
        return first_docs([self.docs[int(i)] for i in ids[0]], k)


class Townsquare:
    """Townsquare as shipped: the real ingest pipeline into a fresh index (vectors from the
    shared cache), searched with ``Searcher.search(collapse=True)`` and the default settings,
    as the caller ``groups`` (anonymous by default)."""

    def __init__(self, vectors: SharedVectors, sources: Path, mode: str, lexical: str = "fts5") -> None:
        self.vectors, self.sources, self.mode, self.lexical = vectors, sources, mode, lexical
        self.groups: tuple[str, ...] = ()

    def build(self, units: Sequence[Unit]) -> None:
        from bench.common import ingest_or_fail

        self._tmp = tempfile.TemporaryDirectory(prefix="bench-peers-ts-")
        index = Path(self._tmp.name) / "index"
        ingest_or_fail([self.sources], index, self.vectors.cached)
        self.open(index)

    def open(self, index: Path) -> None:
        """Search the index already built at ``index`` (its vectors: the shared cache's model)."""
        from app.settings import SearchOptions
        from retrieval.index import IndexDir
        from retrieval.search import Searcher

        snapshot = IndexDir(index).open(self.vectors.cached.model_id)
        if self.lexical == "sparse":
            snapshot.lexical = sparse_beside(snapshot, SPARSE_BESIDE / index.name)
        self.searcher = Searcher(snapshot, self.vectors.cached, **SearchOptions().model_dump())

    def search(self, query: str, k: int) -> list[str]:
        hits = self.searcher.search(query, k=k, collapse=True, mode=self.mode, groups=self.groups)  # type: ignore[arg-type]
        return [h.doc_id for h in hits]


SPARSE_BESIDE = Path(__file__).resolve().parents[1] / "var" / "sparse-beside"


def sparse_beside(snapshot: Any, folder: Path) -> Any:
    """The ``sparse`` lexical index of ``snapshot``'s chunk texts (built into ``folder`` from
    the catalog when missing: the seconds go to ``folder/build.json``), searched in place of
    the snapshot's own lexical index (FTS5), with the snapshot's catalog for visibility."""
    import json
    import os
    import shutil
    import time

    from retrieval.backends.options import SparseOptions
    from retrieval.backends.sparse_bm25 import SparseBm25Index
    from retrieval.backends.sparse_build import SparseBuilder
    from retrieval.backends.sparse_matrix import TermMatrix
    from retrieval.views import ChunkEntry

    if not (folder / "build.json").exists():
        # built aside and renamed into place: processes started together never see half a build
        work = folder.with_name(f"{folder.name}.{os.getpid()}.part")
        start = time.perf_counter()
        texts = snapshot.catalog.chunk_texts()
        read_s = time.perf_counter() - start
        builder = SparseBuilder(work, None, SparseOptions())
        for at in range(0, len(texts), 5000):
            builder.add([ChunkEntry(i, d, "thread", "", "", None, (), None, (), t) for i, d, t in texts[at:at + 5000]])
        facts = builder.commit()
        (work / "build.json").write_text(json.dumps({**facts, "chunks": len(texts), "read_s": read_s,
                                                     "build_s": time.perf_counter() - start}))
        try:
            work.rename(folder)
        except OSError:  # another process put its build there first
            shutil.rmtree(work, ignore_errors=True)
    return SparseBm25Index(TermMatrix.load(folder), snapshot.catalog, SparseOptions())


def make(name: str, vectors: SharedVectors, sources: Path, depth: int = 300) -> Any:
    """The system called ``name`` (see :data:`SYSTEMS`); ``depth``: chunks each retriever of
    LangChain's ensemble returns (the other peers ask for 3x the documents wanted)."""
    factories: dict[str, Callable[[], Any]] = {
        "townsquare-dense": lambda: Townsquare(vectors, sources, "dense"),
        "townsquare-bm25": lambda: Townsquare(vectors, sources, "lexical"),
        "townsquare-hybrid": lambda: Townsquare(vectors, sources, "hybrid"),
        "townsquare-bm25-sparse": lambda: Townsquare(vectors, sources, "lexical", "sparse"),
        "townsquare-hybrid-sparse": lambda: Townsquare(vectors, sources, "hybrid", "sparse"),
        "txtai-dense": lambda: Txtai(vectors, hybrid=False),
        "txtai-hybrid": lambda: Txtai(vectors, hybrid=True),
        "langchain-faiss": lambda: LangChainDense(vectors),
        "langchain-ensemble": lambda: LangChainEnsemble(vectors, depth),
        "bm25s": lambda: Bm25s(),
    }
    if name not in factories:
        raise SystemExit(f"unknown system {name!r}; known: {', '.join(factories)}")
    return factories[name]()


SYSTEMS = ["townsquare-dense", "townsquare-bm25", "townsquare-hybrid", "txtai-dense", "txtai-hybrid",
           "langchain-faiss", "langchain-ensemble", "bm25s"]
