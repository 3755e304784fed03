"""Feedback sent to POST /feedback: on an answer (helpful / not, optional comment) and on a
suggested member (helpful / not)."""

from __future__ import annotations

import streamlit as st

from ui.client import ApiError, Client

THANKS = "Thanks — your feedback was recorded."


def buttons(client: Client, answer_id: str) -> None:
    """The feedback row of one answer; once sent, a thank-you line instead."""
    if answer_id in st.session_state.setdefault("feedback_sent", set()):
        st.success(THANKS)
        return
    if not client.api_key:
        st.caption("Feedback needs an API key: enter one under Connection in the sidebar.")
        return
    failed = st.session_state.setdefault("feedback_failed", {}).pop(answer_id, None)
    if failed:
        st.error(failed)
    comment, left, right = st.columns([4, 1, 1], vertical_alignment="bottom")
    comment.text_input("Was this helpful? Comment (optional)", key=f"comment-{answer_id}", max_chars=2000)
    left.button("Helpful", icon=":material/thumb_up:", key=f"up-{answer_id}", on_click=_send,
                args=(client, answer_id, True))
    right.button("Not helpful", icon=":material/thumb_down:", key=f"down-{answer_id}", on_click=_send,
                 args=(client, answer_id, False))


def _send(client: Client, answer_id: str, helpful: bool) -> None:
    """Button callback: post the feedback; remember success, or the error to show once."""
    try:
        client.feedback(helpful, answer_id, st.session_state.get(f"comment-{answer_id}", ""))
    except ApiError as e:
        st.session_state.feedback_failed[answer_id] = str(e)
        return
    st.session_state.feedback_sent.add(answer_id)


def expert_buttons(client: Client, answer_id: str, member_id: str) -> None:
    """Helpful / not helpful on one suggested member; once sent, a thank-you line instead."""
    key = f"{answer_id}:{member_id}"
    if key in st.session_state.setdefault("expert_feedback_sent", set()):
        st.caption(THANKS)
        return
    if not client.api_key:
        return
    failed = st.session_state.setdefault("expert_feedback_failed", {}).pop(key, None)
    if failed:
        st.error(failed)
    left, right = st.columns(2)
    left.button("Good suggestion", icon=":material/thumb_up:", key=f"eup-{key}", on_click=_send_expert,
                args=(client, answer_id, member_id, True))
    right.button("Not the right person", icon=":material/thumb_down:", key=f"edown-{key}",
                 on_click=_send_expert, args=(client, answer_id, member_id, False))


def _send_expert(client: Client, answer_id: str, member_id: str, helpful: bool) -> None:
    """Button callback: post feedback on a suggested member; remember success or the error."""
    key = f"{answer_id}:{member_id}"
    try:
        client.expert_feedback(helpful, member_id, answer_id)
    except ApiError as e:
        st.session_state.expert_feedback_failed[key] = str(e)
        return
    st.session_state.expert_feedback_sent.add(key)
