"""The one settings object: environment (``TOWNSQUARE_*``) over an optional TOML file.

Set ``TOWNSQUARE_CONFIG=/path/to/townsquare.toml`` to read a file; nested options use a
double underscore in the environment (``TOWNSQUARE_SEARCH__RRF_K=30``). Storage backend
options sit under the backend's own name: ``[vectors.faiss] hnsw_threshold = 200000``
(``TOWNSQUARE_VECTORS__FAISS__HNSW_THRESHOLD``), ``[lexical.fts5] common_share = 0.05``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from retrieval.backends import DEFAULT_BACKEND, BackendConfig
from retrieval.backends.options import FaissOptions, Fts5Options


class SearchOptions(BaseModel):
    """Hybrid retrieval knobs: how dense and FTS5 BM25 candidates are fused.

    ``convex`` (default) mixes min-max normalised scores, ``alpha`` being the dense share;
    ``rrf`` is weighted reciprocal-rank fusion with ``rrf_k`` and the two weights.
    """

    fusion: Literal["convex", "rrf"] = "convex"
    alpha: float = Field(0.9, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    lexical_weight: float = Field(0.5, ge=0)
    candidates: int = Field(100, ge=10, le=2000)


class VectorSettings(BaseModel):
    """Options of each vector backend, under its registry name."""

    faiss: FaissOptions = Field(default_factory=FaissOptions)


class LexicalSettings(BaseModel):
    """Options of each lexical backend, under its registry name."""

    fts5: Fts5Options = Field(default_factory=Fts5Options)


class Settings(BaseSettings):
    """Everything configurable, read once through :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="TOWNSQUARE_", env_nested_delimiter="__")

    index_dir: Path = Path("var/index")
    model_path: Path | None = None
    embed_batch_size: int = Field(32, ge=1, le=1024)
    max_file_mb: float = Field(50.0, gt=0)
    api_keys: dict[str, list[str]] = Field(default_factory=dict)
    search: SearchOptions = Field(default_factory=SearchOptions)
    backend: str = DEFAULT_BACKEND
    """Storage backend of new indexes (``retrieval/backends``); an index keeps the one it was built with."""
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)
    serve_threads: int = Field(1, ge=1, le=64)
    """OpenMP threads torch and FAISS may use per query in the API server. One is faster
    here: a query is tiny work, and with one thread per core any other load (another
    request) stalls the thread barriers (docs/benchmarks.md, latency)."""
    max_query_chars: int = Field(10_000, ge=10)
    """Longest question accepted by /search, /experts and /ask: a whole question with its
    pasted error log fits; only the embedder's input window truncates what is embedded."""
    max_k: int = Field(100, ge=1)
    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None

    @field_validator("api_keys")
    @classmethod
    def _keys_are_usable(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key in value:
            if len(key) < 8:
                raise ValueError(f"API key {key[:3]}... is shorter than 8 characters")
        return value

    @property
    def max_file_bytes(self) -> int:
        """The size limit of one source file, in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    def backend_options(self) -> dict[str, dict[str, Any]]:
        """Every storage component's options, keyed by its registry name."""
        parts = (self.vectors, self.lexical)
        return {name: asdict(value) for part in parts for name, value in vars(part).items()}

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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
