"""The one settings object: environment (``TOWNSQUARE_*``) over an optional TOML file.

Set ``TOWNSQUARE_CONFIG=/path/to/townsquare.toml`` to read a file; nested options use a
double underscore in the environment (``TOWNSQUARE_SEARCH__RRF_K=30``). Storage backend
options sit under the backend's own name: ``[vectors.faiss] hnsw_threshold = 200000``
(``TOWNSQUARE_VECTORS__FAISS__HNSW_THRESHOLD``), ``[lexical.fts5] common_share = 0.05``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from app.auth import normalise_env_keys
from retrieval.backends import DEFAULT_BACKEND, BackendConfig
from retrieval.backends.options import FaissOptions, Fts5Options, MilvusOptions, SparseOptions
from retrieval.errors import ConfigError


class SearchOptions(BaseModel):
    """Hybrid retrieval knobs: how dense and FTS5 BM25 candidates are fused.

    ``convex`` (default) mixes min-max normalised scores, ``alpha`` being the dense share;
    ``rrf`` is weighted reciprocal-rank fusion with ``rrf_k`` and the two weights.
    ``title_weight``: the share of a question's title line (its first line, when a body
    follows) in the dense query vector (:mod:`retrieval.query_vector`; 0 = off); such a
    question is fused with ``question_alpha`` instead of ``alpha`` (its title-weighted dense
    side gains from a larger BM25 share; short queries do not). Chosen across five dev sets:
    docs/benchmarks.md, section ``quality-forum``.
    """

    fusion: Literal["convex", "rrf"] = "convex"
    alpha: float = Field(0.9, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(0.5, ge=0)
    candidates: int = Field(100, ge=10, le=2000)
    title_weight: float = Field(0.35, ge=0, le=1)
    question_alpha: float = Field(0.8, ge=0, le=1)
    """``alpha`` for a question with a title line and a body (``convex`` fusion)."""


class RateLimit(BaseModel):
    """Requests per minute per client address (anonymous callers and unknown keys) and per
    API key; 0 turns that limit off (e.g. for benchmarks)."""

    per_minute: int = Field(120, ge=0)
    per_minute_key: int = Field(600, ge=0)


class GeneratorSettings(BaseModel):
    """The optional writer model (off while ``url`` is unset): an OpenAI-compatible chat
    endpoint (``TOWNSQUARE_GENERATOR__URL=http://localhost:11434/v1`` for Ollama), the model
    name, an API key if the endpoint wants one, and how long one answer may take in seconds.
    ``min_lexical`` / ``min_similarity``: the check of each written sentence against the
    passages it cites (docs/writer.md says where the defaults come from)."""

    url: str | None = None
    model: str = ""
    api_key: SecretStr | None = None
    timeout: float = Field(20.0, gt=0, le=300)
    api: str = "openai"
    max_passages: int = Field(6, ge=1, le=20)
    min_lexical: float = Field(0.6, ge=0, le=1)
    min_similarity: float = Field(0.5, ge=-1, le=1)

    @model_validator(mode="after")
    def _model_named(self) -> GeneratorSettings:
        if self.url and not self.model.strip():
            raise ValueError("TOWNSQUARE_GENERATOR__MODEL must name the model when TOWNSQUARE_GENERATOR__URL is set")
        return self


class VectorSettings(BaseModel):
    """Options of each vector backend, under its registry name."""

    faiss: FaissOptions = Field(default_factory=FaissOptions)


class LexicalSettings(BaseModel):
    """Options of each lexical backend, under its registry name."""

    fts5: Fts5Options = Field(default_factory=Fts5Options)
    sparse: SparseOptions = Field(default_factory=SparseOptions)


class Settings(BaseSettings):
    """Everything configurable, read once through :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="TOWNSQUARE_", env_nested_delimiter="__", hide_input_in_errors=True  # keys never echoed
    )

    index_dir: Path = Path("var/index")
    model_path: Path | None = None
    embedder: str | None = None
    """Embedding runtime, ``torch`` or ``onnx`` (``retrieval.embedding.EMBEDDERS``). Unset: an
    existing index keeps the runtime that built it, a new one gets the default."""
    embed_batch_size: int = Field(32, ge=1, le=1024)
    max_file_mb: float = Field(50.0, gt=0)
    api_keys: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(default_factory=dict)
    """``{key: [groups]}`` or ``{key: {"groups", "role", "name"}}`` (see :mod:`app.auth`)."""
    activity_retention_days: int = Field(180, ge=0)
    """Asked questions and feedback older than this are deleted; 0 keeps them forever."""
    search: SearchOptions = Field(default_factory=SearchOptions)
    backend: str = DEFAULT_BACKEND
    """Storage backend of new indexes (``retrieval/backends``); an index keeps the one it was built with."""
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)
    milvus: MilvusOptions = Field(default_factory=MilvusOptions)
    """Options of the ``milvus`` backend (lexical and vector parts share them)."""
    serve_threads: int = Field(1, ge=1, le=64)
    """OpenMP threads torch and FAISS may use per query in the API server. One is faster
    here: a query is tiny work, and with one thread per core any other load (another
    request) stalls the thread barriers (docs/benchmarks.md, latency)."""
    max_query_chars: int = Field(10_000, ge=10, le=10_000)
    """Longest question accepted by /search, /experts and /ask: a whole question with its
    pasted error log fits; only the embedder's input window truncates what is embedded."""
    max_k: int = Field(100, ge=1, le=100)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    max_body_kb: int = Field(1024, ge=1)
    """Larger request bodies get 413 before they are read whole."""
    body_timeout_s: float = Field(30.0, gt=0, le=3600)
    """Seconds a client has to send its whole request body; a slower one gets 408 (the body
    is read before the request waits for a work slot, so it never holds one)."""
    max_header_count: int = Field(64, ge=8)
    max_header_kb: int = Field(16, ge=1)
    serve_concurrency: int = Field(0, ge=0, le=256)
    """Requests the API works on at once; 0 = the CPU count."""
    serve_queue: int = Field(64, ge=0)
    """Requests that may wait beyond those; more get 503 with Retry-After."""
    api_url: str = "http://127.0.0.1:8000"
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_are_usable(cls, value: Any) -> dict[str, dict[str, Any]]:
        """The environment gives a string: parse it here, so a bad value is one clear error
        (never echoing the keys) instead of a settings-source traceback."""
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                raise ValueError('not valid JSON; expected {"key": ["group", ...]}') from None
        return normalise_env_keys(value)

    @field_validator("backend")
    @classmethod
    def _backend_is_registered(cls, value: str) -> str:
        """A misspelt backend fails when the settings load, naming the known ones, not after
        an ingest has read everything (or never, for commands that open an existing index)."""
        from retrieval.backends import BACKENDS

        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; known: {', '.join(sorted(BACKENDS))}")
        return value

    @property
    def max_file_bytes(self) -> int:
        """The size limit of one source file, in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    def backend_options(self) -> dict[str, dict[str, Any]]:
        """Every storage component's options, keyed by its registry name."""
        parts = (self.vectors, self.lexical)
        options = {name: asdict(value) for part in parts for name, value in vars(part).items()}
        options["milvus"] = asdict(self.milvus)
        return options

    def backend_config(self) -> BackendConfig:
        """What :class:`retrieval.index.IndexDir` needs to open and build snapshots."""
        return BackendConfig(self.backend, self.backend_options())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments win, then the environment, then the TOML file if one is named."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("TOWNSQUARE_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def setting_problem(error: ValidationError) -> str:
    """One line naming each bad setting as its environment variable, without the values."""
    parts = []
    for item in error.errors():
        name = "TOWNSQUARE_" + "__".join(str(p) for p in item["loc"] if not isinstance(p, int)).upper()
        parts.append(f"{name}: {item['msg']}")
    return "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once.

    Raises:
        ConfigError: one line naming each bad setting (values are not repeated: they may be secrets).
    """
    try:
        return Settings()
    except ValidationError as e:
        raise ConfigError(f"bad setting: {setting_problem(e)}") from None
