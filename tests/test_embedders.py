"""The embedder registry and the ONNX embedder, on the real model: its vectors match torch's,
its token counts are the chunker's, and an index built by one runtime refuses the other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from retrieval.embedders.onnx_export import ONNX_FILE, cache_dir
from retrieval.embedders.onnx_runtime import OnnxEmbedder, mean_pool_normalise, pad_batch
from retrieval.embedding import (
    DEFAULT_EMBEDDER,
    Embedder,
    built_with,
    choose_embedder,
    default_model_path,
    embedder_for_index,
    embedder_name_of,
    load_embedder,
)
from retrieval.errors import ConfigError
from retrieval.index import IndexDir
from tests.helpers import write_small_corpus

SAMPLES = [
    "When should I treat for varroa mites in late summer?",
    "Feed 2:1 sugar syrup in autumn so the colony can store it before the cold sets in.",
    "Our apiary site lease with the city allotment runs out in March; who do we ask?",
    "Queen cells along the bottom bars usually mean the colony is preparing to swarm.",
    "Smoker fuel: dry pine needles burn cool and long, burlap smoulders slowly.",
    "ok",
]
LONG = " ".join(f"Frame {i} had capped brood, pollen and a little nectar along the top bar." for i in range(60))


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two arrays of unit vectors."""
    return np.einsum("ij,ij->i", a, b)


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    """The real ONNX embedder of the packaged model (exported on first use, then cached)."""
    return load_embedder(None, "onnx")


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    """The real torch embedder of the packaged model."""
    return load_embedder(None, "torch")


@pytest.mark.unit
def test_an_unknown_embedder_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown embedder 'tensorflow'; known embedders: onnx, torch"):
        load_embedder(None, "tensorflow")


@pytest.mark.unit
def test_model_ids_name_their_runtime() -> None:
    assert embedder_name_of("1f3e5a7c9b0d2e4f") == "torch"  # indexes from before runtimes were pluggable
    assert embedder_name_of("onnx-1f3e5a7c9b0d2e4f") == "onnx"


@pytest.mark.unit
def test_mean_pooling_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]], [[0.0, 2.0], [0.0, 2.0], [0.0, 2.0]]])
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool_normalise(hidden, mask)
    assert pooled.dtype == np.float32
    assert np.allclose(pooled, [[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.unit
def test_a_new_index_gets_the_default_unless_configured(tmp_path: Path) -> None:
    assert built_with(tmp_path / "none") is None
    assert choose_embedder(tmp_path / "none", None) == DEFAULT_EMBEDDER
    assert choose_embedder(tmp_path / "none", "onnx") == "onnx"
    with pytest.raises(ConfigError, match="known embedders"):
        choose_embedder(tmp_path / "none", "nope")


@pytest.mark.unit
def test_the_export_goes_to_a_user_cache_when_the_model_folder_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model, ignore=shutil.ignore_patterns("onnx"))
    (model / "onnx").write_text("a file where the export folder would go")  # mkdir fails, as on a read-only disk
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = cache_dir(model)
    assert folder.parent == tmp_path / "cache" / "townsquare" / "onnx" and folder.is_dir()


@pytest.mark.integration
def test_onnx_vectors_match_torch(onnx_embedder: Embedder, torch_embedder: Embedder) -> None:
    texts = [*SAMPLES, LONG]
    a, b = onnx_embedder.embed(texts), torch_embedder.embed(texts)
    assert a.shape == b.shape == (len(texts), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    similarity = cosines(a, b)
    assert similarity.mean() >= 0.98 and similarity.min() >= 0.95, similarity
    # ranking agrees: each text's nearest other text is the same under both runtimes
    assert (np.argsort(a @ a.T, axis=1)[:, -2] == np.argsort(b @ b.T, axis=1)[:, -2]).all()


@pytest.mark.integration
def test_onnx_keeps_input_order_and_truncates_like_torch(onnx_embedder: Embedder) -> None:
    together = onnx_embedder.embed([*SAMPLES, LONG], batch_size=3)
    alone = np.vstack([onnx_embedder.embed([text]) for text in [*SAMPLES, LONG]])
    # activations are quantised per batch, so a text's vector depends a little on its batch-mates
    assert cosines(together, alone).min() >= 0.98
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(len(alone))).all()
    assert onnx_embedder.embed([]).shape == (0, 384)
    beyond = LONG + " This sentence lies past the 256-token window and changes nothing."
    assert cosines(onnx_embedder.embed([LONG]), onnx_embedder.embed([beyond]))[0] >= 0.9999


@pytest.mark.unit
def test_pad_batch_pads_as_the_tokenizer_would() -> None:
    from tokenizers import Tokenizer

    texts = ["ok", SAMPLES[1], "", SAMPLES[4]]
    padding = Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
    padding.enable_padding(pad_id=0, pad_token="[PAD]")
    plain = Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
    plain.no_padding()
    feeds = pad_batch(plain.encode_batch(texts), pad_id=0)
    expected = padding.encode_batch(texts)
    assert feeds["input_ids"].dtype == np.int64 and feeds["input_ids"].shape == (4, len(expected[0].ids))
    assert feeds["input_ids"].tolist() == [e.ids for e in expected]
    assert feeds["attention_mask"].tolist() == [e.attention_mask for e in expected]
    assert feeds["token_type_ids"].tolist() == [e.type_ids for e in expected]


@pytest.mark.integration
def test_batches_follow_token_counts_not_characters(onnx_embedder: Embedder) -> None:
    # few characters, many tokens (digits and symbols split finely) beside many characters, few tokens
    dense = "7f3a-91c2 0x1F4 #42 ß∑≈ 12½ 🐝🐝🐝 " * 3
    texts = [dense, "Honey " * 20, *SAMPLES]
    assert len(dense) < len(texts[1]) and onnx_embedder.count_tokens(dense) > onnx_embedder.count_tokens(texts[1])
    together = onnx_embedder.embed(texts, batch_size=2)
    alone = np.vstack([onnx_embedder.embed([text]) for text in texts])
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(len(texts))).all()
    assert cosines(together, alone).min() >= 0.95  # "ok" (3 tokens) moves most with its batch-mates


@pytest.mark.integration
def test_the_export_has_signed_int8_matmul_weights_one_scale_per_channel(onnx_embedder: Embedder) -> None:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(cache_dir(default_model_path()) / ONNX_FILE)).graph
    weights = {t.name: t for t in graph.initializer}
    products = [n for n in graph.node if n.op_type == "MatMulInteger"]
    assert len(products) == 36  # q, k, v, output, two feed-forward weights in each of 6 layers
    for node in products:
        weight, zero_point = weights[node.input[1]], numpy_helper.to_array(weights[node.input[3]])
        assert weight.data_type == onnx.TensorProto.INT8, node.name  # u8s8 kernels (uint8 gave u8u8)
        assert zero_point.shape == (weight.dims[1],) and not zero_point.any(), node.name  # symmetric, per channel
    tables = [weights[n.input[0]] for n in graph.node if n.op_type == "Gather" and n.input[0] in weights]
    assert tables and all(t.data_type == onnx.TensorProto.FLOAT for t in tables)  # embeddings stay float32


@pytest.mark.integration
def test_onnx_counts_tokens_as_the_chunker_expects(onnx_embedder: Embedder, torch_embedder: Embedder) -> None:
    assert onnx_embedder.max_tokens == torch_embedder.max_tokens == 256
    for text in [*SAMPLES, LONG, "", "  naïve café — 12½ kg/m² 🐝"]:
        assert onnx_embedder.count_tokens(text) == torch_embedder.count_tokens(text), text
    assert onnx_embedder.count_tokens(LONG) > 256  # counting never truncates


@pytest.mark.integration
def test_the_fingerprint_covers_the_onnx_file(onnx_embedder: Embedder, torch_embedder: Embedder) -> None:
    assert onnx_embedder.model_id.startswith("onnx-") and onnx_embedder.model_id != torch_embedder.model_id
    assert onnx_embedder.model_name == torch_embedder.model_name == "all-MiniLM-L6-v2"
    exported = cache_dir(default_model_path()) / ONNX_FILE
    assert exported.is_file()
    assert OnnxEmbedder().model_id == onnx_embedder.model_id  # stable across loads


@pytest.mark.integration
def test_an_index_built_with_one_runtime_refuses_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, onnx_embedder: Embedder, torch_embedder: Embedder,
) -> None:
    corpus, index = write_small_corpus(tmp_path / "src"), tmp_path / "ix"
    runner = CliRunner()
    built, other = ("torch", "onnx") if DEFAULT_EMBEDDER == "onnx" else ("onnx", "torch")  # not the default

    def run(embedder: str | None, *args: str) -> tuple[int, str]:
        if embedder:
            monkeypatch.setenv("TOWNSQUARE_EMBEDDER", embedder)
        else:
            monkeypatch.delenv("TOWNSQUARE_EMBEDDER", raising=False)
        get_settings.cache_clear()
        result = runner.invoke(cli, [*args, "--index", str(index)])
        return result.exit_code, result.output + str(result.exception or "")

    code, out = run(built, "ingest", str(corpus))
    assert code == 0, out
    assert built_with(index) == built
    model_id = load_embedder(None, built).model_id
    assert IndexDir(index).open(model_id).manifest.model_id == model_id
    code, out = run(other, "search", "smoker fuel")
    assert code != 0 and "built with model" in out, out
    code, out = run(other, "ingest", str(corpus))  # nor does an ingest mix runtimes
    assert code != 0 and "built with model" in out, out
    code, out = run(None, "search", "smoker fuel")  # unset: the index keeps the runtime that built it
    assert code == 0 and "Which smoker fuel burns longest?" in out, out
    assert os.environ.get("TOWNSQUARE_EMBEDDER") is None


EXPORT_SCRIPT = """
import sys
from pathlib import Path
from retrieval.embedders.onnx_export import onnx_model_path
print(onnx_model_path(Path(sys.argv[1])))
"""


def model_copy(folder: Path) -> Path:
    """A private copy of the packaged model (its weights linked, not copied), without any export."""
    source = default_model_path()
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("onnx", "model.safetensors"))
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    return folder


@pytest.mark.integration
def test_concurrent_first_uses_export_once_and_agree(tmp_path: Path) -> None:
    model = model_copy(tmp_path / "model")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    runs = [subprocess.Popen([sys.executable, "-c", EXPORT_SCRIPT, str(model)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    paths = {out.strip() for out, _ in outputs}
    assert paths == {str(model / "onnx" / ONNX_FILE)}
    assert sorted(p.name for p in (model / "onnx").iterdir()) == sorted([ONNX_FILE, Path(ONNX_FILE).stem + ".lock"])
    exported = OnnxEmbedder(model)
    assert exported.model_id == load_embedder(None, "onnx").model_id  # same weights, same recipe: same file


@pytest.mark.integration
def test_a_failed_export_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    model = model_copy(tmp_path / "model")
    (model / "config.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="ONNX export failed"):
        OnnxEmbedder(model)
    assert [p.name for p in (model / "onnx").iterdir()] == [Path(ONNX_FILE).stem + ".lock"]


@pytest.mark.integration
def test_an_index_built_by_an_older_onnx_recipe_keeps_it(tmp_path: Path, onnx_embedder: Embedder) -> None:
    from ingest.pipeline import ingest
    from retrieval.library import Library

    older = OnnxEmbedder(recipe=2)
    assert older.model_id != onnx_embedder.model_id
    corpus, root = write_small_corpus(tmp_path / "src"), tmp_path / "ix"
    ingest([corpus], IndexDir(root), older)
    chosen = embedder_for_index(root, None, None)  # as serve and ingest pick it
    assert chosen.model_id == older.model_id
    hits = Library(IndexDir(root), chosen).searcher().search("what fuel burns longest in a smoker", k=3)
    assert hits and hits[0].doc_id == "a-1"
    fresh = tmp_path / "new"
    assert embedder_for_index(fresh, None, None).model_id == onnx_embedder.model_id  # new indexes: recipe 3
