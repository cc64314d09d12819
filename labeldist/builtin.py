"""Built-in texts for ``labeldist demo`` and the quickstart: a small emotion task written for labeldist.

The demo pool gives the few-shot demonstrations; the queries are what the demo classifies.
They are illustrative, not a benchmark (the alignment part of the demo uses real raters).
"""

from __future__ import annotations

from labeldist.records import Example, LabelSet

EMOTIONS = LabelSet(("joy", "sadness", "anger", "fear", "surprise"))

_DEMOS = [
    ("d1", "We won the championship and I can't stop smiling!", ["joy"]),
    ("d2", "My grandmother passed away this morning.", ["sadness"]),
    ("d3", "They cancelled my flight again and nobody will tell me why.", ["anger"]),
    ("d4", "I heard footsteps downstairs and I live alone.", ["fear"]),
    ("d5", "Wait, you're telling me the shop closed down overnight?", ["surprise"]),
    ("d6", "I got the job, but I'm terrified I won't be good enough.", ["joy", "fear"]),
    ("d7", "He lied to me for years and now he's gone; I feel betrayed and empty.", ["sadness", "anger"]),
    ("d8", "A surprise party for me? I'm so happy I could cry!", ["joy", "surprise"]),
    ("d9", "The report is due on Friday.", []),
    ("d10", "How dare they threaten my family? I'm furious and scared.", ["anger", "fear"]),
    ("d11", "I can't believe my dog died so suddenly.", ["sadness", "surprise"]),
    ("d12", "Finally some sunshine after weeks of rain.", ["joy"]),
]

_QUERIES = [
    ("q1", "I finally passed my driving test, I'm thrilled!"),
    ("q2", "The store clerk ignored me and then overcharged me."),
    ("q3", "My best friend is moving abroad and I already miss her, but I'm happy for her."),
    ("q4", "There's a strange noise coming from the basement at night."),
    ("q5", "The meeting has been moved to room 204."),
    ("q6", "I opened the letter and couldn't believe it: they accepted me!"),
]


def demo_pool() -> list[Example]:
    return [Example(i, t, tuple(g), split="train") for i, t, g in _DEMOS]


def demo_queries() -> list[Example]:
    return [Example(i, t) for i, t in _QUERIES]
