"""One Milvus collection per index directory, shared by all of its snapshots through
generations: the layout, the client, and the translation of filters into Milvus expressions.

Layout (one row per chunk *version*)::

    pk       INT64 primary key   hash of (chunk id, born): a chunk re-added later is a new row
    chunk    INT64               the chunk id (``hashing.chunk_id``)
    born     INT64               generation of the snapshot that added it
    died     INT64               generation of the snapshot that removed it (ALIVE = never)
    text     VARCHAR + analyzer  the chunk as embedded; Milvus's BM25 function fills ``sparse``
    sparse   SPARSE_FLOAT_VECTOR BM25 terms of ``text`` (full-text search)
    dense    FLOAT_VECTOR(d)     the unit embedding (inner product = cosine)
    doc, kind, source, channel, author, created_at   VARCHAR   filter fields
    tags, groups                 ARRAY<VARCHAR>      tag filter; visibility (empty = public)
    audience VARCHAR             the row's groups as one key (:func:`audience_key`; ``[]`` = public)

Snapshot ``g`` sees the rows with ``born <= g < died``. An ingest writes generation ``g + 1``
beside the served ``g`` (new rows are born ``g + 1``; removed rows die at ``g + 1``), so
readers of ``g`` never see half an ingest, and the swap is the snapshot pointer's
``os.replace``, as for the default backend. Rows no live snapshot sees are deleted when old
snapshots are swept.

Visibility is filtered on ``audience``: each snapshot's ``milvus.json`` lists every audience
key its rows may carry, and a caller's filter is ``audience in [the keys it may see]`` — a
scalar predicate that the engine answers from its inverted index. The equivalent
``array_contains_any(groups, ...)`` on the ``groups`` array is what collections written before
the ``audience`` field get; milvus-lite evaluates array functions row by row in Python over
every column of every row (~0.5 s a search at 10k chunks against ~25 ms with ``audience``).

Milvus documentation: https://milvus.io/docs (BM25 full-text search,
``array_contains_any``, boolean expressions).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from retrieval.backends.options import MilvusOptions
from retrieval.errors import ConfigError
from retrieval.filters import Filters
from retrieval.records import to_iso
from retrieval.views import Groups

ALIVE = 2**62
"""``died`` of a row no snapshot has removed yet."""
META_FILE = "milvus.json"
"""Written into each snapshot folder: which collection and generation it reads."""
TERMS_FILE = "milvus-terms.json"
"""Written into each snapshot folder: how many of its rows hold each token (:func:`tokens`)."""
WORD = re.compile(r"\w+")
MAX_TEXT = 65535
MAX_ARRAY = 256
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}
"""Word tokens in lower case, like FTS5's unicode61 (Milvus Lite knows only the ``standard``
and ``jieba`` tokenizers; stop words are left out of the question instead)."""
FILTER_FIELDS = ("doc", "kind", "source", "channel", "author", "created_at")
AUDIENCE = "audience"
PUBLIC = "[]"
"""The audience key of a public row."""


def collection_name(index_root: Path) -> str:
    """A stable collection name for an index directory (Milvus names: letters, digits, _)."""
    digest = hashlib.blake2b(str(index_root.resolve()).encode(), digest_size=8).hexdigest()
    return f"townsquare_{digest}"


def row_key(chunk: int, born: int) -> int:
    """Primary key of a chunk version: positive int64 from (chunk id, generation)."""
    digest = hashlib.blake2b(f"{chunk}:{born}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def audience_key(groups: Sequence[str]) -> str:
    """The ``audience`` of a row visible to ``groups`` (empty: public): the sorted distinct
    groups as a JSON list, so equal sets give equal keys."""
    return literal(sorted(set(groups)))


def has_field(client: Any, collection: str, name: str) -> bool:
    """Whether ``collection``'s schema has the field ``name``."""
    return any(f.get("name") == name for f in client.describe_collection(collection).get("fields", []))


def _not_an_unimplemented_call(record: logging.LogRecord) -> bool:
    return "Method not implemented" not in record.getMessage()


def quiet_unimplemented_calls(logger: logging.Logger) -> None:
    """Drop the embedded server's log records (ERROR with a traceback) for calls it does not
    implement: pymilvus probes e.g. ``AllocTimestamp``, milvus-lite answers UNIMPLEMENTED and
    the client carries on, so the traceback is noise in every ingest's output. Idempotent."""
    if _not_an_unimplemented_call not in logger.filters:
        logger.addFilter(_not_an_unimplemented_call)


def connect(options: MilvusOptions, index_root: Path) -> Any:
    """A ``pymilvus.MilvusClient`` for the configured server or embedded file.

    Raises:
        ConfigError: pymilvus is not installed, the server cannot be reached, or the embedded
            file is held by another process (milvus-lite allows one at a time).
    """
    # gRPC's C core logs keep-alive chatter ("too_many_pings") from the embedded server to
    # stderr; keep it to real errors unless the user asked for more.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    quiet_unimplemented_calls(logging.getLogger("grpc._server"))
    try:
        from pymilvus import MilvusClient
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ConfigError("the milvus backend needs pymilvus (and milvus-lite for a local file)") from e
    uri = options.resolved_uri(index_root)
    kwargs: dict[str, Any] = {"uri": uri}
    if options.token:
        kwargs["token"] = options.token
    if options.db_name:
        kwargs["db_name"] = options.db_name
    quiet = logging.getLogger("milvus_lite")  # its own ERROR + traceback repeats what we raise below
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return MilvusClient(**kwargs)
    except Exception as e:
        if uri.startswith(("http://", "https://", "tcp://", "unix:")):
            raise ConfigError(f"cannot reach the Milvus server at {uri} ({type(e).__name__})") from e
        raise ConfigError(
            f"cannot open the embedded Milvus file {uri}: milvus-lite lets one process use it at a time "
            "(is `townsquare serve` running on this index?); stop it, or set TOWNSQUARE_MILVUS__URI to a "
            "Milvus server for ingesting while serving"
        ) from e
    finally:
        quiet.setLevel(level)


def ensure_collection(client: Any, name: str, dimension: int, options: MilvusOptions) -> None:
    """Create the collection with its BM25 function and indexes unless it exists; load it."""
    if not client.has_collection(name):
        client.create_collection(name, schema=_schema(client, dimension), index_params=_indexes(client, options))
    client.load_collection(name)


def _schema(client: Any, dimension: int) -> Any:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    for name in ("chunk", "born", "died"):
        schema.add_field(name, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, enable_match=True,
                     analyzer_params=ANALYZER)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    for name in FILTER_FIELDS:
        schema.add_field(name, DataType.VARCHAR, max_length=1024)
    for name in ("tags", "groups"):
        schema.add_field(name, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_ARRAY, max_length=512)
    schema.add_field(AUDIENCE, DataType.VARCHAR, max_length=MAX_TEXT)
    schema.add_function(
        Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                 output_field_names=["sparse"])
    )
    return schema


def _indexes(client: Any, options: MilvusOptions) -> Any:
    params = client.prepare_index_params()
    params.add_index("dense", index_type=options.index_type, metric_type="IP", params=dict(options.index_params or {}))
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    for name in ("chunk", "born", "died", AUDIENCE):
        params.add_index(name, index_type="INVERTED")
    return params


def literal(value: object) -> str:
    """A Milvus expression literal (strings and lists of strings quoted and escaped as JSON)."""
    return json.dumps(value, ensure_ascii=False)


def visible_audiences(audiences: Sequence[str], groups: Groups) -> list[str]:
    """The keys among ``audiences`` (see :func:`audience_key`) that a caller in ``groups``
    may see: public, or sharing a group with the caller. Always holds :data:`PUBLIC`."""
    mine = set(groups)
    return sorted({PUBLIC} | {a for a in audiences if mine.intersection(json.loads(a))})


def expression(generation: int, where: Filters, groups: Groups, audiences: Sequence[str] | None = None) -> str:
    """The boolean expression for rows of ``generation`` passing ``where`` that ``groups``
    may see — the same semantics as ``filters.admits``.

    ``audiences``: every audience key the generation's rows carry (from its ``milvus.json``);
    visibility is then ``audience in [...]``. None (a collection without the ``audience``
    field): ``array_contains_any`` on ``groups``.
    """
    parts = [f"born <= {generation}", f"died > {generation}"]
    if audiences is not None:
        visible = f"{AUDIENCE} in {literal(visible_audiences(audiences, groups))}"
    else:
        visible = "array_length(groups) == 0"
        if groups:
            visible = f"({visible} or array_contains_any(groups, {literal(sorted(groups))}))"
    parts.append(visible)
    for name in ("channel", "source", "author", "kind"):
        wanted = getattr(where, name)
        if wanted is not None:
            parts.append(f"{name} == {literal(wanted)}")
    if where.tag is not None:
        parts.append(f"array_contains(tags, {literal(where.tag)})")
    if where.since is not None:
        parts.append(f'created_at != "" and created_at >= {literal(to_iso(where.since))}')
    if where.until is not None:
        parts.append(f'created_at != "" and created_at <= {literal(to_iso(where.until))}')
    return " and ".join(parts)


def tokens(text: str) -> set[str]:
    """The distinct tokens of ``text`` as the collection's analyzer makes them (``standard``
    tokenizer, lower case: runs of word characters; milvus-lite's own analyzer and its
    ``TEXT_MATCH`` tokenise exactly so — a cluster's standard tokenizer can split a few words,
    e.g. with apostrophes, differently)."""
    return set(WORD.findall(text.lower()))


def read_terms(snapshot: Path) -> dict[str, int] | None:
    """Token -> rows holding it, of a snapshot (None: written before the table was kept)."""
    path = snapshot / TERMS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_terms(snapshot: Path, counts: dict[str, int]) -> None:
    """Record the snapshot's token counts (tokens no row holds are left out)."""
    (snapshot / TERMS_FILE).write_text(json.dumps({t: n for t, n in sorted(counts.items()) if n > 0}))


def read_meta(snapshot: Path) -> dict[str, Any]:
    """The collection and generation a snapshot reads (``{}`` if it has none yet)."""
    path = snapshot / META_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_meta(snapshot: Path, collection: str, generation: int, audiences: Iterable[str] | None = None) -> None:
    """Record in the snapshot folder which collection and generation it reads, and (None: the
    collection has no ``audience`` field) every audience key its rows carry."""
    meta: dict[str, Any] = {"collection": collection, "generation": generation}
    if audiences is not None:
        meta["audiences"] = sorted(audiences)
    (snapshot / META_FILE).write_text(json.dumps(meta))


def rows_alive(client: Any, collection: str, expr: str, fields: Sequence[str], batch: int = 1000) -> list[dict]:
    """Every row matching ``expr`` (iterated in batches: no query window limit)."""
    iterator = client.query_iterator(collection, batch_size=batch, filter=expr, output_fields=list(fields))
    rows: list[dict] = []
    try:
        while page := iterator.next():
            rows.extend(page)
    finally:
        iterator.close()
    return rows
