"""Where the writer check's thresholds come from: support scores of sentences that are and are
not supported by the passage they cite, on real passages.

Run: ``nice -n 19 .venv/bin/python -m bench.support_scores`` (writes the ``support`` section
of docs/benchmarks.md). Scores are those of :class:`retrieval.answer.citation_check.SupportChecker`
with the product's embedder: lexical support (share of the sentence's content words found in
the cited passage) and similarity (best cosine to the passage's sentences or whole text).

Sets:
- ``sample, supported`` / ``sample, unsupported``: 28 sentences written for this benchmark
  (``bench/data/written_claims.jsonl``) the way a writer model words them, about 8 real posts
  of the sample community: 14 faithful restatements, 14 plausible claims the post does not
  make (invented facts, contradictions, advice from elsewhere) citing that post.
- ``sample, wrong passage``: each supported sentence checked against the other posts of the
  set (a citation of the wrong passage).
- ``SemEval, shortened``: the longest sentence of a Good comment (Qatar Living, dev split)
  with every fourth word dropped, against its own comment (a writer abbreviating a passage).
- ``SemEval, same thread`` / ``other thread``: the longest sentence of another comment of the
  same thread, or of a Good comment of the next thread, against that comment.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable

import numpy as np

from bench.common import REPO, CachedEmbedder, load_model, section_header, table, write_section
from retrieval.answer.citation_check import Passage, SupportChecker, Thresholds
from retrieval.search import Hit

CLAIMS = REPO / "bench" / "data" / "written_claims.jsonl"
SAMPLE = REPO / "corpus" / "sample" / "threads"
SEMEVAL = REPO.parent / "shared" / "data" / "semeval2015-qatarliving" / "threads.jsonl"
LEXICAL = (0.3, 0.4, 0.5, 0.6, 0.7)
SIMILARITY = (0.4, 0.5, 0.55, 0.6, 0.7)
Scores = list[tuple[float, float]]


def passage(text: str) -> Passage:
    """``text`` as passage [1] (a hit with nothing else set)."""
    hit = Hit(0, "d", "thread", "p", "", "", "", "", text, 0, len(text), None, None, None, 0.0, 0.0)
    return Passage(1, hit)


def score(claim: str, text: str, embedder: CachedEmbedder) -> tuple[float, float]:
    """(lexical, similarity) of ``claim`` citing ``text``."""
    result = SupportChecker([passage(text)], embedder, Thresholds(2.0, 2.0)).check(claim + " [1]")
    return result.lexical, result.similarity


def passing_unsupported(embedder: CachedEmbedder, chosen: Thresholds) -> list[str]:
    """The written unsupported sentences that pass the check at ``chosen`` (its misses)."""
    posts = {p["id"]: p["text"] for f in SAMPLE.glob("*.jsonl") for line in f.read_text().splitlines()
             for p in json.loads(line)["posts"]}
    claims = [json.loads(line) for line in CLAIMS.read_text().splitlines()]
    out = []
    for c in (c for c in claims if not c["supported"]):
        lexical, similarity = score(c["claim"], posts[c["post_id"]], embedder)
        if lexical >= chosen.lexical and similarity >= chosen.similarity:
            out.append(f"{c['claim']} (lexical {lexical:.2f}, similarity {similarity:.2f})")
    return out


def sample_sets(embedder: CachedEmbedder) -> dict[str, Scores]:
    posts = {p["id"]: p["text"] for f in SAMPLE.glob("*.jsonl") for line in f.read_text().splitlines()
             for p in json.loads(line)["posts"]}
    claims = [json.loads(line) for line in CLAIMS.read_text().splitlines()]
    used = sorted({c["post_id"] for c in claims})
    sets: dict[str, Scores] = {"sample, supported": [], "sample, unsupported": [], "sample, wrong passage": []}
    for c in claims:
        key = "sample, supported" if c["supported"] else "sample, unsupported"
        sets[key].append(score(c["claim"], posts[c["post_id"]], embedder))
        if c["supported"]:
            sets["sample, wrong passage"] += [score(c["claim"], posts[p], embedder) for p in used if p != c["post_id"]]
    return sets


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) >= 6]


def semeval_sets(embedder: CachedEmbedder, limit: int) -> dict[str, Scores]:
    threads = [json.loads(line) for line in SEMEVAL.read_text().splitlines()]
    threads = [t for t in threads if t["split"] == "dev"][:limit]
    sets: dict[str, Scores] = {"SemEval, shortened": [], "SemEval, same thread": [], "SemEval, other thread": []}
    for i, thread in enumerate(threads):
        following = threads[(i + 1) % len(threads)]["answers"]
        elsewhere = [max(s, key=len) for a in following if a["label"] == "Good" and (s := sentences(a["text"]))]
        for answer in (a for a in thread["answers"] if a["label"] == "Good"):
            own = sentences(answer["text"])
            if not own:
                continue
            words = max(own, key=len).split()
            sets["SemEval, shortened"].append(score(" ".join(w for j, w in enumerate(words) if j % 4 != 3),
                                                    answer["text"], embedder))
            others = [max(s, key=len) for a in thread["answers"] if a is not answer and (s := sentences(a["text"]))]
            sets["SemEval, same thread"] += [score(s, answer["text"], embedder) for s in others[:2]]
            sets["SemEval, other thread"] += [score(s, answer["text"], embedder) for s in elsewhere[:1]]
    return sets


def quartiles(values: Iterable[float]) -> str:
    q = np.percentile(list(values), [10, 25, 50, 75, 90])
    return " / ".join(f"{v:.2f}" for v in q)


def report(sets: dict[str, Scores], chosen: Thresholds) -> str:
    rows = [(name, len(s), quartiles(a for a, _ in s), quartiles(b for _, b in s)) for name, s in sets.items()]
    lines = [table(["set", "n", "lexical p10 / p25 / p50 / p75 / p90", "similarity p10 / p25 / p50 / p75 / p90"], rows)]
    headers = ["lexical ≥", "similarity ≥", *(f"{name} passed" for name in sets)]
    grid = [(lex, sim, *(f"{np.mean([a >= lex and b >= sim for a, b in s]):.0%}" for s in sets.values()))
            for lex in LEXICAL for sim in SIMILARITY]
    lines += ["", "Share of each set that passes the check, per pair of thresholds (a supported set should "
              "pass, the others should not):", "", table(headers, grid)]
    lines += ["", f"Defaults (`retrieval.answer.citation_check.Thresholds`): lexical ≥ {chosen.lexical}, "
              f"similarity ≥ {chosen.similarity}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--semeval-threads", type=int, default=150)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    embedder = CachedEmbedder(load_model())
    sets = {**sample_sets(embedder), **semeval_sets(embedder, args.semeval_threads)}
    body = report(sets, Thresholds())
    misses = passing_unsupported(embedder, Thresholds())
    body += "\n\nUnsupported written sentences the defaults let through: " + ("; ".join(misses) or "none") + "."
    command = f"nice -n 19 .venv/bin/python -m bench.support_scores --semeval-threads {args.semeval_threads}"
    text = section_header("Writer check: support scores of supported and unsupported sentences", command) + "\n" + body
    print(text)
    if not args.no_write:
        write_section("support", text)


if __name__ == "__main__":
    main()

