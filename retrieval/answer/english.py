"""The language-specific part of extractive answers: English word lists and patterns.

Everything the scorer knows about a language lives here, so a community writing in another
language swaps this one file (same names, its own words). The patterns look at a sentence's
opening or at the question; none of them is required to match for an answer to work.
"""

from __future__ import annotations

import re

WORDS = re.compile(r"[a-z0-9][a-z0-9'\u2019-]*")

CORRECTION = re.compile(
    r"\b(?:outdated|out of date|no longer (?:correct|true|valid|accurate|applies|the case)|"
    r"(?:is|was) wrong|incorrect|superseded|ignore (?:it|that|my))\b", re.IGNORECASE,
)
"""A later post calling an earlier one wrong or outdated."""
OWN_POST = re.compile(r"\bmy (?:\w+ )?(?:reply|answer|post|advice)\b", re.IGNORECASE)
"""A post referring to its author's own earlier post ("my reply above")."""
SELF_REFERENCE = re.compile(
    r"(?:speaking as|as (?:a|an|the|someone|somebody) \w+|for (?:years|a while|ages)\b|last (?:year|season|week|"
    r"month|winter|summer|spring|autumn|january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b|when I\b|I (?:was|have|had|did|got|used|tried|learned|lost|found|thought|once|always|"
    r"never|just)\b|I've\b|I'm\b|my (?:own )?\w+ (?:was|were|had|did|went|got)\b)", re.IGNORECASE,
)
"""Openings of sentences about the writer rather than the question (stories, credentials)."""
FILLER = re.compile(
    r"(?:sorry|thanks|thank you|good (?:question|call|instinct|news|luck|that)|great|glad|happy to|welcome|"
    r"congrat|well done|nice|deep breath|stay calm|don't panic|hope|honestly|agree|\+1|seconding|"
    r"same here|me too)\b", re.IGNORECASE,
)
"""Openings of conversational filler: thanks, sympathy, reassurance, agreement."""
IMPERATIVE_NEXT = frozenset(
    "a an the it them your this that these those one two three four five some any every all each "
    "up off out in on down back away over for to with at".split()
)
"""Words that follow a verb in the imperative ("Reduce the ...", "Put them ...")."""
FUNCTION_WORDS = frozenset(
    "a an the this that these those it its i you he she we they my your our their there here if when while "
    "as for so but and or nor in on at with from by of to one some most many all any no not what which who "
    "how why yes is are was were be been do does did has have had can could should would will may might "
    "also then just very much more less only even still once after before because since though although "
    "about into than each every both either neither other another such same".split()
)
ADVICE = re.compile(r"\b(?:you (?:should|must|need to|can|have to|want to)|don't|do not|never|always|make sure)\b",
                    re.IGNORECASE)
PROCEDURAL = re.compile(
    r"\b(?:how (?:do|can|should|to|would)|what (?:should|do|can|must|to)|should I|do I|can I|is it (?:ok|okay|safe|"
    r"fine|worth|too)|need to|must I|where (?:do|can|should)|when (?:do|should|is))\b", re.IGNORECASE,
)
"""Questions asking what to do."""
QUANTITATIVE = re.compile(
    r"\b(?:how (?:much|many|far|long|heavy|tall|high|big|wide|often|close|warm|hot|cold|thick|strong)|what "
    r"(?:size|ratio|strength|temperature|percentage|dose|distance|weight|height|count)|at what)\b|\d",
    re.IGNORECASE,
)
"""Questions asking for a figure."""
ASKING = re.compile(
    r"[?\uff1f]|^\W*(?:how|what|which|where|when|who|why|whom|whose|is|are|am|do|does|did|can|could|should|would|"
    r"will|shall|may i|any|someone|somebody|some one|some body|please|pls|plz|kindly|need|help|suggest|recommend|"
    r"advi[cs]e|guide|tell)\b|\b(?:which one|what (?:is|are|do|does|should|would|can)|how (?:can|do|does|to|much|"
    r"many|long|should)|where (?:can|to|do|is|are)|is it (?:possible|true|legal|ok|okay)|is there|are there|"
    r"do you (?:think|believe|know)|(?:can|could|would|will) (?:i|we|you|u|anyone|anybody|someone|somebody|some one)|"
    r"looking for|any ?one|any ?body|some ?one (?:know|tell|help)|suggestions?|recommendations?|advi[cs]e|help me|"
    r"need help|wondering|(?:like|want|wish|wanna) (?:to )?know|pl(?:ea)?se?|pls|plz|kindly|any (?:idea|ideas|tips|"
    r"info|information|update|suggestion)|let me know)\b", re.IGNORECASE,
)
"""A title or sentence that asks: a question mark, an opening question word or request ("Can
anyone ...", "Please suggest ..."), or a request anywhere ("looking for", "any ideas", "is there").
A thread whose first post and title have none informs (an announcement, guide or report): its
first post is content, not a question (see :func:`retrieval.answer.selection.opener_asks`)."""
ANAPHORA = re.compile(r"(?:it|it's|that|that's|this|these|those|they|they're|he|she|so|also|but|and|then)\b", re.I)
"""Openings that lean on a previous sentence for their subject."""
LEAN_ON_PREVIOUS = re.compile(
    r"(?:why|because|reason|so|that|that's|this|these|those|it|it's|they|they're|he|she|also|but|and|then|"
    r"otherwise|however|instead|which|same)\b[:,]?", re.IGNORECASE,
)
"""Openings of a sentence that does not stand alone: its subject or point is in the sentence
before ("Why: ...", "That is ...", "It works ..."); such a sentence is quoted together with
the one before it, or not at all."""
POINTS_AT_QUESTION = re.compile(r"(?:that|that's|this|this's|it|it's|these|those|they|they're|sounds like)\b",
                                re.IGNORECASE)
"""Openings whose subject, when they open a reply, is the thing the asker described ("That's
chalkbrood: ...", "It's a legal limit ..."): such a first sentence answers the question and is
quoted on its own (elsewhere these openings lean on the sentence before, see LEAN_ON_PREVIOUS)."""
NOT_ANSWERED = "The community has not answered this yet."
CLOSEST = "The closest discussions are: {titles}."
YOU_COULD_ASK = "You could ask {names}."
OR = " or "
