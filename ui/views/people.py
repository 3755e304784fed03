"""People: the member directory, with the topics each is strongest in and opt-out shown."""

from __future__ import annotations

import streamlit as st

from ui import cached
from ui.client import Client, Filters, Json

ROW_PX = 35
"""Height of a dataframe row, to show the whole directory without an inner scrollbar."""


def render_view(client: Client, filters: Filters) -> None:
    """A searchable table of members from GET /members (filters do not apply here)."""
    st.title("People")
    st.caption("Strengths come from what each member answered and wrote that you can see. "
               "Members who opted out are never suggested as people to ask.")
    members = cached.members(client)
    needle = st.text_input("Find a person, channel or topic", key="people_q").strip().lower()
    rows = [_row(m) for m in members if not needle or needle in _haystack(m)]
    if not rows:
        st.info("Nobody matches.")
        return
    st.dataframe(
        rows, hide_index=True, width="stretch", height=min(ROW_PX * (len(rows) + 1) + 3, 900),
        column_config={
            "Strongest in": st.column_config.ListColumn(width="large"),
            "Channels": st.column_config.ListColumn(),
        },
    )
    opted_out = [m["name"] for m in members if m["opt_out"]]
    if opted_out:
        st.caption("Opted out of suggestions: " + ", ".join(opted_out))


def _row(member: Json) -> dict[str, object]:
    handles = member.get("handles") or {}
    return {
        "Name": member["name"],
        "Strongest in": member["top_tags"],
        "Answers": member["answers"],
        "Accepted": member["accepted_answers"],
        "Questions": member["questions"],
        "Resources": member["resources"],
        "Suggested": "opted out" if member["opt_out"] else "yes",
        "Channels": member["top_channels"],
        "Handles": " ".join(sorted(set(handles.values()))),
    }


def _haystack(member: Json) -> str:
    handles = " ".join((member.get("handles") or {}).values())
    return " ".join([member["name"], handles, *member["top_tags"], *member["top_channels"]]).lower()
