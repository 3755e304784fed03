"""Cited answers: the :class:`Answerer` Protocol and its registry (``base``), the default
extractive answerer (``extractive``: ``selection`` picks sentences, ``confidence`` says how
far to trust them, ``rendering`` writes text and citations), and the language's word lists
(``english``: the one file a community writing in another language swaps)."""

from retrieval.answer.base import ANSWERERS, Answer, Answerer, Citation, Evidence, get_answerer
from retrieval.answer.extractive import ABSTAIN_BELOW, ANSWER_HITS, ExtractiveAnswerer, compose_answer
from retrieval.answer.llm_writer import LLMAnswerer  # registers "llm" (the optional writer model)
from retrieval.answer.rendering import worded
from retrieval.answer.selection import corrected_posts

__all__ = [
    "ABSTAIN_BELOW", "ANSWERERS", "ANSWER_HITS", "Answer", "Answerer", "Citation", "Evidence",
    "ExtractiveAnswerer", "LLMAnswerer", "compose_answer", "corrected_posts", "get_answerer", "worded",
]
