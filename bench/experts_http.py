"""Expert suggestions as a new user would check them (issue 13, "How we will check it").

A real Stack Exchange site's own dump (``stackexchange-cardano/dump``: Posts, Comments, Users,
PostLinks, Tags as published) is cut at a date: only rows created before it are kept (a
question's later answers and comments had not been written yet), and that copy is ingested
through the Stack Exchange loader, dates and all (old dates: the serving clock is the archive's
own last day). ``townsquare serve`` then answers ``GET /experts?q=<title and body>&k=10`` over
HTTP for every question asked after the cut whose answerers include someone who had answered
before it. The ranking is compared with "most active answerers" of the site's history before
the cut (the asker removed): MRR@10, P@1, nDCG@3, and a paired randomisation test.

    .venv/bin/python bench/experts_http.py [--split 0.7] [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    CachedEmbedder,
    data_dir,
    ingest_or_fail,
    load_model,
    mean,
    mrr_at,
    ndcg_at,
    paired,
    precision_at,
    read_jsonl,
    read_qrels,
    section_header,
    table,
    timer,
    write_section,
)
from bench.experts_data import question_text  # noqa: E402
from tests.api_server import serve_api  # noqa: E402

SITE_FOLDER = "cardano.stackexchange.com"
DUMP_FILES = ("Posts", "Comments", "Users", "PostLinks", "Tags")
CREATED = re.compile(r'CreationDate="([^"]+)"')
ROW_ID = re.compile(r'\bId="(\d+)"')
POST_OF = re.compile(r'\bPostId="(\d+)"')
USER_ID = re.compile(r"/users/(\d+)$")
KEY = "bench-experts-http-key"


def cut_dump(dump: Path, cut: str, folder: Path) -> Path:
    """Copy ``dump`` into ``folder/SITE_FOLDER`` keeping only posts and comments created
    before ``cut`` (ISO), and links between kept posts; Users and Tags whole. The dump files
    hold one ``<row .../>`` per line, so lines are filtered as text."""
    out = folder / SITE_FOLDER
    out.mkdir(parents=True)
    kept: set[str] = set()
    for name in DUMP_FILES:
        lines = (dump / f"{name}.xml").read_text(encoding="utf-8-sig").splitlines()
        with (out / f"{name}.xml").open("w", encoding="utf-8") as f:
            for line in lines:
                f.write(line + "\n") if keep(name, line, cut, kept) else None
    return out


def keep(name: str, line: str, cut: str, kept: set[str]) -> bool:
    """Whether a dump line survives the cut (non-row lines always do)."""
    if "<row " not in line:
        return True
    created = CREATED.search(line)
    if name == "Posts":
        ok = bool(created and created.group(1) < cut)
        if ok and (found := ROW_ID.search(line)):
            kept.add(found.group(1))
        return ok
    if name == "Comments":
        return bool(created and created.group(1) < cut)
    if name == "PostLinks":
        post, related = POST_OF.search(line), re.search(r'RelatedPostId="(\d+)"', line)
        return bool(post and related and post.group(1) in kept and related.group(1) in kept)
    return True


def user_of(member_id: str) -> str | None:
    """The Stack Exchange user id behind a member id (``...cardano/users/42`` -> ``42``)."""
    found = USER_ID.search(member_id)
    return found.group(1) if found else None


def ask_all(url: str, questions: list[dict], k: int = 10) -> list[list[str]]:
    """``GET /experts`` for every question; the user ids suggested, best first."""
    out = []
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=300) as client:
        for thread in questions:
            reply = client.get("/experts", params={"q": question_text(thread)[:10_000], "k": k + 1})
            reply.raise_for_status()
            users = [user_of(e["member_id"]) for e in reply.json()["experts"]]
            asker = thread["question"].get("author")
            out.append([u for u in users if u and u != asker][:k])
    return out


def score(rankings: list[list[str]], questions: list[dict], qrels: dict[str, dict[str, float]]) -> dict[str, list]:
    """MRR@10, P@1, nDCG@3 per question."""
    out: dict[str, list[float]] = {"mrr": [], "p@1": [], "ndcg@3": []}
    for ranked, thread in zip(rankings, questions, strict=True):
        relevant = qrels[thread["thread_id"]]
        out["mrr"].append(mrr_at(ranked, relevant, 10))
        out["p@1"].append(precision_at(ranked, relevant, 1))
        out["ndcg@3"].append(ndcg_at(ranked, relevant, 3))
    return out


def main(argv: list[str] | None = None) -> None:
    """Cut, ingest, serve, ask, compare with the most active answerers, write the section."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--split", type=float, default=0.7, help="share of the questions before the cut")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    folder = data_dir(args.data) / "stackexchange-cardano"
    threads = sorted(read_jsonl(folder / "threads.jsonl"), key=lambda t: t["question"]["created"])
    cut = threads[int(len(threads) * args.split)]["question"]["created"]
    qrels = read_qrels(folder / "expert_qrels.tsv")
    before = [t for t in threads if t["question"]["created"] < cut]
    counts = Counter(a["author"] for t in before for a in t["answers"]
                     if a.get("author") and a["created"] < cut)
    asked = [t for t in threads if t["question"]["created"] >= cut
             and any(m in counts for m in qrels.get(t["thread_id"], {}))]
    popular = [m for m, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    with timer() as total, tempfile.TemporaryDirectory(prefix="bench-experts-http-") as tmp:
        dump = cut_dump(folder / "dump", cut, Path(tmp))
        ingest_or_fail([dump], Path(tmp) / "index", CachedEmbedder(load_model()))
        with serve_api(Path(tmp) / "index", {KEY: []}, Path(tmp) / "api.log") as url:
            ours = ask_all(url, asked)
    base = [[m for m in popular if m != t["question"].get("author")][:10] for t in asked]
    rows, scores = [], {"most active answerers": score(base, asked, qrels),
                        "Townsquare, GET /experts": score(ours, asked, qrels)}
    for name, s in scores.items():
        ratio = mean(s["mrr"]) / max(mean(scores["most active answerers"]["mrr"]), 1e-9)
        test = paired(s["mrr"], scores["most active answerers"]["mrr"])
        p = "-" if name.startswith("most") else f"{test.p_value:.3f} ({test.wins} wins, {test.losses} losses)"
        rows.append((name, mean(s["mrr"]), f"{ratio:.2f}x", mean(s["p@1"]), mean(s["ndcg@3"]), p))
    body = "\n".join([
        section_header("Expert suggestions over HTTP on a real Stack Exchange dump (issue 13)",
                       f".venv/bin/python bench/experts_http.py --split {args.split}"),
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        "",
        f"Cut {cut[:10]} ({args.split:.0%} of the questions before it); {len(asked)} later questions asked; "
        f"{sum(counts.values())} answers by {len(counts)} answerers before the cut.",
        "",
        table(["system", "MRR@10", "MRR / most active", "P@1", "nDCG@3", "p vs most active (randomisation)"], rows),
        f"\nRun time {total['s'] / 60:.1f} min.",
    ])
    print(body)
    if not args.no_write:
        write_section("experts-http", body)


if __name__ == "__main__":
    main()
