"""Label positions: only label starts inside the answer count (free decoding); hand-built tokens and scores."""

import numpy as np

from labeldist.labels.positions import (
    answer_label_starts,
    cut_answer,
    extract_steps,
    kept_length,
    steps_at,
    token_offsets,
)
from labeldist.labels.tokens import LabelTokenMap

# token id -> text; joy: ids 10 (canonical) and 11 (variant " joy"), anger: 20, fear: 40 and 41 (" F"), none: 30
PIECES = {1: "\n", 2: '{"', 3: "label", 4: '":', 5: ' ["', 6: '",', 7: ' "', 8: '"]', 9: "}", 10: "joy", 11: " joy",
          20: "anger", 30: "none", 40: "fear", 41: " F", 50: "I", 51: " think", 52: ".", 53: " able", 54: "Input"}


def decode(ids):
    return "".join(PIECES[i] for i in ids)


def _map():
    return LabelTokenMap(("joy", "anger", "fear", "none"), ((10, 11), (20,), (40, 41, 53), (30,)))


def _steps(ids, scores, label_format="json"):
    text = decode(ids)
    end = cut_answer(text, ["Input", "}"], lambda t: len(t))
    n = kept_length(ids, decode, end)
    return extract_steps(ids[:n], scores, _map(), token_offsets(ids[:n], decode),
                         answer_label_starts(text[:end], label_format))


def test_steps_at_the_answers_label_starts_with_max_over_variants():
    ids = [1, 2, 3, 4, 5, 10, 6, 7, 20, 8, 9]  # \n{"label": ["joy", "anger"]}
    scores = np.zeros((len(ids), len(_map().flat_ids)))
    scores[5] = [1.0, 3.0, 0.0, 0.0, 0.0, 0.0, -1.0]  # joy variants 1 and 3 -> max 3
    scores[8] = [0.0, 0.5, 2.0, 0.0, 0.0, 0.0, 1.0]
    steps = _steps(ids, scores)
    assert [s.position for s in steps] == [5, 8]
    assert [s.label for s in steps] == ["joy", "anger"]
    np.testing.assert_allclose(steps[0].scores, [3.0, 0.0, 0.0, -1.0])
    np.testing.assert_allclose(steps[1].scores, [0.5, 2.0, 0.0, 1.0])
    e = np.exp([3.0, 0.0, 0.0, -1.0])  # softmax by hand
    np.testing.assert_allclose(steps[0].probs, e / e.sum())
    assert steps[0].variants["joy"] == [1.0, 3.0]


def test_variant_tokens_in_prose_are_never_read():
    # "I think F able." then no JSON at all: the reference read " F" as fear and " able" as a label start
    ids = [50, 51, 41, 53, 52]
    assert _steps(ids, np.zeros((5, 7))) == []
    # prose before the answer, the answer after it: only the answer's slot counts
    ids = [50, 51, 41, 52, 1, 2, 3, 4, 5, 40, 8, 9]
    steps = _steps(ids, np.zeros((len(ids), 7)))
    assert [(s.position, s.label) for s in steps] == [(9, "fear")]


def test_positions_after_the_answer_do_not_count():
    ids = [1, 2, 3, 4, 5, 10, 8, 9, 1, 54, 11]  # ... ["joy"]}\nInput joy
    steps = _steps(ids, np.zeros((len(ids), 7)))
    assert [s.position for s in steps] == [5]


def test_comma_answer_line_only():
    ids = [10, 6, 11, 1, 20]  # 'joy", joy\nanger' read as comma text: starts at 0 and after the comma
    text = decode(ids)
    assert answer_label_starts(text, "comma") == [0, 6]


def test_kept_length_and_cut_answer_keep_the_json_closing():
    pieces = ["\n", '{"', "label", '": ["', "joy", '"]}', "\n", "Input"]
    dec = lambda ids: "".join(pieces[i] for i in ids)  # noqa: E731
    ids = list(range(len(pieces)))
    text = dec(ids)
    end = cut_answer(text, ["Input:", "Input", "}"], lambda t: t.find("}") + 1)
    assert text[:end] == '\n{"label": ["joy"]}'  # the "}" stop string is the answer's own closing: kept
    assert kept_length(ids, dec, end) == 6


def test_steps_at_constrained_slots_carry_the_grammar_diagnostics():
    ids = [10, 6, 7, 20, 8, 9]
    scores = np.zeros((6, 7))
    slots = np.array([True, False, False, True, False, False])
    mass = np.array([0.25, 0.0, 0.0, np.nan, np.nan, np.nan])
    steps = steps_at(ids, scores, _map(), slots, ["joy", "anger"], mass, np.array([False, False, False, True, False, False]))
    assert [(s.position, s.label, s.outside_mass, s.overridden) for s in steps] == \
        [(0, "joy", 0.25, False), (3, "anger", None, True)]
