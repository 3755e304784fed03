"""Extractive answer quality on the sample community (issue 3, retrieval/answer.py).

An evaluation set written for this benchmark (not taken from the corpus text): questions a
member might ask, in words of their own, each with the posts or resources that hold the real
answer and one to three key facts (regexes, case-insensitive) that a good answer states; plus
off-topic questions that must abstain. Every question goes through the real ``Library.ask``
on an index of ``corpus/sample`` (built incrementally under ``var/bench-cache/answers``),
as a caller without groups (public content only).

Metrics:
- source recall: share of on-topic questions whose citations include an expected source;
- first-citation hit: share whose citation [1] is an expected source;
- key-fact recall: share of all key facts found in the answer text (and the share of
  questions with every fact);
- first sentence states a key fact: share of answered on-topic questions whose answer's first
  sentence (up to its first marker) already holds one of the key facts (a reader who stops there
  got an answer);
- abstention accuracy: on-topic answered and off-topic abstained (reported separately);
- mean sentences and characters of the (non-abstaining) answers;
- time per ``compose_answer`` (same hits, search excluded) and per ``Library.ask``.

Not a test: the set is small and was written by looking at the corpus, so it guards against
regressions and shows what a change does, it does not prove generalisation.

    .venv/bin/python bench/answers.py            # --no-write: print only; -v: every answer
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    REPO,
    SAMPLE_CORPUS,
    CachedEmbedder,
    ingest_or_fail,
    section_header,
    table,
    write_section,
)

INDEX = REPO / "var" / "bench-cache" / "answers" / "index"
MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Case:
    question: str
    sources: tuple[str, ...]
    """Post ids, or resource ids (``resources/<file>``), any of which holds the answer."""
    facts: tuple[str, ...]
    """Regexes a good answer matches (case-insensitive)."""


R = "resources/"
ON_TOPIC: list[Case] = [
    Case("My child was stung by a bee, what should I do?", ("cn-009-p2", "cn-009-p7"),
         (r"sting out|scrape|pinch", r"cold pack|wash")),
    Case("How do I stop my colony from swarming?",
         (f"{R}swarm-prevention.md", "sm-001-p2", "sm-002-p2", "sm-008-p3", "sm-010-p2"),
         (r"space|super|congest", r"split|artificial swarm|demaree", r"queen cell")),
    Case("Is it ok to bottle honey at 20% moisture?",
         ("hv-001-p5", "hv-001-p6", "hv-012-p2", f"{R}honey-extraction.md"), (r"18\.6", r"ferment")),
    Case("What strength of sugar syrup do I give my bees before winter?",
         ("sm-011-p2", "sm-014-p3", f"{R}winter-preparation.md", "hv-011-p2"), (r"2:1",)),
    Case("Do beekeepers in Larkport have to register their hives now?",
         ("cn-001-p4", "cn-002-p1", "cn-002-p3", f"{R}larkport-city-rules.html"),
         (r"regist", r"environmental health|30 june|31 march|1 april")),
    Case("How close to a public path am I allowed to keep a hive?",
         ("cn-005-p5", "cn-002-p1", "cn-005-p2", f"{R}larkport-city-rules.html"), (r"\b3 ?m\b",)),
    Case("How tall does a screen need to be so the bees fly above my neighbours?",
         ("cn-006-p2", "cn-002-p1", "cn-005-p2", "cn-005-p5", f"{R}larkport-city-rules.html"), (r"\b2 ?m\b",)),
    Case("Does sprinkling icing sugar on the bees get rid of varroa?", ("hh-001-p5", "hh-001-p6", "hh-001-p9"),
         (r"not (an )?effective|counting|monitoring|out of date|outdated",)),
    Case("How many bees go in a mite wash and at what count do I treat?",
         ("hh-002-p2", "hh-001-p5", f"{R}varroa-management.md"), (r"300", r"3 (mites )?per 100")),
    Case("How much oxalic acid solution do I trickle between each pair of frames?",
         ("hh-004-p2", f"{R}varroa-management.md"), (r"5 ml",)),
    Case("Can I put formic acid strips on during a heatwave?", ("hh-007-p2", "hh-002-p6", f"{R}varroa-management.md"),
         (r"29|27", r"wait|window|temperature")),
    Case("How do I protect spare frames from wax moth until spring?", ("hh-003-p2", "hh-003-p3", "hh-003-p4"),
         (r"freez|-18", r"cold|light")),
    Case("What are the hard white chalk-like lumps the bees are carrying out?", ("hh-005-p2",),
         (r"chalkbrood",)),
    Case("How can I check a sunken capped cell for American foulbrood?", ("hh-006-p2",),
         (r"matchstick|twig", r"rope|ropy|ropiness")),
    Case("My rooftop hive overheats in summer, how do I keep it cool?", ("cn-003-p2", "cn-003-p3", "cn-003-p6"),
         (r"shade", r"stand|board|lid")),
    Case("How much does a hive full of honey weigh?", ("cn-004-p2", "cn-004-p4", "gb-001-p3"),
         (r"70-80|71\.4|80 kg|12-15 kg",)),
    Case("What size holes should a mouse guard have and when does it go on?", ("gb-007-p2",),
         (r"9\.5", r"october")),
    Case("What should I burn in my smoker so it doesn't go out?", ("gb-004-p2", "gb-004-p3", "gb-004-p5"),
         (r"pine needles|hessian|pellets",)),
    Case("What is bee space and how wide is it?", ("gb-002-p2", f"{R}glossary.txt"), (r"6-9 ?mm|6 ?mm|9 ?mm",)),
    Case("Why does the battery in my hive scale go flat after a few weeks?", ("gb-011-p2", "gb-011-p4"),
         (r"sleep", r"hx711|led|regulator|dev board")),
    Case("Is it safe to warm set honey in the oven at 60 degrees?",
         ("hv-004-p2", f"{R}honey-extraction.md"), (r"40 ?°c", r"hmf|enzyme")),
    Case("What information must be on the label of a jar of honey I sell?", ("hv-006-p2",),
         (r"weight", r"name|address|best before")),
    Case("How do I turn cappings into clean beeswax?", ("hv-007-p2",), (r"water", r"drain|wash|melt")),
    Case("How many kilos of honey should a colony keep for the winter?",
         ("hv-011-p2", "sm-011-p2", "sm-006-p2", f"{R}winter-preparation.md"), (r"18-20 ?kg|20 ?kg",)),
    Case("I found lots of queen cells on the bottom bars, what does that mean?",
         ("sm-001-p2", f"{R}swarm-prevention.md"), (r"swarm",)),
    Case("When is it time to add another honey super?", ("sm-003-p2", f"{R}swarm-prevention.md"),
         (r"7-8|seven or eight",)),
    Case("Who should decide whether an office roof can hold a beehive?", ("cn-004-p2", "cn-004-p5", "cn-004-p6"),
         (r"engineer",)),
    Case("How do I combine two colonies using newspaper?", ("sm-013-p6", "sm-014-p2", "sm-013-p2"),
         (r"newspaper", r"top|bottom|slits")),
    Case("Bees are fighting at my hive entrance, what do I do right away?", ("sm-012-p2",),
         (r"entrance", r"wet (sheet|towel)|reduce")),
    Case("How do I calibrate my refractometer?", ("hv-002-p2",), (r"oil", r"block")),
    Case("Where do I get public liability insurance for my bees?", ("cn-011-p2",), (r"association",)),
    Case("What protective clothing should a new beekeeper buy?", ("gb-005-p2", "gb-005-p3"),
         (r"suit", r"nitrile|gloves")),
    Case("How can I dry honey frames that are too wet to extract?", ("hv-012-p2", f"{R}honey-extraction.md"),
         (r"dehumidifier",)),
    Case("What are the brown streaks on my hive after a long cold spell?", ("hh-013-p2", "hh-013-p4"),
         (r"dysentery",)),
]
OFF_TOPIC: list[str] = [
    "How do I reset the password on my home router?",
    "What is a good recipe for vegetable lasagne?",
    "Who won the football world cup in 2018?",
    "How do I renew an expired passport?",
    "What is the best way to learn the violin as an adult?",
    "How many moons does Jupiter have?",
    "How do I fix a dripping kitchen tap?",
    "Which programming language should I learn first?",
]


@dataclass
class Result:
    case: Case | None
    question: str
    abstained: bool
    cited: list[str]
    facts_found: int
    sentences: int
    chars: int
    text: str
    confidence: float
    lead_fact: bool
    """The answer's first sentence (up to its first marker) states a key fact."""


def cited_ids(answer: object) -> list[str]:
    """Post id, or resource doc id, of each citation in order."""
    return [c.post_id or c.doc_id for c in answer.citations]  # type: ignore[attr-defined]


def evaluate(library: object, case: Case | None, question: str) -> Result:
    answer = library.ask(question)  # type: ignore[attr-defined]
    facts = case.facts if case else ()
    found = sum(bool(re.search(f, answer.text, re.IGNORECASE)) for f in facts)
    sentences = sum(len(c.spans) for c in answer.citations)
    lead = MARKER.split(answer.text, maxsplit=1)[0]
    lead_fact = any(re.search(f, lead, re.IGNORECASE) for f in facts)
    return Result(case, question, answer.abstained, cited_ids(answer), found, sentences,
                  len(MARKER.sub("", answer.text)), answer.text, answer.confidence, lead_fact)


def timings(library: object, questions: list[str], rounds: int) -> tuple[float, float]:
    """Median ms per ``compose_answer`` (hits fixed) and per ``Library.ask``."""
    from retrieval.answer import ANSWER_HITS, compose_answer
    from retrieval.experts import EXPERT_HITS

    searcher = library.searcher()  # type: ignore[attr-defined]
    hits = {q: searcher.search(q, k=EXPERT_HITS, collapse=False)[:ANSWER_HITS] for q in questions}
    compose, ask = [], []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            compose_answer(q, hits[q], library.embedder, searcher.snapshot.catalog,  # type: ignore[attr-defined]
                           searcher.snapshot.lexical)
            compose.append(time.perf_counter() - start)
            start = time.perf_counter()
            library.ask(q)  # type: ignore[attr-defined]
            ask.append(time.perf_counter() - start)
    return statistics.median(compose) * 1000, statistics.median(ask) * 1000


def semeval_section(args: argparse.Namespace) -> None:
    """SemEval-2015 Qatar Living: ingest, ask every question, baselines, calibration; the
    abstain threshold is chosen on the dev questions and judged on the held-out test ones."""
    from bench import semeval
    from retrieval.answer import ABSTAIN_BELOW, ExtractiveAnswerer
    from retrieval.index import IndexDir
    from retrieval.library import Library

    threads = semeval.read_threads()
    if args.limit:
        threads = threads[: args.limit]
    index = semeval.FOLDER / "index"
    embedder = CachedEmbedder(index_embedder(index))
    ingest_or_fail([semeval.write_corpus(threads)], index, embedder)
    library = Library(IndexDir(index), embedder)
    ungated = Library(IndexDir(index), embedder, answerer=ExtractiveAnswerer(abstain_below=0.0))
    results = semeval.ask_all(library, ungated, threads)
    parts = {name: [r for r in results if r.split == name] for name in ("dev", "test")}
    chosen = semeval.choose_threshold(parts["dev"])
    columns = {f"{name} ({len(rows)})": semeval.figures(rows, [t for t in threads if t.get("split", "dev") == name])
               for name, rows in parts.items()}
    columns[f"test at the dev-chosen {chosen:.2f}"] = semeval.figures(
        semeval.gated(parts["test"], chosen), [t for t in threads if t.get("split") == "test"])
    names = list(next(iter(columns.values())))
    rows = [(name, *(column[name] for column in columns.values())) for name in names]
    per_bin, per_threshold = semeval.calibration(parts["dev"])
    for r in results[: 10 if args.verbose else 0]:
        print(f"{r.question_id} {r.confidence:.2f} {r.good} dense {r.dense_good}\n   {r.text[:400]}")
    for row in rows:
        print(f"{row[0]:56}", " ".join(f"{v:8.3f}" for v in row[1:]))
    print(per_bin, per_threshold, f"chosen on dev: {chosen:.2f}", sep="\n\n")
    body = "\n".join([
        section_header("Cited answers on SemEval-2015 Qatar Living (issue 12)",
                       "python bench/answers.py --set semeval"),
        f"{len(threads)} real forum questions (the official dev and test parts); all threads in one index; each "
        "question asked through `Library.ask` as a caller without groups (abstaining below "
        f"{ABSTAIN_BELOW:.2f}, the product default). A citation is Good only if it is a comment labelled Good "
        "for that question (comments of other threads and question posts count as not Good). Baselines on the "
        "same index in the same run: the best 1 and 3 comments by dense similarity alone. Anything tuned "
        "(weights, the abstain threshold) was chosen on the dev part; the test part is held out. The last "
        f"column re-gates the test answers at the threshold chosen on dev ({chosen:.2f}: the best dev precision "
        "while answering >= 90% of dev)." + (f" {args.label}" if args.label else ""),
        "", table(["metric", *columns], rows),
        "", "Calibration on dev: precision per confidence bin (answered or not)", "",
        per_bin, "", "Per abstain threshold (dev)", "", per_threshold,
    ])
    if not args.no_write:
        write_section("answers-semeval", body)


def index_embedder(index: Path) -> object:
    """The embedder of the runtime that built ``index`` (a new index gets the default), as
    the product opens an existing index."""
    from retrieval.embedding import built_with, load_embedder

    return load_embedder(None, built_with(index))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds over all questions")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every answer")
    parser.add_argument("--label", default="", help="a note added to the results section")
    parser.add_argument("--set", choices=("sample", "semeval", "both"), default="both", help="which question set")
    parser.add_argument("--limit", type=int, default=0, help="SemEval: only the first N threads (0: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    if args.set in ("semeval", "both"):
        semeval_section(args)
    if args.set in ("sample", "both"):
        sample_section(args)


def sample_section(args: argparse.Namespace) -> None:
    """The 42-question set written for the sample community."""
    from ingest.pipeline import ingest
    from retrieval.index import IndexDir
    from retrieval.library import Library

    embedder = index_embedder(INDEX)
    index_dir = IndexDir(INDEX)
    ingest([SAMPLE_CORPUS], index_dir, embedder)
    library = Library(index_dir, embedder)
    library.ask("warm up the model and caches")

    results = [evaluate(library, c, c.question) for c in ON_TOPIC]
    results += [evaluate(library, None, q) for q in OFF_TOPIC]
    on = [r for r in results if r.case]
    off = [r for r in results if not r.case]
    answered = [r for r in on if not r.abstained]
    n_facts = sum(len(r.case.facts) for r in on if r.case)
    figures = {
        "source recall": sum(bool(set(r.cited) & set(r.case.sources)) for r in on if r.case) / len(on),
        "first-citation hit": sum(bool(r.cited) and r.cited[0] in r.case.sources for r in on if r.case) / len(on),
        "key-fact recall": sum(r.facts_found for r in on) / n_facts,
        "all facts present": sum(r.facts_found == len(r.case.facts) for r in on if r.case) / len(on),
        "first sentence states a key fact": sum(r.lead_fact for r in answered) / len(answered) if answered else 0.0,
        "on-topic answered": len(answered) / len(on),
        "off-topic abstained": sum(r.abstained for r in off) / len(off),
        "mean sentences": statistics.mean(r.sentences for r in answered) if answered else 0.0,
        "mean characters": statistics.mean(r.chars for r in answered) if answered else 0.0,
    }
    compose_ms, ask_ms = timings(library, [c.question for c in ON_TOPIC] + OFF_TOPIC, args.rounds)
    figures["compose_answer ms (median)"] = compose_ms
    figures["Library.ask ms (median)"] = ask_ms

    for r in results:
        expected = r.case.sources if r.case else ()
        ok_source = "-" if not r.case else ("ok" if set(r.cited) & set(expected) else "MISS")
        facts = f"{r.facts_found}/{len(r.case.facts)}" if r.case else ("abstained" if r.abstained else "ANSWERED")
        print(f"{ok_source:4} {facts:9} {r.confidence:.2f} {r.question}")
        if args.verbose or (r.case and (ok_source == "MISS" or r.facts_found < len(r.case.facts))):
            print(f"      cited {r.cited}\n      {r.text[:600]}")
    print()
    for name, value in figures.items():
        print(f"{name:28} {value:.3f}")

    budgets = budget_rows(index_dir, embedder)
    body = "\n".join([
        section_header("Extractive answers on the sample community (issue 3)", "python bench/answers.py"),
        f"{len(ON_TOPIC)} on-topic questions (each with its answer posts/resources and {n_facts} key facts in all) "
        f"and {len(OFF_TOPIC)} off-topic ones, written for `bench/answers.py`, asked through `Library.ask` "
        "on an index of `corpus/sample` as a caller without groups. Timings: median over "
        f"{args.rounds} rounds of every question, in process (no HTTP)."
        + (f" {args.label}" if args.label else ""),
        "",
        table(["metric", "value"], [(k, v) for k, v in figures.items()]),
        "", "Key-fact recall against answer length: the same questions with other reading budgets "
        "(`Tuning.max_sentences` / `max_chars`; the shipped one is marked). Citations per answer stay capped at "
        "`max_sources`, so a longer budget quotes more of the same posts.", "",
        table(["sentences / characters at most", "key-fact recall", "mean sentences", "mean characters"], budgets),
    ])
    if not args.no_write:
        write_section("answers", body)


BUDGETS = ((4, 900), (6, 1400), (8, 1600), (12, 1400))
"""(max_sentences, max_chars) pairs the length table compares."""


def budget_rows(index_dir: object, embedder: object) -> list[tuple[str, float, float, float]]:
    """Key-fact recall, mean sentences and mean characters of the on-topic answers per reading budget."""
    from dataclasses import replace

    from retrieval.answer import ExtractiveAnswerer
    from retrieval.answer.selection import Tuning
    from retrieval.library import Library

    shipped = Tuning()
    rows = []
    for sentences, chars in BUDGETS:
        answerer = ExtractiveAnswerer(tuning=replace(shipped, max_sentences=sentences, max_chars=chars))
        library = Library(index_dir, embedder, answerer=answerer)  # type: ignore[arg-type]
        results = [evaluate(library, c, c.question) for c in ON_TOPIC]
        answered = [r for r in results if not r.abstained] or results
        mark = " (shipped)" if (sentences, chars) == (shipped.max_sentences, shipped.max_chars) else ""
        rows.append((f"{sentences} / {chars}{mark}", sum(r.facts_found for r in results)
                     / sum(len(c.facts) for c in ON_TOPIC), statistics.mean(r.sentences for r in answered),
                     statistics.mean(r.chars for r in answered)))
    return rows


if __name__ == "__main__":
    main()
