"""Attention regions on synthetic causal rows that sum to 1."""

import numpy as np
import pytest

from labeldist.analyses import label_key_positions, label_step_attention, summarize_attention
from labeldist.errors import LabeldistError

P, TARGET, LABELS = 5, 6, [0, 3, 6]  # prompt of 5 tokens; labels start at generated indices 0, 3 and 6


def _rows(seed=0, n_layers=3, n_heads=4):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(P + TARGET), size=(n_layers, n_heads))  # (layers, heads, P + target)


def _explicit(a, keys):
    per_layer = [np.mean([a[l, h, keys].sum() for h in range(a.shape[1])]) for l in range(a.shape[0])]
    return float(np.mean(per_layer))


def test_regions_add_up_and_match_explicit_sums():
    a = _rows()
    s = label_step_attention(a, P, LABELS, TARGET)
    assert s.input + s.generated == pytest.approx(1.0)  # the two regions partition the causal row
    assert s.input == pytest.approx(_explicit(a, list(range(P))))
    assert s.generated == pytest.approx(_explicit(a, list(range(P, P + TARGET))))
    assert s.labels == pytest.approx(_explicit(a, [P + 0, P + 3]))  # the earlier label tokens themselves
    assert s.labels < s.generated
    assert (s.n_input, s.n_generated, s.n_labels) == (5, 6, 2)
    assert s.per_token("input") == pytest.approx(s.input / 5)
    assert s.per_token("generated") == pytest.approx(s.generated / 6)
    assert s.per_token("labels") == pytest.approx(s.labels / 2)


def test_reference_option_is_shifted_one_key_earlier_and_includes_the_query():
    a = _rows(1)
    fixed = label_step_attention(a, P, LABELS, TARGET)
    ref = label_step_attention(a, P, LABELS, TARGET, label_keys="reference")
    assert label_key_positions(P, LABELS, TARGET) == [5, 8]
    assert label_key_positions(P, LABELS, TARGET, "reference") == [4, 7, 10]  # P+k-1 for k <= target
    assert ref.labels - fixed.labels == pytest.approx(_explicit(a, [4, 7, 10]) - _explicit(a, [5, 8]))
    assert ref.n_labels == 3 and ref.input == fixed.input and ref.generated == fixed.generated
    # concentrate every head on the key before the second label: only the reference set sees it
    b = np.zeros_like(a)
    b[:, :, P + 3 - 1] = 1.0
    assert label_step_attention(b, P, LABELS, TARGET).labels == 0.0
    assert label_step_attention(b, P, LABELS, TARGET, label_keys="reference").labels == 1.0


def test_layers_are_averaged_after_heads():
    a = np.zeros((2, 2, P + TARGET))
    a[0, :, 0] = 1.0                      # layer 0: all on the prompt
    a[1, 0, P + 3] = 1.0                  # layer 1, head 0: on the second label token
    a[1, 1, 1] = 1.0                      # layer 1, head 1: on the prompt
    s = label_step_attention(a, P, LABELS, TARGET)
    assert (s.input, s.generated, s.labels) == (0.75, 0.25, 0.25)


def test_keys_after_the_causal_row_are_ignored():
    a = np.concatenate([_rows(2), np.full((3, 4, 3), 9.0)], axis=-1)
    s = label_step_attention(a, P, LABELS, TARGET)
    assert s.input + s.generated == pytest.approx(1.0)


def test_summary_averages_steps():
    s1 = label_step_attention(_rows(3), P, LABELS, TARGET)
    s2 = label_step_attention(_rows(4)[:, :, : P + 3], P, LABELS, 3)
    m = summarize_attention([s1, s2])
    assert m.n_steps == 2 and m.mass_input == pytest.approx((s1.input + s2.input) / 2)
    assert m.per_token_labels == pytest.approx((s1.labels / 2 + s2.labels / 1) / 2)
    with pytest.raises(LabeldistError, match="mix"):
        summarize_attention([s1, label_step_attention(_rows(3), P, LABELS, TARGET, label_keys="reference")])


@pytest.mark.parametrize("args, match", [
    ((np.ones((2, 11)), P, LABELS, TARGET), "shape"),
    ((np.ones((1, 1, 11)) / 11, P, LABELS, 0), "after the first"),
    ((np.ones((1, 1, 11)) / 11, P, LABELS, 4), "after the first"),
    ((np.ones((1, 1, 9)) / 9, P, LABELS, TARGET), "keys"),
])
def test_invalid_attention_inputs(args, match):
    with pytest.raises(LabeldistError, match=match):
        label_step_attention(*args)
