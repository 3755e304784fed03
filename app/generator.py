"""The answerer the API serves: the extractive one, or the writer model when configured."""

from __future__ import annotations

import logging

from app.settings import GeneratorSettings
from retrieval.answer import Answerer, get_answerer
from retrieval.answer.citation_check import Thresholds

log = logging.getLogger(__name__)


def answerer_for(config: GeneratorSettings) -> Answerer | None:
    """The ``llm`` answerer for ``config``, or None (the library's default, extractive) while
    no endpoint URL is set. The key is handed to the client only, never logged."""
    if not config.url:
        return None
    log.info("answers written by %s at %s (checked; extractive fallback)", config.model, config.url)
    return get_answerer(
        "llm", url=config.url, model=config.model, timeout=config.timeout, api=config.api,
        api_key=config.api_key.get_secret_value() if config.api_key else None,
        thresholds=Thresholds(config.min_lexical, config.min_similarity), max_passages=config.max_passages,
    )
