"""`townsquare eval`: the metrics against hand-computed values, reading BEIR folders and
threads, the time split, and both commands end to end on tiny folders (real model, FAISS,
SQLite through the real ingest)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.evaluate import expert_split, read_threads
from retrieval.errors import BadQueryError
from retrieval.evaluation import EXPERT_MEASURES, RETRIEVAL_MEASURES, mean_scores, per_query, read_collection
from retrieval.records import parse_iso

DATA = Path(__file__).resolve().parent / "data"
BEIR = DATA / "beir-tiny"
THREADS = DATA / "experts-tiny"


@pytest.mark.unit
def test_retrieval_measures_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 2, "b": 1, "c": 0}, "q2": {"d": 1}, "q3": {"e": 0}}
    run = {"q1": ["c", "a", "x", "b"], "q2": []}
    values = per_query(qrels, run, RETRIEVAL_MEASURES)
    # trec_eval's nDCG: gain = grade, discount log2(rank + 1)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 + 1 / math.log2(3)
    assert values["nDCG@10"]["q1"] == pytest.approx(dcg / ideal, abs=1e-4)
    assert values["MRR@10"]["q1"] == pytest.approx(0.5)
    assert values["Recall@100"]["q1"] == pytest.approx(1.0)
    # q2 found nothing: it counts as 0; q3 has no relevant document: it is not a query
    assert set(values["nDCG@10"]) == {"q1", "q2"} and values["nDCG@10"]["q2"] == 0.0
    assert mean_scores(values)["MRR@10"] == pytest.approx(0.25)


@pytest.mark.unit
def test_expert_measures_and_cut_offs() -> None:
    qrels = {"q1": {"m1": 2, "m2": 1}}
    values = per_query(qrels, {"q1": ["m3", "m2", "m9", "m1"]}, EXPERT_MEASURES)
    assert values["MRR"]["q1"] == pytest.approx(0.5)
    assert values["P@1"]["q1"] == 0.0
    # top 3 = m3, m2, m9: DCG = 1/log2(3); ideal = 2 + 1/log2(3)
    assert values["nDCG@3"]["q1"] == pytest.approx((1 / math.log2(3)) / (2 + 1 / math.log2(3)), abs=1e-4)


@pytest.mark.unit
def test_read_collection_keeps_judged_queries() -> None:
    collection = read_collection(BEIR)
    assert len(collection.corpus) == 7 and collection.corpus["d6"][0] == "Smoker fuel"
    assert set(collection.queries) == {"q1", "q2", "q3"}  # q4 has no judgement
    assert collection.qrels["q1"] == {"d2": 2, "d1": 1, "d5": 0}


@pytest.mark.unit
def test_malformed_beir_files_name_file_and_line(tmp_path: Path) -> None:
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        (tmp_path / name).write_text((BEIR / name).read_text())
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "mites"}\n{oops\n')
    quotes = r"invalid JSON \(Expecting property name enclosed in double quotes at column 2\)"
    with pytest.raises(BadQueryError, match=r"queries\.jsonl:2: " + quotes):
        read_collection(tmp_path)
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "mites"}\n')
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\n")
    with pytest.raises(BadQueryError, match=r"qrels\.tsv:2"):
        read_collection(tmp_path)
    (tmp_path / "corpus.jsonl").unlink()
    with pytest.raises(BadQueryError, match=r"corpus\.jsonl: missing"):
        read_collection(tmp_path)


@pytest.mark.unit
def test_expert_split_indexes_the_past_and_scores_answerable_questions() -> None:
    threads, members = read_threads(THREADS)
    plan = expert_split(threads, parse_iso("2025-05-01"))
    assert [t["id"] for t in plan.before] == ["t1", "t2", "t3"] and len(members) == 4
    assert plan.later == 3
    # t6's only answerer (m4) never answered before the split; t5's asker (m1) never counts
    assert plan.qrels == {"t4": {"m1": 2, "m2": 1}, "t5": {"m2": 2}}
    assert plan.questions["t5"][1] == "m1"


@pytest.mark.unit
def test_bad_thread_dates_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"id": "t1", "title": "x", "posts": [{"id": "p", "created_at": "soon"}]}\n')
    with pytest.raises(BadQueryError, match=r"t\.jsonl:1: post 'p'"):
        read_threads(tmp_path)


@pytest.mark.integration
def test_eval_retrieval_prints_a_table_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    work = tmp_path / "work"
    table = runner.invoke(cli, ["eval", "retrieval", str(BEIR), "--work", str(work)])
    assert table.exit_code == 0, table.output
    assert "warning" not in table.stderr  # every judged id is in the folder
    for name in ("nDCG@10", "MRR@10", "Recall@100"):
        assert name in table.output
    # the second run reuses the scratch index (incremental ingest) and prints one JSON object
    result = runner.invoke(cli, ["eval", "retrieval", str(BEIR), "--work", str(work), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["queries"] == 3 and report["documents"] == 7
    metrics = report["metrics"]
    assert set(metrics) == {"nDCG@10", "MRR@10", "Recall@100"}
    assert metrics["Recall@100"] == 1.0  # every judged document is in a 6-document index
    assert metrics["MRR@10"] >= 0.5  # the smoker and swarm questions have one obvious answer


@pytest.mark.integration
def test_eval_experts_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "experts", str(THREADS), "--split", "2025-05-01", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["questions"] == 2 and report["indexed_threads"] == 3 and report["later_questions"] == 3
    assert set(report["metrics"]) == {"MRR", "P@1", "nDCG@3"}
    assert all(0.0 <= v <= 1.0 for v in report["metrics"].values())


@pytest.mark.unit
def test_eval_experts_rejects_a_split_with_nothing_after() -> None:
    result = CliRunner().invoke(cli, ["eval", "experts", str(THREADS), "--split", "2030-01-01"])
    assert result.exit_code != 0
    assert isinstance(result.exception, BadQueryError) and "later questions" in str(result.exception)


def _beir_with_unknown_ids(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        (folder / name).write_text((BEIR / name).read_text())
    with (folder / "qrels.tsv").open("a") as qrels:
        qrels.write("q1\td-gone\t1\nq2\td-gone\t1\nq3\td-lost\t1\nq9\td1\t1\n")
    return folder


@pytest.mark.unit
def test_qrels_ids_missing_from_corpus_or_queries_are_counted_and_named(tmp_path: Path) -> None:
    collection = read_collection(_beir_with_unknown_ids(tmp_path))
    assert collection.unknown_queries == ("q9",) and collection.unknown_documents == ("d-gone", "d-lost")
    assert collection.unknown_ids_message() == (
        "qrels.tsv judges 1 query id not in queries.jsonl (q9) and 2 document ids not in corpus.jsonl "
        "(d-gone, d-lost)")
    assert collection.unknown_ids_message(shown=1).endswith("(d-gone, ...)")
    assert read_collection(BEIR).unknown_ids_message() is None
    strict = CliRunner().invoke(cli, ["eval", "retrieval", str(tmp_path), "--strict"])
    assert strict.exit_code != 0 and isinstance(strict.exception, BadQueryError)
    assert "2 document ids not in corpus.jsonl" in str(strict.exception)


@pytest.mark.integration
def test_eval_retrieval_warns_about_unknown_qrels_ids_and_still_scores(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "retrieval", str(_beir_with_unknown_ids(tmp_path / "beir")),
                                      "--work", str(tmp_path / "work"), "--json"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "(d-gone, d-lost)" in " ".join(result.stderr.split())
    assert json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["Recall@100"] < 1.0
