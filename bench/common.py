"""Shared helpers of the benchmarks: data paths, a caching embedder, conversion of the
evaluation data into the native threads format, IR metrics and the results-file writer.

The evaluation data is read from ``../shared/data`` (next to the repository) at run time and
is never copied into the repository.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CACHE_DIR = REPO / "var" / "bench-cache"
RESULTS_FILE = REPO / "docs" / "benchmarks.md"
SAMPLE_CORPUS = REPO / "corpus" / "sample"
FIXED_DATE = "2012-01-01T00:00:00Z"
"""StackFAQ has no dates; every post gets this one."""
ANONYMOUS = "stackfaq-anon"
"""StackFAQ has no authors; every post is written by this one member."""


# --------------------------------------------------------------------------- paths, timing


def data_dir(arg: str | Path | None) -> Path:
    """The evaluation data folder: ``arg`` if given, else ``../shared/data``; must exist."""
    path = Path(arg).expanduser().resolve() if arg else DEFAULT_DATA
    if not path.is_dir():
        sys.exit(f"evaluation data not found at {path} (pass --data DIR)")
    return path


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: ...`` then ``t["s"]`` holds the elapsed wall-clock seconds and
    ``t["cpu"]`` the CPU seconds of this process (all threads), which other load on a shared
    machine disturbs much less."""
    result = {"s": 0.0, "cpu": 0.0}
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result["s"] = time.perf_counter() - start
        result["cpu"] = time.process_time() - cpu


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write ``rows`` as JSONL; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """``query id -> {target id: grade}`` from a TSV with a header line (grade > 0 kept)."""
    qrels: dict[str, dict[str, float]] = defaultdict(dict)
    with path.open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for query_id, target, score in reader:
            if float(score) > 0:
                qrels[query_id][target] = float(score)
    return dict(qrels)


# --------------------------------------------------------------------------- caching embedder


class CachedEmbedder:
    """An :class:`retrieval.embedding.Embedder` that remembers every vector it computed.

    Vectors are kept in memory and on disk as ``CACHE_DIR/<model_id>/<hh>/<text hash>.npy``,
    so a benchmark rerun embeds nothing it embedded before. Not for the ingest benchmark,
    which measures real embedding work.
    """

    def __init__(self, inner: Any, cache_dir: Path = CACHE_DIR) -> None:
        self.inner = inner
        self.model_id: str = inner.model_id
        self.model_name: str = inner.model_name
        self.dimension: int = inner.dimension
        self.max_tokens: int = inner.max_tokens
        self.root = cache_dir / self.model_id
        self.memory: dict[str, np.ndarray] = {}
        self.computed = 0

    def count_tokens(self, text: str) -> int:
        """See :class:`retrieval.embedding.Embedder`."""
        return int(self.inner.count_tokens(text))

    def _file(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.npy"

    def _lookup(self, digest: str) -> np.ndarray | None:
        vector = self.memory.get(digest)
        if vector is None:
            file = self._file(digest)
            if file.exists():
                vector = np.load(file)
                self.memory[digest] = vector
        return vector

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """See :class:`retrieval.embedding.Embedder`; only unseen texts reach the model."""
        from retrieval.hashing import text_hash

        digests = [text_hash(t) for t in texts]
        missing = {d: t for d, t in zip(digests, texts, strict=True) if self._lookup(d) is None}
        if missing:
            vectors = self.inner.embed(list(missing.values()), batch_size=batch_size)
            self.computed += len(missing)
            for digest, vector in zip(missing, vectors, strict=True):
                self.memory[digest] = vector
                file = self._file(digest)
                file.parent.mkdir(parents=True, exist_ok=True)
                # write then rename: another process reading the shared cache never sees half a file
                part = file.with_name(f"{file.stem}.{os.getpid()}.part.npy")
                np.save(part, vector)
                os.replace(part, file)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, digest in enumerate(digests):
            out[row] = self.memory[digest]
        return out


def load_model() -> Any:
    """The product's default embedder (all-MiniLM-L6-v2 from its PyPI package)."""
    from retrieval.embedding import load_embedder

    return load_embedder(None)


# --------------------------------------------------------------------------- native format


def native_post(post_id: str, author: str, created: str, text: str, accepted: bool = False, score: int = 0) -> dict:
    """One post in the native threads JSONL format."""
    return {"id": post_id, "author": author, "created_at": created, "text": text, "reply_to": None,
            "accepted": accepted, "score": score}


def stackfaq_threads(data: Path, level: str) -> list[dict[str, Any]]:
    """StackFAQ as native threads.

    StackFAQ gives each thread's question only as a title (no body), and its answers. The
    question becomes the first post (its text is the title, as a Q&A question post would
    carry it) and each answer a reply:

    - ``thread``: one document per thread (id = corpus id), the question and all its answers;
    - ``answer``: one document per (question, answer) pair (id = answer-level corpus id),
      the question and that one answer, as in the paper's setup.
    """
    folder = data / "stackfaq"
    if level == "thread":
        answers: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in read_jsonl(folder / "answer_level" / "corpus.jsonl"):
            answers[row["thread"]].append((row["id"], row["text"]))
        return [
            _qa_thread(row["id"], row["title"], answers[row["id"]])
            for row in read_jsonl(folder / "corpus.jsonl")
        ]
    if level == "answer":
        return [
            _qa_thread(row["id"], row["title"], [(row["id"] + "-a", row["text"])])
            for row in read_jsonl(folder / "answer_level" / "corpus.jsonl")
        ]
    raise ValueError(f"unknown StackFAQ level {level!r} (thread or answer)")


def _qa_thread(doc_id: str, title: str, answers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    posts = [native_post(f"{doc_id}-q", ANONYMOUS, FIXED_DATE, title)]
    posts += [native_post(post_id, ANONYMOUS, FIXED_DATE, text) for post_id, text in answers]
    return {"id": doc_id, "title": title, "channel": "webapps", "url": "", "tags": [],
            "visibility": "public", "posts": posts}


def write_stackfaq(data: Path, level: str, folder: Path) -> Path:
    """Write StackFAQ at ``level`` as native JSONL (threads + members) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl([{"id": ANONYMOUS, "name": "StackFAQ author", "handles": {}, "opt_out": False}],
                folder / "members.jsonl")
    write_jsonl(stackfaq_threads(data, level), folder / f"stackfaq-{level}.jsonl")
    return folder


def parse_when(value: str) -> datetime:
    """A Stack Exchange date (naive, UTC) as an aware datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cardano_thread(raw: dict[str, Any], before: datetime | None = None) -> dict[str, Any]:
    """One cardano.stackexchange thread as a native thread.

    The question post keeps the question's id (Stack Exchange post ids are unique across
    questions and answers). With ``before``, answers written at or after it are left out, so
    a time-split index holds only what was known at that date.
    """
    question = raw["question"]
    asker = question.get("author") or "deleted"
    posts = [native_post(raw["thread_id"], asker, question["created"] + "Z", question["text"],
                         score=int(question.get("score") or 0))]
    for answer in raw["answers"]:
        if before is not None and parse_when(answer["created"]) >= before:
            continue
        posts.append(native_post(
            answer["id"], answer.get("author") or "deleted", answer["created"] + "Z", answer["text"],
            accepted=bool(answer.get("accepted")), score=int(answer.get("score") or 0),
        ))
    return {"id": raw["thread_id"], "title": raw["title"], "channel": "cardano", "url": raw.get("url", ""),
            "tags": list(raw.get("tags") or []), "visibility": "public", "posts": posts}


def cardano_members(data: Path) -> list[dict[str, Any]]:
    """Stack Exchange users as native members (plus ``deleted`` for posts without an author)."""
    rows = [{"id": u["id"], "name": u.get("display_name") or u["id"], "handles": {"stackexchange": u["id"]},
             "opt_out": False} for u in read_jsonl(data / "stackexchange-cardano" / "users.jsonl")]
    if not any(r["id"] == "deleted" for r in rows):
        rows.append({"id": "deleted", "name": "deleted user", "handles": {}, "opt_out": False})
    return rows


def use_backend(name: str) -> None:
    """Build and open the benchmark's indexes with storage backend ``name`` (as
    ``TOWNSQUARE_BACKEND`` does for the product)."""
    from app.settings import get_settings

    os.environ["TOWNSQUARE_BACKEND"] = name
    get_settings.cache_clear()


def index_dir(path: Path) -> Any:
    """An :class:`~retrieval.index.IndexDir` at ``path`` with the configured backend."""
    from app.settings import get_settings
    from retrieval.index import IndexDir

    return IndexDir(path, get_settings().backend_config())


def ingest_or_fail(paths: list[Path], index: Path, embedder: Any, batch_size: int = 32) -> Any:
    """Run the real ingest pipeline; any error-level problem aborts the benchmark."""
    from ingest.pipeline import ingest

    summary = ingest(paths, index_dir(index), embedder, batch_size=batch_size)
    if summary.errors:
        problems = "\n".join(str(p) for p in summary.problems if p.level == "error")
        raise SystemExit(f"ingest into {index} reported errors:\n{problems}")
    return summary


# --------------------------------------------------------------------------- metrics


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with the exponential gain ``2^g - 1``."""
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    """nDCG@k of a ranking against graded relevance."""
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevant.get(item, 0.0) for item in ranked[:k]]) / ideal


def mrr_at(ranked: Sequence[str], relevant: dict[str, float], k: int | None = None) -> float:
    """Reciprocal rank of the first relevant item within the top ``k`` (0 when none)."""
    for rank, item in enumerate(ranked[:k] if k else ranked, start=1):
        if relevant.get(item, 0) > 0:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    """Share of the relevant items found in the top ``k``."""
    wanted = {item for item, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def precision_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    """Share of the top ``k`` that is relevant."""
    return sum(relevant.get(item, 0) > 0 for item in ranked[:k]) / k


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean (0 for no values)."""
    items = list(values)
    return sum(items) / len(items) if items else 0.0


@dataclass
class Paired:
    """A paired comparison of two systems' per-query scores."""

    mean_diff: float
    wins: int
    losses: int
    ties: int
    p_value: float


def paired(a: Sequence[float], b: Sequence[float], rounds: int = 2000, seed: int = 7) -> Paired:
    """Mean of ``a - b`` with a two-sided paired randomisation (sign-flip) test."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    observed = abs(diff.mean()) if len(diff) else 0.0
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(rounds, len(diff)))
    extreme = int((np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12).sum())
    return Paired(
        mean_diff=float(diff.mean()) if len(diff) else 0.0, wins=int((diff > 1e-9).sum()),
        losses=int((diff < -1e-9).sum()), ties=int((np.abs(diff) <= 1e-9).sum()),
        p_value=(extreme + 1) / (rounds + 1),
    )


# --------------------------------------------------------------------------- results file


def machine_info() -> str:
    """One line describing the machine and the main library versions."""
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        memory = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, AttributeError):
        memory = "RAM unknown"
    versions = []
    for name in ("torch", "sentence_transformers", "faiss"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    import sqlite3

    return (f"{cpu}, {os.cpu_count()} cores, {memory}, no GPU; Python {platform.python_version()}, "
            f"{', '.join(versions)}, SQLite {sqlite3.sqlite_version}")


def section_header(title: str, command: str) -> str:
    """The standard heading lines of a results section: date, command and machine."""
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"## {title}\n\n- run: {today}\n- command: `{command}`\n- machine: {machine_info()}\n"
            f"- load average when the results were written (1, 5, 15 min): {load} — the machine is shared, "
            "so timings include other work\n")


def write_section(name: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace the section between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.

    Creates the file (with a title) or appends the section when it is missing, so each
    benchmark rewrites only its own part.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else (
        "# Benchmarks\n\nWritten by the scripts in `bench/` (see `bench/README.md`); each script "
        "rewrites only its own section.\n"
    )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; floats are printed with three decimals."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def vector_kind(index: Path) -> str:
    """The vector index kind of ``index``'s served snapshot (its manifest's ``vector_kind``)."""
    from retrieval.index import IndexDir

    current = IndexDir(index).current_path()
    assert current is not None, f"{index}: no current snapshot"
    return str(json.loads((current / "manifest.json").read_text())["vector_kind"])
