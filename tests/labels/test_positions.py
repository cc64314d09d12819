"""Label positions from generated ids, with hand-built scores."""

import numpy as np

from labeldist.labels.positions import cut_answer, extract_steps, kept_length
from labeldist.labels.tokens import LabelTokenMap


def _map():
    # joy: ids 10 (canonical) and 11 (variant); anger: 20; none: 30
    return LabelTokenMap(("joy", "anger", "none"), ((10, 11), (20,), (30,)))


def test_steps_at_every_label_token_with_max_over_variants():
    ids = [5, 10, 6, 20, 7]
    flat = _map().flat_ids  # [10, 11, 20, 30]
    scores = np.zeros((5, 4))
    scores[1] = [1.0, 3.0, 0.0, -1.0]  # joy variants 1 and 3 -> max 3
    scores[3] = [0.0, 0.5, 2.0, 1.0]
    steps = extract_steps(ids, scores, _map(), n_keep=5)
    assert [s.position for s in steps] == [1, 3]
    assert [s.label for s in steps] == ["joy", "anger"]
    np.testing.assert_allclose(steps[0].scores, [3.0, 0.0, -1.0])
    np.testing.assert_allclose(steps[1].scores, [0.5, 2.0, 1.0])
    # softmax by hand: exp([3,0,-1]) / sum
    e = np.exp([3.0, 0.0, -1.0])
    np.testing.assert_allclose(steps[0].probs, e / e.sum())
    assert steps[0].variants["joy"] == [1.0, 3.0]
    assert len(flat) == 4


def test_positions_after_the_cut_do_not_count():
    ids = [10, 6, 20]
    steps = extract_steps(ids, np.zeros((3, 4)), _map(), n_keep=2)
    assert [s.position for s in steps] == [0]


def test_kept_length_and_cut_answer():
    pieces = ["\n", '{"', "label", '": ["', "joy", '"]}', "\n", "Input"]
    decode = lambda ids: "".join(pieces[i] for i in ids)
    ids = list(range(len(pieces)))
    text = decode(ids)
    end = cut_answer(text, ["Input:", "Input"], lambda t: t.find("}") + 1)
    assert text[:end] == '\n{"label": ["joy"]}'
    assert kept_length(ids, decode, end) == 6
