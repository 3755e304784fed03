"""Everything a question touches: the on-disk index, the embedder, search, answers, experts.

Read top to bottom: ``records`` (the shapes), ``embedding`` (text -> vectors), ``vectors``
(FAISS), ``index`` (one index directory: SQLite + FAISS + manifest, snapshot swaps),
``search`` (hybrid retrieval), ``answer`` (cited answers), ``experts`` (who to ask).
"""
