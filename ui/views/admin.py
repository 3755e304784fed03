"""Admin (facilitators; needs a facilitator key): index statistics, last ingest, feedback, knowledge gaps."""

from __future__ import annotations

import streamlit as st

from ui import render
from ui.client import ApiError, Client, Filters, Json

COUNTS = ("threads", "posts", "resources", "chunks", "members")


def render_view(client: Client, filters: Filters) -> None:
    """Everything a facilitator checks after an ingest and from time to time."""
    st.title("Admin")
    if not client.api_key:
        st.info("The Admin view needs an API key: enter one under Connection in the sidebar.")
        return
    stats = client.stats()
    _index(stats)
    _last_ingest(stats)
    try:
        summary, gaps = client.feedback_summary(), client.gaps()
    except ApiError as e:
        if e.status != 403:
            raise
        st.info("Feedback and knowledge gaps need a facilitator key; yours is a member key.")
        return
    _feedback(summary)
    _gaps(gaps)


def _index(stats: Json) -> None:
    st.subheader("Index")
    for col, name in zip(st.columns(len(COUNTS)), COUNTS, strict=True):
        col.metric(name.capitalize(), stats["counts"].get(name, 0))
    model = stats["model"]
    size = f"{stats['size_bytes'] / 1024 / 1024:.1f} MB" if stats.get("size_bytes") is not None else ""
    st.caption(render.meta(f"model {model['name']} ({model['dimension']} dims)", f"{stats['vector_index']} index",
                           size, f"snapshot {stats['snapshot']}"))
    st.caption("Counts of what your key may see.")


def _last_ingest(stats: Json) -> None:
    st.subheader("Last ingest")
    last = stats.get("last_ingest") or {}
    if "files" not in last:
        st.caption(f"Finished {render.moment(last.get('finished_at') or stats.get('created_at'))}. The report "
                   "(files, problems) is shown to facilitator keys whose groups see every document only.")
        return
    kept, files = last.get("documents_kept", 0), render.count(last.get("files", 0), "file")
    st.markdown(
        f"{render.moment(stats.get('created_at'))} · {files} in {last.get('seconds', 0):g} s · "
        f"documents: {last.get('documents_new', 0)} new, {last.get('documents_changed', 0)} changed, "
        f"{last.get('documents_unchanged', 0)} unchanged, {last.get('documents_removed', 0)} removed"
        f"{f', {kept} kept as indexed (their source had errors)' if kept else ''} · "
        f"chunks: {last.get('chunks_embedded', 0)} embedded, {last.get('chunks_reused', 0)} reused · "
        f"{render.count(last.get('errors', 0), 'error')}, {render.count(last.get('warnings', 0), 'warning')}"
    )
    for problem in last.get("problems") or []:
        st.caption(render.esc(str(problem)))


def _feedback(summary: Json) -> None:
    st.subheader("Feedback")
    counts = summary["counts"]
    labels = {"answer_helpful": "Answers: helpful", "answer_not_helpful": "Answers: not helpful",
              "expert_helpful": "People: helpful", "expert_not_helpful": "People: not helpful"}
    for col, (name, label) in zip(st.columns(len(labels)), labels.items(), strict=True):
        col.metric(label, counts.get(name, 0))
    latest = [
        {"when": render.day(f["created_at"]), "on": f["target"], "helpful": bool(f["helpful"]),
         "question": f.get("question") or f.get("member_id") or "", "comment": f["comment"]}
        for f in summary["latest"]
    ]
    if latest:
        st.dataframe(latest, hide_index=True, width="stretch")


def _gaps(gaps: list[Json]) -> None:
    st.subheader("Knowledge gaps")
    st.caption("Questions of the last 30 days that abstained or got a weak answer, grouped by meaning.")
    if not gaps:
        st.success("No unanswered questions recently.")
        return
    real = [g for g in gaps if not g.get("off_topic")]
    off = [g for g in gaps if g.get("off_topic")]
    for gap in real:
        _gap(gap)
    if off:
        st.caption(f"Off-topic ({len(off)}): nothing your key may see comes close; the community talks about "
                   "something else.")
        for gap in off:
            _gap(gap)


def _gap(gap: Json) -> None:
    people = int(gap.get("askers") or gap["count"])
    asked = f"asked {gap['count']}×" + (f" by {people} people" if people > 1 else "")
    private = gap.get("private_answer") or []
    marks = " · off-topic" if gap.get("off_topic") else " · answered in a private group you can see" if private else ""
    with st.expander(f"{render.esc(gap['label'])} — {asked}{marks}"):  # a member's words, shown as written
        for doc in private:
            where = ", ".join(doc.get("groups") or [])
            st.markdown(f"Answered in a private group you can see: {render.link(doc['title'], doc.get('url'))}"
                        f" ({render.esc(where)}). Some who asked could not see it: publish it, or answer in public.")
        for q in gap["questions"]:
            status = "no answer" if q["abstained"] else f"confidence {q['confidence']:.0%}"
            st.markdown(f"- {render.esc(q['question'])} · {render.day(q['asked_at'])} · {status}")
