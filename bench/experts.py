"""Expert finding on three dev communities, with weights chosen across sites (issue 13).

Sites and splits (see ``bench/experts_data.py``): cardano.stackexchange by time (50/70/85%
cuts; answers and comments before the cut indexed), team2box_dba and team2box_physics by
question id (80/20; no answer texts, no comments, and no dates: posts are dated by their id
over the site's life span, an ordinal clock of the bench only). Each split is indexed through
the real ingest into a temp folder; each test question (title + body) is searched (hybrid,
``collapse=False``, ``EXPERT_HITS``) and its candidates' features are computed by
``retrieval.experts.candidates`` (clock: the question's date, measured from the index's last
activity when the question is later, as serving that index would be). Features are cached in
``var/bench-experts/`` (embeddings in ``var/bench-cache/``), so a rerun only re-tunes.

Candidates: the contributors of the retrieved threads (commenters included), the leading
answerers (all time and in the activity window), the most active answerers of the index's
last 30 days, and the members whose topical profiles (``retrieval.experts_profiles``:
everything they answered) are closest to the question. Features: model 2 evidence, answers,
recent activity, accepted share, mean answer score, volume, profile cosine, history evidence
(model 2 over everything they answered; decayed over a year and over a month), tag score,
newcomer (decay of the age of their first answer), idle days (since their latest answer).

Systems: popularity (most answers in the indexed part), plain model 2 (no roles, recency or
priors), Townsquare with the shipped ``DEFAULT_WEIGHTS``, and — the honest out-of-site figure —
Townsquare with weights chosen on the *other two* sites (grid search on MRR, and a logistic
regression, whichever scores better on those two). Metrics MRR@10, P@1, nDCG@3; p-values of a
paired randomisation test (and Wilcoxon signed-rank) against popularity.

    .venv/bin/python bench/experts.py [--data DIR] [--no-write] [--refresh]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import pickle
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import (  # noqa: E402
    REPO,
    CachedEmbedder,
    data_dir,
    load_model,
    mean,
    paired,
    section_header,
    table,
    timer,
    write_section,
)
from bench.experts_ceiling import ceiling_notes  # noqa: E402
from bench.experts_data import SITES, Question, Task, cardano_task, collect, team2box_task  # noqa: E402
from bench.experts_rank import (  # noqa: E402
    Packed,
    candidate_recall,
    fast_mrr,
    fit_logistic,
    fit_pairwise,
    grid_mrr,
    linear,
    metrics,
    pack,
    plain_model_2,
    popularity,
)

CACHE = REPO / "var" / "bench-experts"
FEATURES_VERSION = 11
GRID = {
    "answering": (0.0, 1.0, 2.0),
    "recent": (0.0, 1.0, 2.0),
    "accepted_share": (0.0, 1.0),
    "received": (0.0, 0.5),
    "volume": (-0.5, 0.0),
    "profile": (0.0, 2.0),
    "history": (0.0, 0.5, 1.0),
    "recent_history": (0.0, 0.5, 1.0),
    "tags": (0.0, 0.5, 1.0),
    "newcomer": (0.0,),
    "idle": (0.0, -0.5, -1.0, -2.0),
}
"""Hand-weight grid (topical weight 1). ``newcomer`` got 0 in every fold of the 2026-12-01 run
with (0, 1, 2), so it is held at 0 to keep the grid's size when ``idle`` joined."""
Unit = tuple[Task, list[Question]]


def tasks(data: Path, limits: dict[str, int], comments: bool = True) -> list[Task]:
    """Every (site, split) of the evaluation (a team2box site in ``limits``: its first that
    many question ids; cardano without its comments unless ``comments``)."""
    return [cardano_task(data, q, comments) for q in (0.5, 0.7, 0.85)] + [
        team2box_task(data, s, limit=limits.get(s)) for s in SITES[1:]]


def collect_weights(args: argparse.Namespace) -> Any:
    """The weights candidates are collected under: the shipped ones, with the chance level
    and the number of prior candidates given on the command line."""
    from retrieval.experts_model import DEFAULT_WEIGHTS

    changes = {"min_similarity": args.min_similarity, "prior_candidates": args.prior_candidates,
               "profile_candidates": args.profile_candidates, "recent_candidates": args.recent_candidates}
    return replace(DEFAULT_WEIGHTS, **{k: v for k, v in changes.items() if v is not None})


def cache_key(task: Task, depth: int, weights: Any) -> str:
    """Cache file of a task's questions. Bump :data:`FEATURES_VERSION` when the feature code
    changes (the combination weights do not matter: features are stored before combining)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in task.split)
    setup = (f"d{depth}-floor{weights.min_similarity:g}-prior{weights.prior_candidates}"
             f"-profile{weights.profile_candidates}-recent{weights.recent_candidates}")
    return f"{task.site}-{slug}-{len(task.test)}-v{FEATURES_VERSION}-{setup}.pkl"


@functools.cache
def embedder() -> CachedEmbedder:
    """The model behind a disk cache of embeddings, loaded on first need."""
    return CachedEmbedder(load_model())


def questions_of(task: Task, refresh: bool, depth: int, weights: Any) -> list[Question]:
    """The task's questions with features, from the cache or computed."""
    file = CACHE / cache_key(task, depth, weights)
    if file.exists() and not refresh:
        return list(pickle.loads(file.read_bytes()))
    with timer() as t:
        found = collect(task, embedder(), depth, weights)
    print(f"{task.site} {task.split}: {len(task.train)} threads, {len(found)} questions ({t['s']:.0f} s)", flush=True)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(pickle.dumps(found))
    return found


def site_mrr(units: list[Unit], packs: list[Packed], coefficients: np.ndarray, base: dict[int, float]) -> float:
    """Geometric mean over sites of (mean over the site's splits of MRR / popularity MRR)."""
    ratios: dict[str, list[float]] = {}
    for i, ((task, _), p) in enumerate(zip(units, packs, strict=True)):
        ratios.setdefault(task.site, []).append(fast_mrr(p, coefficients) / max(base[i], 1e-9))
    return float(np.exp(np.mean([np.log(max(mean(r), 1e-9)) for r in ratios.values()])))


def grid_search(units: list[Unit], packs: list[Packed], base: dict[int, float]) -> tuple[np.ndarray, float]:
    """The grid point (topical weight 1) with the best :func:`site_mrr` on ``units`` (the
    first such point in grid order on ties; all points scored at once by :func:`grid_mrr`)."""
    points = np.array([[1.0, *values] for values in itertools.product(*GRID.values())])
    ratios: dict[str, list[np.ndarray]] = {}
    for i, ((task, _), p) in enumerate(zip(units, packs, strict=True)):
        ratios.setdefault(task.site, []).append(grid_mrr(p, points) / max(base[i], 1e-9))
    logs = [np.log(np.maximum(np.mean(r, axis=0), 1e-9)) for r in ratios.values()]
    value = np.exp(np.mean(logs, axis=0))
    best = int(np.argmax(value))
    return points[best], float(value[best])


KINDS = ("grid", "logistic", "pairwise")
"""Ways to choose the combination: hand weights on a grid, pointwise or pairwise logistic regression."""


def fit_kind(kind: str, units: list[Unit], packs: list[Packed], base: dict[int, float]) -> np.ndarray:
    """The coefficients ``kind`` chooses on ``units``."""
    if kind == "grid":
        return grid_search(units, packs, base)[0]
    if kind == "logistic":
        return fit_logistic(packs)
    return fit_pairwise(packs)  # site-balanced (sites=...) did worse held out: 0.955


def cross_site(units: list[Unit], packs: list[Packed], base: dict[int, float]) -> dict[str, dict[str, np.ndarray]]:
    """For each site and kind, the coefficients chosen on the *other two* sites."""
    fitted: dict[str, dict[str, np.ndarray]] = {}
    for site in SITES:
        train = [i for i, (t, _) in enumerate(units) if t.site != site]
        train_base = {j: base[i] for j, i in enumerate(train)}
        fitted[site] = {kind: fit_kind(kind, [units[i] for i in train], [packs[i] for i in train], train_base)
                        for kind in KINDS}
    return fitted


def held_out_value(units: list[Unit], packs: list[Packed], base: dict[int, float],
                   fitted: dict[str, dict[str, np.ndarray]], kind: str) -> float:
    """:func:`site_mrr` where every unit is ranked by ``kind`` fitted without its site."""
    ratios: dict[str, list[float]] = {}
    for i, ((task, _), p) in enumerate(zip(units, packs, strict=True)):
        ratios.setdefault(task.site, []).append(fast_mrr(p, fitted[task.site][kind]) / max(base[i], 1e-9))
    return float(np.exp(np.mean([np.log(max(mean(r), 1e-9)) for r in ratios.values()])))


def wilcoxon_p(a: list[float], b: list[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired scores (1.0 when all equal)."""
    from scipy.stats import wilcoxon

    if all(abs(x - y) < 1e-12 for x, y in zip(a, b, strict=True)):
        return 1.0
    return float(wilcoxon(a, b, zero_method="wilcox").pvalue)


SHIPPED, HELD_OUT = "Townsquare (shipped ranker)", "Townsquare (fitted without this site)"


def systems(task: Task, questions: list[Question], shipped: np.ndarray,
            held_out: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """Per-question metrics of every system on one unit."""
    ranked = {
        "popularity": [popularity(task, q.asker) for q in questions],
        "plain model 2": [plain_model_2(q) for q in questions],
        SHIPPED: [linear(tuple(shipped))(q) for q in questions],
        HELD_OUT: [linear(tuple(held_out))(q) for q in questions],
    }
    return {name: metrics(r, questions) for name, r in ranked.items()}


def report_rows(task: Task, n: int, scores: dict[str, dict[str, list[float]]]) -> list[tuple[object, ...]]:
    """Table rows of one unit: each system's means, ratio and p-values against popularity."""
    base = scores["popularity"]
    rows = []
    for name, s in scores.items():
        ratio = mean(s["mrr"]) / max(mean(base["mrr"]), 1e-9)
        test = paired(s["mrr"], base["mrr"])
        p = "-" if name == "popularity" else f"{test.p_value:.3f} / {wilcoxon_p(s['mrr'], base['mrr']):.3f}"
        rows.append((task.site, task.split, n, name, mean(s["mrr"]), f"{ratio:.2f}x", mean(s["p@1"]),
                     mean(s["ndcg@3"]), p))
    return rows


def verdict(task: Task, scores: dict[str, dict[str, list[float]]]) -> str:
    """One line per unit: MRR ratios to popularity against the 1.3x target."""
    base = max(mean(scores["popularity"]["mrr"]), 1e-9)
    parts = []
    for name in (SHIPPED, HELD_OUT):
        ratio = mean(scores[name]["mrr"]) / base
        target = "meets 1.3x" if ratio >= 1.3 else "above popularity, MISSES 1.3x" if ratio >= 1 else "BELOW popularity"
        parts.append(f"{name.removeprefix('Townsquare ')} {ratio:.2f}x ({target})")
    return f"  - {task.site} {task.split}: " + "; ".join(parts)


def evaluate(
    units: list[Unit], shipped: np.ndarray | None,
) -> tuple[list[tuple[object, ...]], list[str], str, np.ndarray]:
    """Cross-site evaluation. Every kind is fitted on two sites and scored on the third; the
    kind with the best held-out score is fitted on all three (the candidate ranker). The table
    shows popularity, plain model 2, ``shipped`` (default: that candidate) and the chosen kind
    fitted without the unit's site. Returns rows, notes, the kind and its all-sites fit."""
    packs = [pack(q) for _, q in units]
    base = {i: mean(metrics([popularity(t, q.asker) for q in qs], qs)["mrr"]) for i, (t, qs) in enumerate(units)}
    fitted = cross_site(units, packs, base)
    values = {kind: held_out_value(units, packs, base, fitted, kind) for kind in KINDS}
    kind = max(KINDS, key=lambda k: values[k])
    candidate = fit_kind(kind, units, packs, base)
    shipped = candidate if shipped is None else shipped
    notes = ["- held-out MRR / popularity (geometric mean over sites, each fitted on the other two): "
             + ", ".join(f"{k} {v:.3f}" for k, v in values.items()) + f"; chosen: {kind}"]
    rows = []
    for site in SITES:
        notes.append(f"- {site}: {kind} fitted on the other two sites: {np.round(fitted[site][kind], 3).tolist()}")
        for task, questions in (u for u in units if u[0].site == site):
            scores = systems(task, questions, shipped, fitted[site][kind])
            rows += report_rows(task, len(questions), scores)
            notes.append(verdict(task, scores) + f"; a real answerer among the candidates: "
                         f"{candidate_recall(questions):.0%}")
    notes.append(f"- {kind} fitted on all three sites: {np.round(candidate, 3).tolist()}; shipped: "
                 f"{np.round(shipped, 3).tolist()} (coefficients of Features.vector: log evidence, answers, "
                 "recent, accepted share, received, volume, profile, history, recent history, tags, newcomer, idle)")
    return rows, notes + ceiling_notes(units, packs, base), kind, candidate


def write_ranker(kind: str, coefficients: np.ndarray, weights: Any, command: str) -> None:
    """Write the shipped ranker file (``retrieval/experts_ranker.json``)."""
    import json

    from retrieval.experts_model import RANKER_FILE

    data = {
        "about": "The shipped combination of expert-ranking features (retrieval/experts_model.py). Coefficients "
                 "follow Features.vector(): log(evidence + 0.01), log(1 + answers), log(1 + recent activity), "
                 "accepted share, log(1 + mean answer score), log(1 + documents), profile cosine, "
                 "log(1 + history evidence), log(1 + recent history evidence), log(1 + tag score), newcomer, "
                 "log(1 + idle days). Chosen by "
                 "cross-site validation (fit on two dev sites, score on the third); see docs/benchmarks.md.",
        "coefficients": [round(float(x), 4) for x in coefficients],
        "prior_candidates": weights.prior_candidates,
        "profile_candidates": weights.profile_candidates,
        "recent_candidates": weights.recent_candidates,
        "min_similarity": weights.min_similarity,
        "kind": kind,
        "fitted_on": "cardano (time 50/70/85%), team2box_dba, team2box_physics (80/20 by id)",
        "command": command,
    }
    RANKER_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Collect (or load) every unit's features, evaluate across sites, write the section."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="evaluation data folder (default ../shared/data)")
    parser.add_argument("--refresh", action="store_true", help="recompute features even when cached")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--collect", help='only compute and cache the splits whose "site split" starts with one '
                        'of these (comma-separated, e.g. "team2box_dba" or "cardano time 85"): parallel processes')
    parser.add_argument("--limit", action="append", default=[], metavar="SITE=N",
                        help="a team2box site: only its first N question ids (embedding time; default: all)")
    parser.add_argument("--min-similarity", type=float, help="another chance-level similarity than the shipped one")
    parser.add_argument("--prior-candidates", type=int, help="another number of prior candidates than the shipped one")
    parser.add_argument("--profile-candidates", type=int,
                        help="another number of profile candidates than the shipped one")
    parser.add_argument("--recent-candidates", type=int,
                        help="another number of recent-answerer candidates than the shipped one")
    parser.add_argument("--no-comments", action="store_true",
                        help="index cardano without its dump's comments (an ablation)")
    parser.add_argument("--depth", type=int, help="chunk hits per question (default: EXPERT_HITS)")
    parser.add_argument("--write-ranker", action="store_true",
                        help="write the chosen ranker (and the collect setup) to retrieval/experts_ranker.json")
    args = parser.parse_args(argv)
    from retrieval.experts import EXPERT_HITS
    from retrieval.experts_model import DEFAULT_WEIGHTS

    command = ".venv/bin/python bench/experts.py " + " ".join(argv if argv is not None else sys.argv[1:])
    depth, weights = args.depth or EXPERT_HITS, collect_weights(args)
    limit = {site: int(n) for site, n in (item.split("=") for item in args.limit)}
    if args.collect:
        for task in tasks(data_dir(args.data), limit, not args.no_comments):
            if any(f"{task.site} {task.split}".startswith(part) for part in args.collect.split(",")):
                questions_of(task, args.refresh, depth, weights)
        return
    with timer() as total:
        units = [(t, questions_of(t, args.refresh, depth, weights))
                 for t in tasks(data_dir(args.data), limit, not args.no_comments)]
        shipped = None if args.write_ranker else np.array(DEFAULT_WEIGHTS.combination())
        rows, notes, kind, candidate = evaluate(units, shipped)
        if args.write_ranker:
            write_ranker(kind, candidate, weights, command)
    body = "\n".join([
        section_header("Expert finding across communities (issue 13)",
                       command),
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        "",
        table(["site", "split", "questions", "system", "MRR@10", "MRR / popularity", "P@1", "nDCG@3",
               "p vs popularity (randomisation / Wilcoxon)"], rows),
        "",
        *notes,
        f"\nRun time {total['s'] / 60:.1f} min.",
    ])
    print(body)
    if not args.no_write:
        write_section("experts", body)


if __name__ == "__main__":
    main()
