"""How a candidate expert is scored: the features and the weights that combine them.

A candidate's score is a log-linear combination (equivalently: a product of powers)

    topical * log(evidence) + answering * log(1 + answers) + recent * log(1 + recent activity)
    + accepted_share * (smoothed share of answers accepted) + received * log(1 + mean answer score)
    + volume * log(1 + documents contributed to)
    + profile * (cosine of the question to the member's profile)
    + history * log(1 + model 2 evidence over everything they answered)
    + recent_history * log(1 + the same, decayed with the activity half-life)
    + tags * log(1 + expected answers carrying the question's tags)
    + newcomer * (decay of the age of the member's first answer)
    + idle * log(1 + days since the member's latest answer)

- *evidence* is Balog's model 2 over the retrieved documents (see
  :func:`retrieval.experts.evidence_by_member`): relevance x role x post score x recency;
- *answers*, *accepted*, *received score*, *documents* are the member's track record over
  everything the asker may see, up to the clock (:mod:`retrieval.experts_clock`);
- *recent activity* is their contributions decayed from the clock, or their volume on an
  undated clock;
- *profile* and *tags* come from everything they answered, retrieved or not
  (:mod:`retrieval.experts_profiles`);
- *newcomer* is 1 for a member whose first answer is as recent as the index's latest activity,
  halving every ``activity_half_life_days`` before it, 0 on undated data
  (:meth:`retrieval.experts_members.MemberFacts.newcomer`): on a young, churning community a
  member who has just started answering takes a share of the next weeks' questions with almost
  no history to recognise them by;
- *idle* is the days from the member's latest answer to the clock, capped at
  ``activity_window_days`` (the cap also for a member with no dated answer by then), 0 on an
  undated clock (:meth:`retrieval.experts_members.MemberFacts.idle`): a member who has not
  answered for months has often left, however many answers they gave before. Its weight is
  chosen with the others, so it is negative where that holds.

The combination is chosen with ``bench/experts.py`` on three communities (cardano by time,
team2box_dba and team2box_physics by id), with cross-site validation: hand weights (a grid)
and two learned linear rankers (pointwise and pairwise logistic regression) are each fitted on
two sites and scored on the third, and the kind that does best out of site is fitted on all
three and written to :data:`RANKER_FILE`, a small JSON file in the repository (coefficients,
the number of prior candidates, provenance). :data:`DEFAULT_WEIGHTS` is read from it; nothing
is fetched. Role weights, half-lives and the chance level were not tuned.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

EVIDENCE_SMOOTHING = 0.01
"""Added to the evidence before its log, so a candidate with no topical evidence (a strong
answerer by track record, see ``ExpertWeights.prior_candidates``) is ranked, low but finite."""
ACCEPT_PRIOR = 2.0
"""Pseudo-answers of the accepted-share smoothing: (accepted + 2 x 0.3) / (answers + 2)."""
ACCEPT_BASE = 0.3


@dataclass(frozen=True)
class ExpertWeights:
    """Every tunable number of the expert ranking (pass one to ``suggest_experts``). The
    field defaults are hand weights without prior candidates; the shipped combination is
    :data:`DEFAULT_WEIGHTS`, read from :data:`RANKER_FILE`."""

    accepted_role: float = 2.0
    answer_role: float = 1.0
    author_role: float = 1.0
    question_role: float = 0.25
    comment_role: float = 0.1
    """A remark on someone else's post (a Stack Exchange comment) is weak evidence."""
    score_bonus: float = 0.15
    """Extra association per log-unit of an answer's score."""
    half_life_days: float = 365.0
    """Decay of evidence with age on the clock (inf: none)."""
    activity_half_life_days: float = 30.0
    """Decay of the recent-activity prior."""
    activity_window_days: float = 240.0
    """Contributions older than this before the clock are not read for the prior."""
    min_similarity: float = 0.3
    """Cosine similarity at chance level: a document at or below it is no evidence."""
    prior_candidates: int = 0
    """When a question has topical evidence, the top answerers by all-time answers and by answers
    in the activity window (this many of each) are candidates too, even without evidence of
    their own: the real answerer is often not among the retrieved threads' contributors."""
    profile_candidates: int = 0
    """When a question has topical evidence, the profiled members whose profiles are closest to
    it (this many, :meth:`retrieval.experts_profiles.MemberProfiles.closest`) are candidates too."""
    recent_candidates: int = 0
    """When a question has topical evidence, this many members with the most answers in the
    last ``activity_half_life_days`` of the index are candidates too (dated data only; see
    :meth:`retrieval.experts_members.MemberStats.leaders`)."""
    topical: float = 1.0
    answering: float = 0.0
    recent: float = 1.0
    accepted_share: float = 0.0
    received: float = 0.5
    volume: float = -0.25
    profile: float = 0.0
    history: float = 0.0
    recent_history: float = 0.0
    tags: float = 0.0
    newcomer: float = 0.0
    idle: float = 0.0

    def role(self, role: str) -> float:
        """The association weight of ``role`` (question/answer/accepted/author)."""
        return {"accepted": self.accepted_role, "answer": self.answer_role, "author": self.author_role,
                "question": self.question_role, "comment": self.comment_role}.get(role, self.answer_role)

    def combination(self) -> tuple[float, ...]:
        """The coefficients of :meth:`Features.vector`, in order."""
        return (self.topical, self.answering, self.recent, self.accepted_share, self.received, self.volume,
                self.profile, self.history, self.recent_history, self.tags, self.newcomer, self.idle)

    def with_combination(self, coefficients: tuple[float, ...]) -> ExpertWeights:
        """A copy with the coefficients of :meth:`Features.vector` replaced."""
        (topical, answering, recent, accepted_share, received, volume, profile, history, recent_history,
         tags, newcomer, idle) = coefficients
        return replace(self, topical=topical, answering=answering, recent=recent, accepted_share=accepted_share,
                       received=received, volume=volume, profile=profile, history=history,
                       recent_history=recent_history, tags=tags, newcomer=newcomer, idle=idle)


FEATURES = 12
"""Length of :meth:`Features.vector`."""
RANKER_FILE = Path(__file__).with_name("experts_ranker.json")
"""The shipped combination: ``{"coefficients": [FEATURES numbers in Features.vector order],
"prior_candidates": int, ...provenance}``, written by ``bench/experts.py --write-ranker``."""


def load_weights(path: Path = RANKER_FILE) -> ExpertWeights:
    """:class:`ExpertWeights` with the coefficients and prior candidates of a ranker file.

    Raises:
        ValueError: the file is not a ranker file (names the file and the bad field).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        coefficients = tuple(float(x) for x in data["coefficients"])
        prior = int(data["prior_candidates"])
        closest = int(data.get("profile_candidates", 0))
        recent = int(data.get("recent_candidates", 0))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not an expert ranker file ({e!r})") from e
    if len(coefficients) != FEATURES:
        raise ValueError(f"{path}: coefficients: expected {FEATURES} numbers, got {len(coefficients)}")
    floor = float(data.get("min_similarity", 0.3))
    return replace(ExpertWeights(prior_candidates=prior, profile_candidates=closest, recent_candidates=recent),
                   min_similarity=floor
                   ).with_combination(coefficients)


def relevance(similarity: np.ndarray, floor: float) -> np.ndarray:
    """Relevance of cosine similarities, elementwise (any shape): 0 at or below ``floor``
    (chance level, ``ExpertWeights.min_similarity``), rising linearly to 1 at cosine 1. The
    one definition behind model 2 over the retrieved documents and over a member's history."""
    return np.asarray(np.maximum(np.asarray(similarity) - floor, 0.0) / (1.0 - floor))


DEFAULT_WEIGHTS = load_weights()
PLAIN_MODEL_2 = ExpertWeights(
    accepted_role=1.0, answer_role=1.0, author_role=1.0, question_role=1.0, comment_role=1.0, score_bonus=0.0,
    half_life_days=float("inf"), recent=0.0, received=0.0, volume=0.0, prior_candidates=0, profile_candidates=0,
    recent_candidates=0,
)
"""The textbook baseline: summed relevance of the retrieved documents a member contributed
to; no roles, no recency, no priors."""


@dataclass(frozen=True)
class Features:
    """What the ranking knows about one candidate for one question (all >= 0)."""

    evidence: float
    answers: int
    accepted: int
    received: int
    """Summed score of their answers (negative sums count as 0)."""
    recent: float
    documents: int
    profile: float = 0.0
    """Cosine of the question to the member's profile (0 when not profiled)."""
    history: float = 0.0
    """Summed relevance of everything they answered, decayed with ``half_life_days``
    (:meth:`retrieval.experts_profiles.Profile.history`)."""
    recent_history: float = 0.0
    """The same, decayed with ``activity_half_life_days``: similar answers lately."""
    tags: float = 0.0
    """Expected answers of theirs carrying the question's tags."""
    newcomer: float = 0.0
    """Decay of the age of their first answer (:meth:`retrieval.experts_members.MemberFacts.newcomer`)."""
    idle: float = 0.0
    """Days since their latest answer, capped (:meth:`retrieval.experts_members.MemberFacts.idle`)."""

    def accepted_share(self) -> float:
        """Share of answers accepted, smoothed towards :data:`ACCEPT_BASE`."""
        return (self.accepted + ACCEPT_PRIOR * ACCEPT_BASE) / (self.answers + ACCEPT_PRIOR)

    def vector(self) -> tuple[float, ...]:
        """The transformed features the weights multiply (see the module docstring)."""
        mean_score = max(self.received, 0) / self.answers if self.answers else 0.0
        return (math.log(self.evidence + EVIDENCE_SMOOTHING), math.log1p(self.answers), math.log1p(self.recent),
                self.accepted_share(), math.log1p(mean_score), math.log1p(self.documents), self.profile,
                math.log1p(self.history), math.log1p(self.recent_history), math.log1p(self.tags), self.newcomer,
                math.log1p(self.idle))


def combine(features: Features, weights: ExpertWeights) -> float:
    """The candidate's score: the weighted sum of :meth:`Features.vector`."""
    return sum(w * x for w, x in zip(weights.combination(), features.vector(), strict=True) if w)
