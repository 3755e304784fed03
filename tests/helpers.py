"""Small builders of native-format input files for tests."""

from __future__ import annotations

import json
from pathlib import Path


def thread_line(thread_id: str, title: str, texts: list[str], channel: str = "general",
                visibility: object = "public", authors: list[str] | None = None) -> str:
    """One native threads-JSONL line with a post per text."""
    authors = authors or ["m01", "m02"]
    posts = [
        {"id": f"{thread_id}-p{i + 1}", "author": authors[i % len(authors)],
         "created_at": f"2025-0{1 + i % 9}-10T10:00:00Z", "text": text,
         "reply_to": None if i == 0 else f"{thread_id}-p1", "accepted": i == 1, "score": i}
        for i, text in enumerate(texts)
    ]
    return json.dumps({"id": thread_id, "title": title, "channel": channel, "url": "", "tags": ["t"],
                       "visibility": visibility, "posts": posts})


def write_small_corpus(folder: Path) -> Path:
    """A tiny valid corpus: two members, three threads, one Markdown guide."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "members.jsonl").write_text(
        json.dumps({"id": "m01", "name": "Ada", "handles": {}, "opt_out": False}) + "\n"
        + json.dumps({"id": "m02", "name": "Bo", "handles": {}, "opt_out": True}) + "\n"
    )
    (folder / "threads.jsonl").write_text("\n".join([
        thread_line("a-1", "Which smoker fuel burns longest?", ["Which fuel?", "Dry pine needles and burlap."]),
        thread_line("a-2", "Foundation or foundationless frames", ["Any advice?", "Start with a starter strip."]),
        thread_line("a-3", "Labels for market honey", ["What must a label show?", "Net weight and your address."]),
    ]) + "\n")
    (folder / "guide.md").write_text(
        "---\ntitle: Smoker guide\nauthor: m01\ntags: [gear]\n---\n# Smoker guide\n\n"
        "## Lighting\n\nLight newspaper first, then add pine needles.\n\n## Fuel\n\nBurlap smoulders slowly.\n"
    )
    return folder
