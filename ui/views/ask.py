"""Ask (the landing view): a chat of questions and cited answers, with who can help."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import streamlit as st

from ui import cached, render
from ui.client import ApiError, Client, Filters, Json
from ui.views import feedback, sources

EXAMPLES = "e.g. How do I treat varroa in winter?"


def render_view(client: Client, filters: Filters) -> None:
    """The chat: earlier turns, then the new question's answer (streamed as it is written
    when the API has a writer model)."""
    st.title("Ask the community")
    st.caption("Answers are built only from what members wrote; every sentence cites its source.")
    history: list[dict[str, Any]] = st.session_state.setdefault("history", [])
    question = st.chat_input(f"Ask a question in plain words ({EXAMPLES})", key="question")
    for turn in history:
        _turn(client, turn)
    if question and question.strip():
        turn = _ask(client, question.strip(), filters)
        history.append(turn)
        _turn(client, turn)
    elif not history:
        st.info("Ask anything about the community's topics. Filters in the sidebar narrow the sources.")


def _ask(client: Client, question: str, filters: Filters) -> dict[str, Any]:
    """One turn: the question and either the API's answer or its one-line error. While it is
    asked, checked sentences of a written answer show as they arrive; the finished turn
    replaces them."""
    live = st.empty()
    holder: dict[str, Json] = {}
    try:
        with live.container():
            with st.chat_message("user"):
                st.markdown(render.esc(question))
            with st.chat_message("assistant"), st.spinner("Reading what the community said…"):
                st.write_stream(_sentences(client.ask_stream(question, filters), holder))
    except ApiError as e:
        return {"question": question, "error": str(e)}
    finally:
        live.empty()
    return {"question": question, "result": holder["answer"]}


def _sentences(events: Iterator[Json], holder: dict[str, Json]) -> Iterator[str]:
    """The streamed sentences as Markdown; the final answer is kept in ``holder["answer"]``."""
    for event in events:
        if event["event"] == "sentence":
            yield render.answer_markdown(event["text"]) + " "
        elif event["event"] == "answer":
            holder["answer"] = {k: v for k, v in event.items() if k != "event"}


def _turn(client: Client, turn: dict[str, Any]) -> None:
    with st.chat_message("user"):
        st.markdown(render.esc(turn["question"]))
    with st.chat_message("assistant"):
        if "error" in turn:
            st.error(turn["error"])
            return
        result: Json = turn["result"]
        _answer(result)
        sources.cards(client, result["citations"], result["answer_id"])
        _people(client, result, turn["question"])
        feedback.buttons(client, result["answer_id"])


def _answer(result: Json) -> None:
    if result["abstained"]:
        titles = list(dict.fromkeys(h["title"] for h in result.get("closest", [])))
        named = "; ".join(f"\u201c{t}\u201d" for t in titles)
        closest = f" The closest discussions are: {named}." if titles else ""
        st.warning("**The community has not answered this yet.**" + render.esc(closest))
        return
    st.markdown(render.answer_markdown(result["answer"]))
    st.caption(f"Confidence {result['confidence']:.0%} · {render.count(len(result['citations']), 'cited passage')}")


def _people(client: Client, result: Json, question: str) -> None:
    experts = result["experts"]
    if experts:
        st.markdown("**People who can help**")
        cols = st.columns(len(experts))
        names = labels(experts)
        for col, expert in zip(cols, experts, strict=True):
            with col.container(border=True):
                st.markdown(f"**{render.esc(names[expert['member_id']])}**")
                if expert.get("why"):
                    st.markdown(render.esc(expert["why"]))
                for item in expert["evidence"]:
                    verb = render.ROLE_WORDS.get(item["role"], item["role"])
                    st.caption(f"{verb} {render.link(item['title'], item['url'])} · {render.day(item['created_at'])}")
                feedback.expert_buttons(client, result["answer_id"], expert["member_id"])
    if result["abstained"]:
        who = "them" if experts else "the community"
        st.markdown(f"**Ask {who} directly** — copy this into the forum or chat:")
        st.code(draft(question, experts, _handles(client), result.get("closest", [])), language=None)


def _handles(client: Client) -> dict[str, str]:
    """Member id to a handle to address them by (chat, then forum), when the directory loads."""
    try:
        people = cached.members(client)
    except ApiError:
        return {}
    found = {}
    for person in people:
        handles = person.get("handles") or {}
        handle = handles.get("chat") or handles.get("forum")
        if handle:
            found[person["id"]] = handle if handle.startswith("@") else "@" + handle
    return found


def labels(experts: list[Json]) -> dict[str, str]:
    """Each suggested member's display name, with their member id when another suggested
    member has the same name (two "Sam Lee"s must not read as one person)."""
    counts = Counter(e["name"] for e in experts)
    return {e["member_id"]: e["name"] if counts[e["name"]] == 1 else f"{e['name']} ({e['member_id']})"
            for e in experts}


def draft(question: str, experts: list[Json], handles: dict[str, str], closest: list[Json]) -> str:
    """A ready-to-post question addressed to the suggested members (by handle, else by
    :func:`labels`)."""
    label = labels(experts)
    names = " ".join(handles.get(e["member_id"]) or label[e["member_id"]] for e in experts)
    opening = f"{names} — could you help with this?" if experts else "Hi all — has anyone dealt with this?"
    lines = [opening, "", question]
    titles = list(dict.fromkeys(h["title"] for h in closest))[:3]
    if titles:
        lines += ["", "I searched the archive first; the closest discussions were: "
                  + "; ".join(f"“{t}”" for t in titles) + "."]
    return "\n".join(lines)
