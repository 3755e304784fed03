"""What bounds expert finding on a site, for the notes of bench/experts.py (issue 13).

- *candidate recall*: the share of questions with a real answerer among the candidates; no
  ordering of the candidates does better, so it is also the MRR of an oracle that puts a real
  answerer first whenever there is one;
- *missed answerers*: for the questions whose answerers are all outside the candidates, how
  much history the best-known of them had in the index (answers before the split) and, on
  dated sites, whether their first answer came in the last :data:`NEW_DAYS` days of it;
- *in-sample fit*: the best linear ranker fitted on the site's own splits and scored on them
  (not shipped, not held out: an upper bound for linear combinations of these features);
- *boosted trees held out*: scikit-learn's histogram gradient boosting (a learned non-linear
  ranker) fitted on the other two sites and scored on this one, as the linear kinds are;
- *over-fitted linear bound*: the best of :data:`RANDOM_POINTS` random coefficient vectors
  chosen by MRR on the split itself and scored on it (each split gets its own: an optimistic
  bound for any linear combination of these features there, not a method);
- *boosted trees within the split*: the same trees with :data:`FOLDS`-fold cross-validation
  over the split's own questions (trained on questions of the same months and the same
  members: optimistic for a non-linear ranker learned on the site itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from bench.common import parse_when
from bench.experts_data import Question, Task
from bench.experts_rank import Packed, candidate_recall, fast_mrr, fit_logistic, fit_pairwise, grid_mrr

NEW_DAYS = 30
"""An answerer whose first answer came this many days before the index's last answer is new."""


RANDOM_POINTS = 20_000
"""Random coefficient vectors (standard normal; the evidence weight kept >= 0) of the bound."""
FOLDS = 5
"""Folds of the within-split cross-validation of the boosted trees."""


def history_bucket(answers: int) -> str:
    """The bucket of a member's answer count in the index."""
    return "1 answer" if answers == 1 else "2 answers" if answers == 2 else "3-9" if answers < 10 else "10+"


def first_answers(task: Task) -> dict[str, str]:
    """Each answerer's first answer date in the indexed part (ISO; dated sites only)."""
    first: dict[str, str] = {}
    for thread in task.train:
        for post in thread["posts"][1:]:
            when = None if post.get("comment") else post.get("created_at")
            if when and (post["author"] not in first or when < first[post["author"]]):
                first[post["author"]] = when
    return first


def missed(task: Task, questions: Sequence[Question]) -> str:
    """One line on the questions none of whose answerers is a candidate."""
    out = [q for q in questions if not any(m in q.relevant for m in q.members)]
    if not out:
        return "no question missed"
    buckets: Counter[str] = Counter()
    new = 0
    first = first_answers(task)
    end = max(first.values()) if first else None
    for q in out:
        best = max((m for m in q.relevant if m in task.answer_counts), key=lambda m: task.answer_counts[m])
        buckets[history_bucket(task.answer_counts[best])] += 1
        if end and best in first and parse_when(first[best]) >= parse_when(end) - timedelta(days=NEW_DAYS):
            new += 1
    parts = ", ".join(f"{k} {buckets[k]}" for k in ("1 answer", "2 answers", "3-9", "10+") if buckets[k])
    newcomers = f"; first answer in the index's last {NEW_DAYS} days: {new}" if end else ""
    return f"{len(out)} questions missed; their best-known answerer had {parts}{newcomers}"


def in_sample(packs: Sequence[Packed], base: Sequence[float]) -> list[float]:
    """MRR / popularity per pack of the better (by mean ratio) of the pairwise and pointwise
    logistic rankers fitted on all of ``packs`` themselves."""
    best: list[float] = []
    for fit in (fit_pairwise, fit_logistic):
        coefficients = fit(packs)
        ratios = [fast_mrr(p, coefficients) / max(b, 1e-9) for p, b in zip(packs, base, strict=True)]
        if not best or np.mean(ratios) > np.mean(best):
            best = ratios
    return best


def boosted_mrr(train: Sequence[Packed], test: Packed, k: int = 10) -> float:
    """MRR@k on ``test`` of gradient-boosted trees (pointwise: did this candidate answer?)
    fitted on the candidates of ``train``."""
    return float(boosted_reciprocal_ranks(train, test, k).mean()) if len(test.mask) else 0.0


def boosted_reciprocal_ranks(train: Sequence[Packed], test: Packed, k: int = 10) -> np.ndarray:
    """Reciprocal rank (0 beyond ``k``) per question of ``test``, shape (Q,), under the trees
    of :func:`boosted_mrr`."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.concatenate([p.features[p.mask] for p in train])
    y = np.concatenate([p.relevance[p.mask] > 0 for p in train])
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=7,
                                           min_samples_leaf=50, random_state=0).fit(x, y)
    scores = np.full(test.mask.shape, -np.inf)
    scores[test.mask] = model.predict_proba(test.features[test.mask])[:, 1]
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(test.relevance, order, axis=1) > 0
    return np.where(hits.any(axis=1), 1.0 / (hits.argmax(axis=1) + 1), 0.0)


def subset(pack: Packed, rows: np.ndarray) -> Packed:
    """The questions ``rows`` of ``pack``."""
    return Packed(pack.features[rows], pack.relevance[rows], pack.mask[rows])


def boosted_within(pack: Packed, k: int = 10) -> float:
    """MRR@k of the trees under :data:`FOLDS`-fold cross-validation over ``pack``'s questions
    (seeded shuffle): each question is ranked by trees fitted on the other folds."""
    order = np.random.default_rng(0).permutation(len(pack.mask))
    ranks = np.zeros(len(pack.mask))
    for fold in np.array_split(order, FOLDS):
        rest = np.setdiff1d(order, fold)
        ranks[fold] = boosted_reciprocal_ranks([subset(pack, rest)], subset(pack, fold), k)
    return float(ranks.mean())


def overfitted_linear(pack: Packed) -> float:
    """The best MRR@10 on ``pack`` of :data:`RANDOM_POINTS` seeded random coefficient vectors,
    chosen on ``pack`` itself (see the module docstring)."""
    points = np.random.default_rng(0).normal(size=(RANDOM_POINTS, pack.features.shape[2]))
    points[:, 0] = np.abs(points[:, 0])
    return float(grid_mrr(pack, points).max())


def ceiling_notes(units: Sequence[tuple[Task, list[Question]]], packs: Sequence[Packed],
                  base: dict[int, float]) -> list[str]:
    """The notes' ceiling lines, one per unit."""
    notes = ["- ceiling (what bounds each unit; see ``bench/experts_ceiling.py``):"]
    sites = sorted({t.site for t, _ in units})
    for site in sites:
        mine = [i for i, (t, _) in enumerate(units) if t.site == site]
        others = [packs[i] for i, (t, _) in enumerate(units) if t.site != site]
        fitted = in_sample([packs[i] for i in mine], [base[i] for i in mine])
        for i, ratio in zip(mine, fitted, strict=True):
            task, questions = units[i]
            boosted = boosted_mrr(others, packs[i]) / max(base[i], 1e-9)
            bound = overfitted_linear(packs[i]) / max(base[i], 1e-9)
            within = boosted_within(packs[i]) / max(base[i], 1e-9)
            notes.append(
                f"  - {site} {task.split}: candidate recall (= oracle MRR over the candidates) "
                f"{candidate_recall(questions):.0%} ({candidate_recall(questions) / max(base[i], 1e-9):.2f}x "
                f"popularity); best linear ranker fitted in-sample on {site} alone {ratio:.2f}x; boosted trees "
                f"fitted on the other sites {boosted:.2f}x; over-fitted linear bound {bound:.2f}x; boosted trees "
                f"within the split ({FOLDS}-fold) {within:.2f}x; {missed(task, questions)}")
    return notes
