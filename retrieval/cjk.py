"""Text without spaces between words (Chinese, Japanese; Korean is spaced but handled the
same way, harmlessly) for the lexical index, and Unicode normalisation for both sides.

FTS5's ``unicode61`` tokenizer keeps a run of CJK characters as one token, so ``糖饼`` inside
``我做了糖饼和蜂蜜`` is never found. Text stored in the lexical index therefore has a space
after every CJK character (each becomes a token), and a CJK run in a query becomes a phrase
of its character pairs: a phrase of single characters matches exactly that substring
(FTS5's ``trigram`` tokenizer would miss the many two-character words).
"""

from __future__ import annotations

import re
import unicodedata

CJK_CHARS = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs (extension A, unified, compatibility)
    "\uac00-\ud7af"  # hangul syllables
    "\U00020000-\U0002fa1f"  # CJK extensions B-F and compatibility supplement
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C (how both indexed text and questions are compared)."""
    return unicodedata.normalize("NFC", text)


def has_cjk(text: str) -> bool:
    """True when ``text`` holds at least one CJK character."""
    return CJK_CHAR.search(text) is not None


def spaced(text: str) -> str:
    """``text`` NFC-normalised with a space around every CJK character (for the FTS index)."""
    text = nfc(text)
    return CJK_CHAR.sub(lambda m: f" {m.group()} ", text) if has_cjk(text) else text


def cjk_phrases(text: str) -> list[str]:
    """FTS5 phrases for the CJK runs of a question: each distinct character pair as a phrase
    of two tokens (``"糖 饼"``), to be OR-ed (a question is one long run; its words are
    unknown, its pairs are not)."""
    pairs = dict.fromkeys(pair for run in CJK_RUN.findall(nfc(text)) for pair in bigrams(run))
    return ['"' + " ".join(pair) + '"' for pair in pairs]


def bigrams(run: str) -> list[str]:
    """Overlapping character pairs of a CJK run (a single character stands alone): the
    'words' of text without spaces, for term overlap between a question and a sentence."""
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]
