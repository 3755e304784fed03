"""The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980), written to
agree with SQLite FTS5's ``porter`` tokenizer, which the default lexical index uses: it works
on UTF-8 bytes, words shorter than 3 or longer than 64 bytes are left alone, and only ASCII
letters count as vowels (every byte of another character is a consonant). ``stem("connections") == "connect"``.

Notation of the paper: ``m`` is the measure of a stem (its number of vowel-consonant runs),
``*v*`` "holds a vowel", ``*d`` "ends in a double consonant", ``*o`` "ends consonant-vowel-
consonant, the last not w, x or y".
"""

from __future__ import annotations

from functools import lru_cache

VOWELS = frozenset("aeiou")
MIN_BYTES, MAX_BYTES = 3, 64

STEP2 = [("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
         ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
         ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
         ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
         ("logi", "log")]
STEP3 = [("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
         ("ness", "")]
STEP4 = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou",
         "ism", "ate", "iti", "ous", "ive", "ize"]
# the longest matching suffix decides, so rules are tried longest first
STEP2.sort(key=lambda rule: -len(rule[0]))
STEP3.sort(key=lambda rule: -len(rule[0]))
STEP4.sort(key=lambda suffix: -len(suffix))


def consonant(word: str, i: int) -> bool:
    """True when ``word[i]`` is a consonant (y after a consonant is a vowel)."""
    c = word[i]
    if c in VOWELS:
        return False
    if c == "y":
        return i == 0 or not consonant(word, i - 1)
    return True


def measure(stem: str) -> int:
    """The number of vowel-consonant runs of ``stem`` (the paper's ``m``)."""
    m, previous_vowel = 0, False
    for i in range(len(stem)):
        is_consonant = consonant(stem, i)
        if is_consonant and previous_vowel:
            m += 1
        previous_vowel = not is_consonant
    return m


def has_vowel(stem: str) -> bool:
    return any(not consonant(stem, i) for i in range(len(stem)))


def double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and consonant(word, len(word) - 1)


def cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w, x or y."""
    if len(word) < 3 or word[-1] in "wxy":
        return False
    n = len(word)
    return consonant(word, n - 1) and not consonant(word, n - 2) and consonant(word, n - 3)


def _replace(word: str, rules: list[tuple[str, str]], min_measure: int) -> str:
    """The longest suffix of ``rules`` (sorted longest first) that ``word`` ends with is replaced when the stem
    before it has a measure above ``min_measure``; shorter suffixes are not tried then."""
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + replacement if measure(stem) > min_measure else word
    return word


def step1(word: str) -> str:
    if word.endswith("sses") or word.endswith("ies"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if word.endswith("eed"):
        return word[:-1] if measure(word[:-3]) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and has_vowel(word[: -len(suffix)]):
            word = word[: -len(suffix)]
            if word.endswith(("at", "bl", "iz")):
                return word + "e"
            if double_consonant(word) and word[-1] not in "lsz":
                return word[:-1]
            return word + "e" if measure(word) == 1 and cvc(word) else word
    return word


def step1c(word: str) -> str:
    return word[:-1] + "i" if word.endswith("y") and has_vowel(word[:-1]) else word


def step4(word: str) -> str:
    for suffix in STEP4:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            if suffix == "ion" and not stem.endswith(("s", "t")):
                return word
            return stem if measure(stem) > 1 else word
    return word


def step5(word: str) -> str:
    if word.endswith("e"):
        stem = word[:-1]
        m = measure(stem)
        if m > 1 or (m == 1 and not cvc(stem)):
            word = stem
    if word.endswith("ll") and measure(word) > 1:
        word = word[:-1]
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Porter stem of a lower-cased token (tokens of under 3 or over 64 UTF-8 bytes are
    returned unchanged)."""
    raw = word.encode()
    if len(raw) < MIN_BYTES or len(raw) > MAX_BYTES:
        return word
    ascii_only = len(raw) == len(word)
    work = word if ascii_only else raw.decode("latin-1")  # FTS5 stems bytes: each one a consonant
    work = step1c(step1(work))
    work = _replace(work, STEP2, 0)
    work = _replace(work, STEP3, 0)
    work = step5(step4(work))
    return work if ascii_only else work.encode("latin-1").decode("utf-8", errors="ignore")
