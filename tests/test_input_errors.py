"""The one wording of bad input (JSON decode errors, field paths) shared by ingest, eval and the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.sources.base import Report, SourceFile
from ingest.sources.jsonl import read_jsonl
from ingest.sources.threads_jsonl import ThreadIn
from retrieval.errors import BadQueryError
from retrieval.evaluation import read_collection
from retrieval.input_errors import describe_json_error, field_path, json_error_text

pytestmark = pytest.mark.unit


def _decode_error(text: str) -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    return caught.value


def test_the_decoders_own_trailing_at_is_not_doubled() -> None:
    error = _decode_error('{"text": "no end')
    assert error.msg.endswith(" at")  # what made "starting at at column" before
    assert json_error_text(error) == "Unterminated string starting at line 1, column 10"
    assert json_error_text(error, with_line=False) == "Unterminated string starting at column 10"
    assert json_error_text(_decode_error('{"a": "x\x01"}'), with_line=False) == (
        "Invalid control character at column 9")
    assert describe_json_error("Expecting value", char=0) == "Expecting value at character 0"
    assert describe_json_error("Expecting value") == "Expecting value"


@pytest.mark.parametrize(("loc", "said"), [
    (("posts", 1, "author"), "posts[1].author (the 2nd of posts)"),
    (("posts", 0, "tags", 2), "posts[0].tags[2] (the 1st of posts, the 3rd of tags)"),
    (("title",), "title"),
    ((), "record"),
    ((11,), "[11] (the 12th of record)"),
])
def test_field_paths_say_list_positions_counting_from_one(loc: tuple[int | str, ...], said: str) -> None:
    assert field_path(loc) == said


def test_ingest_and_eval_word_the_same_broken_line_alike(tmp_path: Path) -> None:
    broken = '{"_id": "q2", "id": "t-2", "text": "cut\x01off"}'
    (tmp_path / "threads.jsonl").write_text(broken + "\n")
    report = Report()
    assert list(read_jsonl(SourceFile(tmp_path / "threads.jsonl", "threads.jsonl"), ThreadIn, report)) == []
    assert [(p.where, p.message) for p in report.problems] == [
        ("threads.jsonl:1", "invalid JSON (Invalid control character at column 40)")]
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "mites"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "mites"}\n' + broken + "\n")
    (tmp_path / "qrels.tsv").write_text("q1\td1\t1\n")
    with pytest.raises(BadQueryError) as caught:
        read_collection(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'queries.jsonl'}:2: invalid JSON (Invalid control character at column 40)"


def test_a_bad_post_is_named_by_its_position_counting_from_one(tmp_path: Path) -> None:
    thread = {"id": "t-1", "title": "Varroa", "posts": [
        {"id": "p1", "author": "m01", "created_at": None, "text": "When?"},
        {"id": "p2", "created_at": None, "text": "August."}]}
    (tmp_path / "threads.jsonl").write_text(json.dumps(thread) + "\n")
    report = Report()
    list(read_jsonl(SourceFile(tmp_path / "threads.jsonl", "threads.jsonl"), ThreadIn, report))
    assert [p.message for p in report.problems] == ["field posts[1].author (the 2nd of posts): Field required"]


def test_a_post_without_created_at_says_null_is_how_to_say_undated(tmp_path: Path) -> None:
    """The key is required (a misspelt "created" must not quietly make a dated post undated), and
    the error says how to write an undated one."""
    thread = {"id": "t-1", "title": "Varroa", "posts": [
        {"id": "p1", "author": "m01", "created_at": None, "text": "When?"},
        {"id": "p2", "author": "m02", "created": "2025-01-02", "text": "August."}]}
    (tmp_path / "threads.jsonl").write_text(json.dumps(thread) + "\n")
    report = Report()
    assert list(read_jsonl(SourceFile(tmp_path / "threads.jsonl", "threads.jsonl"), ThreadIn, report)) == []
    [problem] = report.problems
    assert problem.message.startswith("field posts[1] (the 2nd of posts): ")
    assert "created_at is missing" in problem.message and "null" in problem.message
