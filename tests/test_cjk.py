"""Text without spaces or capitals (Chinese, Japanese): sentences, terms, the lexical index's
spacing, and NFC normalisation."""

from __future__ import annotations

import unicodedata

import pytest

from retrieval.cjk import cjk_phrases, nfc, spaced
from retrieval.sentences import content_words, is_quotable, split_sentences

POST = "我做了糖饼和蜂蜜。冬天要把蜂箱放在干燥的地方！这样蜜蜂不会生病。"


@pytest.mark.unit
def test_chinese_sentences_split_at_full_width_marks_and_are_quotable() -> None:
    sentences = [POST[a:b] for a, b in split_sentences(POST)]
    assert sentences == ["我做了糖饼和蜂蜜。", "冬天要把蜂箱放在干燥的地方！", "这样蜜蜂不会生病。"]
    assert all(is_quotable(s) for s in sentences)
    assert not is_quotable("糖饼怎么做？") and not is_quotable("短句。")
    assert is_quotable("ミツバチは冬の間、巣箱の中で固まって暖を取ります。")


@pytest.mark.unit
def test_latin_rules_are_unchanged() -> None:
    assert not is_quotable("lower case start of a sentence here.")
    assert is_quotable("Upper case start of a sentence here.")
    text = "Feed in autumn. then wait. Check again in spring."
    assert [text[a:b] for a, b in split_sentences(text)] == ["Feed in autumn. then wait.", "Check again in spring."]


@pytest.mark.unit
def test_terms_indexing_and_queries_for_cjk() -> None:
    assert content_words("糖饼怎么做 sugar cakes") == ["糖饼", "饼怎", "怎么", "么做", "sugar", "cakes"]
    assert spaced("做了糖饼 ok").split() == ["做", "了", "糖", "饼", "ok"]
    assert cjk_phrases("糖饼?") == ['"糖 饼"']
    assert cjk_phrases("no cjk here") == []


@pytest.mark.unit
def test_nfc_makes_composed_and_decomposed_text_equal() -> None:
    decomposed = unicodedata.normalize("NFD", "café crème")
    assert decomposed != "café crème" and nfc(decomposed) == "café crème" == spaced(decomposed)


@pytest.mark.integration
def test_chinese_keywords_are_found_and_a_chinese_question_is_answered_from_chinese(tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    from ingest.pipeline import ingest
    from retrieval.index import IndexDir
    from retrieval.library import Library
    from retrieval.search import Searcher
    from tests.helpers import thread_line, write_small_corpus

    corpus = write_small_corpus(tmp_path / "src")
    with (corpus / "threads.jsonl").open("a") as f:
        texts = ["冬天怎么喂蜜蜂？", POST, "糖饼要放在蜂团上方，不要放在边上。"]
        f.write(thread_line("zh-1", "冬季喂蜂", texts) + "\n")
        f.write(thread_line("fr-1", unicodedata.normalize("NFD", "Crème de cire"),
                            [unicodedata.normalize("NFD", "Une crème à la cire d'abeille pour le cuir.")]) + "\n")
    index_dir = IndexDir(tmp_path / "ix")
    assert ingest([corpus], index_dir, embedder).errors == 0
    library = Library(index_dir, embedder)
    searcher: Searcher = library.searcher()
    lexical = searcher.search("糖饼", k=3, mode="lexical", collapse=False)
    assert lexical and lexical[0].doc_id == "zh-1"
    assert searcher.search("crème", k=1, mode="lexical")[0].doc_id == "fr-1"  # composed query, decomposed text
    answer = library.ask("糖饼应该放在哪里？")
    cited = {c.doc_id for c in answer.citations}
    assert answer.abstained or cited == {"zh-1"}, (answer.text, cited)
    if not answer.abstained:
        assert "糖饼" in answer.text
