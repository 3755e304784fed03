"""API models of the optional writer model: what the check of a written answer did, and the
events of ``POST /ask/stream``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RemovedSentenceOut(BaseModel):
    """A sentence the model wrote that was left out of the answer."""

    text: str
    reason: str = Field(description="why, e.g. 'not supported by the passages it cites'")
    lexical: float = Field(description="share of its content words found in the passages it cites (0..1)")
    similarity: float = Field(description="best embedding cosine to the passages it cites")


class GeneratorOut(BaseModel):
    """How the writer model took part (absent when none is configured). ``used`` false: the
    answer is the extractive one and ``note`` says why."""

    used: bool
    model: str
    kept_sentences: int
    removed_sentences: list[RemovedSentenceOut]
    invalid_citations: list[int] = Field(description="passage numbers cited that were not given to the model")
    dropped_citations: list[int] = Field(description="given passages cited by a sentence they do not support")
    note: str


class SentenceEvent(BaseModel):
    """``event: sentence`` of ``POST /ask/stream``: one checked sentence of a written answer,
    its markers numbered as in the final answer's citations."""

    index: int
    text: str
