"""How long a silence ends a chat conversation? Measures the time-gap rule the Slack loader
uses to group messages outside threads (ingest/sources/slack_threads.py, DEFAULT_GAP).

Two real data sets with known conversation boundaries, each turned into message streams:
- chitchat: the BYU Chit-Chat Challenge corpus (PyPI ``chitchat-dataset``, MIT; 7,168 real
  two-person text chats). One stream per pair of people, all their conversations in time
  order; the truth is which conversation each message belongs to.
- cardano: the Stack Exchange dump in ../shared/data/stackexchange-cardano/dump (questions,
  answers and comments with their times). One stream for the whole site, like one quiet
  channel; the truth is which question each message belongs to.

For each gap G, a message joins the previous message's conversation when it comes at most G
after it. Scored over adjacent messages of a stream: precision = joined pairs that truly
belong together, recall = truly-together pairs that were joined; plus the share of true
conversations cut into pieces. Usage: ``python bench/slack_gap.py [--dump DIR]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import iterparse

GAPS_MINUTES = (2, 5, 10, 15, 30, 45, 60, 120, 240, 480, 1440)
Stream = list[tuple[float, str]]  # (unix seconds, true conversation id), time-sorted


def chitchat_streams() -> list[Stream]:
    """One stream per pair of chat partners (needs ``pip install chitchat-dataset``)."""
    import chitchat_dataset  # type: ignore[import-not-found]

    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    pairs: dict[frozenset[str], Stream] = defaultdict(list)
    for convo_id, convo in json.loads(path.read_text()).items():
        messages = [m for turn in convo["messages"] for m in turn]
        people = frozenset(m["sender"] for m in messages)
        for m in messages:
            pairs[people].append((_seconds(m["timestamp"]), convo_id))
    return [sorted(s) for s in pairs.values()]


def cardano_streams(dump: Path) -> list[Stream]:
    """The whole site as one stream: questions, answers and comments, labelled by question."""
    thread_of: dict[str, str] = {}
    stream: Stream = []
    for row in _rows(dump / "Posts.xml"):
        if row.get("PostTypeId") in ("1", "2"):
            thread = row["Id"] if row["PostTypeId"] == "1" else row.get("ParentId", "")
            thread_of[row["Id"]] = thread
            stream.append((_seconds(row["CreationDate"]), thread))
    for row in _rows(dump / "Comments.xml"):
        if row.get("PostId") in thread_of:
            stream.append((_seconds(row["CreationDate"]), thread_of[row["PostId"]]))
    return [sorted(stream)]


def score(streams: list[Stream], gap_seconds: float) -> dict[str, float]:
    """Adjacent-pair precision/recall/F1 and the share of true conversations split."""
    tp = fp = fn = 0
    pieces: dict[tuple[int, str], int] = defaultdict(int)
    for n, stream in enumerate(streams):
        previous: tuple[float, str] | None = None
        for moment, label in stream:
            joined = previous is not None and moment - previous[0] <= gap_seconds
            same = previous is not None and previous[1] == label
            tp, fp, fn = tp + (joined and same), fp + (joined and not same), fn + (same and not joined)
            if not (joined and same):
                pieces[(n, label)] += 1
            previous = (moment, label)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    split = sum(count > 1 for count in pieces.values()) / max(len(pieces), 1)
    purity, completeness = _cluster_scores(streams, gap_seconds)
    pc = 2 * purity * completeness / (purity + completeness) if purity + completeness else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "split": split,
            "purity": purity, "completeness": completeness, "pc": pc}


def _cluster_scores(streams: list[Stream], gap_seconds: float) -> tuple[float, float]:
    """Purity (messages in their segment's main conversation) and completeness (messages in
    their conversation's largest segment), both as shares of all messages."""
    pure = complete = total = 0
    for stream in streams:
        segments: list[list[str]] = []
        previous = None
        for moment, label in stream:
            if previous is None or moment - previous > gap_seconds:
                segments.append([])
            segments[-1].append(label)
            previous = moment
        largest: dict[str, int] = defaultdict(int)
        for segment in segments:
            counts: dict[str, int] = defaultdict(int)
            for label in segment:
                counts[label] += 1
            pure += max(counts.values())
            for label, count in counts.items():
                largest[label] = max(largest[label], count)
        complete += sum(largest.values())
        total += len(stream)
    return pure / max(total, 1), complete / max(total, 1)


def gap_percentiles(streams: list[Stream]) -> tuple[list[float], list[float]]:
    """Minutes between adjacent messages: within one conversation, and across a boundary."""
    within: list[float] = []
    across: list[float] = []
    for stream in streams:
        for (t0, a), (t1, b) in zip(stream, stream[1:], strict=False):
            (within if a == b else across).append((t1 - t0) / 60)
    return within, across


def report(name: str, streams: list[Stream]) -> None:
    """Print one data set's table (Markdown)."""
    within, across = gap_percentiles(streams)
    print(f"\n### {name}: {sum(map(len, streams)):,} messages, {len(streams):,} streams, "
          f"{len({(i, lab) for i, s in enumerate(streams) for _, lab in s}):,} conversations\n")
    for label, values in (("within a conversation", within), ("across a boundary", across)):
        if len(values) > 1:
            q = statistics.quantiles(values, n=100)
            print(f"- gap {label} (minutes): median {q[49]:.1f}, p90 {q[89]:.1f}, p95 {q[94]:.1f}, p99 {q[98]:.1f}")
    print("\n| gap | precision | recall | F1 | conversations split | purity | completeness | P/C harmonic |")
    print("|---|---|---|---|---|---|---|---|")
    for minutes in GAPS_MINUTES:
        s = score(streams, minutes * 60)
        cells = [f"{s[k]:.3f}" for k in ("precision", "recall", "f1")] + [f"{s['split']:.1%}"]
        cells += [f"{s[k]:.3f}" for k in ("purity", "completeness", "pc")]
        print(f"| {minutes} min | " + " | ".join(cells) + " |")


def _rows(path: Path) -> Iterator[dict[str, str]]:
    for _, element in iterparse(path):
        if element.tag == "row":
            yield dict(element.attrib)
        element.clear()


def _seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def main() -> None:
    """Run the measurement on every data set that is available."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, default=Path("../shared/data/stackexchange-cardano/dump"))
    args = parser.parse_args()
    try:
        report("Chit-Chat Challenge (pairs of people)", chitchat_streams())
    except ImportError:
        print("chitchat-dataset not installed: pip install chitchat-dataset")
    if (args.dump / "Posts.xml").exists():
        report("cardano.stackexchange (whole site as one channel)", cardano_streams(args.dump))


if __name__ == "__main__":
    main()
