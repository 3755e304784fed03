"""A page of :mod:`ui.render` output for the browser test (``streamlit run tests/render_probe.py``):
an answer sentence quoting HTML next to a URL, which must show as written and run nothing, a
link with a scripting scheme, which must be no link, and a link whose URL has spaces."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run tests/render_probe.py` puts only tests/ on the path
    sys.path.insert(0, str(ROOT))

from ui import render  # noqa: E402

# shown, with [1] in bold, exactly as written
QUOTED = ("Paste <iframe src=https://cam.example/hive?a=1&b=2></iframe> into the club page, "
          "never <script>alert(1)</script> or :red[x] [1].")
SCRIPTED = "javascript:alert(1)"
SPACED = "https://x.example/guide (v2).pdf"


def main() -> None:
    import streamlit as st

    st.markdown(render.answer_markdown(QUOTED))
    st.caption(render.meta("#site", render.link("the original", SCRIPTED)))
    st.markdown(render.link("the guide", SPACED))


if __name__ == "__main__":
    main()
