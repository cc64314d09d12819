"""Breakdown prompt texts (REFERENCE.md §2.3c/d), demo-label construction, pair guard."""

from __future__ import annotations

import numpy as np
import pytest

from labeldist.errors import LabeldistError
from labeldist.estimators.bradley_terry import all_pairs
from labeldist.prompts.breakdown import (
    BINARY_HEADER,
    UNARY_HEADER,
    binary_pairs,
    breakdown_targets,
    build_binary_header,
    build_binary_prompt,
    build_unary_header,
    build_unary_prompt,
)
from labeldist.records import Example, LabelSet

ML = LabelSet(("joy", "anger"))
SL = LabelSet(("hate", "normal", "offensive"), multilabel=False)
DEMOS = [Example("d1", "I love it", ("joy",)), Example("d2", "Nothing here", ())]


def test_headers_are_the_reference_strings():
    assert UNARY_HEADER == (
        'Classify the following question-label pairs as either "reasonable" or "unreasonable". '
        'Output either "reasonable" or "unreasonable" and nothing else.\n\n'
    )
    assert BINARY_HEADER == (
        'Classify the following question into one of the two following labels. Output either "a" '
        'or "b" depending on which label is better and nothing else.\n\n'
    )


def test_unary_full_prompt_exact_two_demos():
    header = build_unary_header(DEMOS, ML, np.random.default_rng(0))
    faithful = build_unary_prompt("So happy", header, ML, token_form="faithful")
    expected_anger = (
        'Classify the following question-label pairs as either "reasonable" or "unreasonable". '
        'Output either "reasonable" or "unreasonable" and nothing else.\n\n'
        "Question: I love it\nLabel: joy\nIs the label reasonable: reasonable\n\n"
        "Question: Nothing here\nLabel: anger\nIs the label reasonable: unreasonable\n\n"
        "Question: So happy\nLabel: anger\nIs the label reasonable: "
    )
    assert faithful.texts()[1] == expected_anger
    assert faithful.question == "Question: So happy\n"
    assert faithful.ending_labels == ("joy", "anger", "none")
    assert faithful.endings[2] == "Label: none\nIs the label reasonable: "
    assert faithful.targets == {"reasonable": ("reasonable",), "unreasonable": ("unreasonable",)}
    fixed = build_unary_prompt("So happy", header, ML)
    assert fixed.texts()[1] == expected_anger[:-1]  # no trailing space
    # only the forms the demos use: " Unreasonable" would start with the fragment " Un"
    assert fixed.targets == {"reasonable": (" reasonable",),
                             "unreasonable": (" unreasonable",)}
    assert fixed.pairs is None and fixed.kind == "unary"


def test_binary_full_prompt_exact_two_demos():
    header = build_binary_header(DEMOS, ML, np.random.default_rng(0))
    faithful = build_binary_prompt("So happy", header, ML, token_form="faithful")
    expected_first = (
        'Classify the following question into one of the two following labels. Output either "a" '
        'or "b" depending on which label is better and nothing else.\n\n'
        "Question: I love it\na. joy\nb. none\nCorrect Label: a\n\n"
        "Question: Nothing here\na. none\nb. anger\nCorrect Label: a\n\n"
        "Question: So happy\na. joy\nb. anger\nCorrect Label: "
    )
    assert faithful.texts()[0] == expected_first
    assert faithful.endings == (
        "a. joy\nb. anger\nCorrect Label: ",
        "a. joy\nb. none\nCorrect Label: ",
        "a. anger\nb. none\nCorrect Label: ",
    )
    assert faithful.ending_labels == (("joy", "anger"), ("joy", "none"), ("anger", "none"))
    assert faithful.pairs == ((0, 1), (0, 2), (1, 2))
    assert faithful.targets == {"a": ("a",), "b": ("b",)}
    fixed = build_binary_prompt("So happy", header, ML)
    assert fixed.texts()[0] == expected_first[:-1]
    assert fixed.targets == {"a": (" a",), "b": (" b",)}


def test_both_orders_and_pair_order_matches_estimator():
    p = build_binary_prompt("t", "", ML, both_orders=True)
    assert p.pairs[:3] == tuple(map(tuple, all_pairs(3).tolist()))
    assert p.pairs[3:] == ((1, 0), (2, 0), (2, 1))
    assert p.endings[3] == "a. anger\nb. joy\nCorrect Label:"
    single = build_binary_prompt("t", "", SL)
    assert single.ending_labels == (("hate", "normal"), ("hate", "offensive"), ("normal", "offensive"))


def test_headers_are_seeded_and_deterministic():
    demos = [Example(f"d{i}", f"text {i}", (("joy",), ("anger",), ("joy", "anger"), ())[i % 4]) for i in range(9)]
    for build in (build_unary_header, build_binary_header):
        a = build(demos, ML, np.random.default_rng(7))
        assert a == build(demos, ML, np.random.default_rng(7))
        assert len({build(demos, ML, np.random.default_rng(s)) for s in range(10)}) > 1


def _unary_blocks(header):
    body = header[len(UNARY_HEADER):].split("\n\n")[:-1]
    return [tuple(line.split(": ", 1)[1] for line in block.split("\n")) for block in body]


@pytest.mark.parametrize("n", [4, 5])
def test_unary_demo_label_rules(n):
    gold = [("joy",), ("anger",), ("joy", "anger"), (), ()]
    demos = [Example(f"d{i}", f"text {i}", gold[i]) for i in range(n)]
    counts = set()
    for seed in range(60):
        blocks = _unary_blocks(build_unary_header(demos, ML, np.random.default_rng(seed)))
        assert len(blocks) == n
        marks = [m for _, _, m in blocks]
        counts.add(marks.count("reasonable"))
        for demo, (text, label, mark) in zip(demos, blocks):
            assert text == demo.text
            right = set(demo.gold) or {"none"}
            assert (label in right) == (mark == "reasonable")
    assert counts == ({n // 2} if n % 2 == 0 else {n // 2, n // 2 + 1})


def test_none_bug_fixed_by_default_and_faithful_on_request():
    demos = [Example(f"d{i}", f"text {i}", ()) for i in range(6)]
    shown_default, shown_faithful = set(), set()
    for seed in range(40):
        for _, label, mark in _unary_blocks(build_unary_header(demos, ML, np.random.default_rng(seed))):
            if mark == "unreasonable":
                shown_default.add(label)
        for _, label, mark in _unary_blocks(
            build_unary_header(demos, ML, np.random.default_rng(seed), faithful_none_bug=True)
        ):
            if mark == "unreasonable":
                shown_faithful.add(label)
        binary = build_binary_header(demos, ML, np.random.default_rng(seed))
        assert "a. none\nb. none" not in binary
    assert shown_default == {"joy", "anger"}
    assert shown_faithful == {"joy", "anger", "none"}
    any_bug = any(
        "a. none\nb. none" in build_binary_header(demos, ML, np.random.default_rng(s), faithful_none_bug=True)
        for s in range(40)
    )
    assert any_bug


def test_all_gold_demo_gets_none_as_wrong_label():
    demos = [Example("d", "t", ("joy", "anger"))] * 2  # n = 2: one reasonable, one unreasonable
    for seed in range(10):
        header = build_unary_header(demos, ML, np.random.default_rng(seed))
        assert "Label: none\nIs the label reasonable: unreasonable" in header
        assert "b. none\nCorrect Label: a" in build_binary_header(demos, ML, np.random.default_rng(seed)) or (
            "a. none\nb." in build_binary_header(demos, ML, np.random.default_rng(seed))
        )


def test_binary_demo_rules_single_label():
    demos = [Example(f"d{i}", f"text {i}", (SL.labels[i % 3],)) for i in range(6)]
    for seed in range(20):
        body = build_binary_header(demos, SL, np.random.default_rng(seed))[len(BINARY_HEADER):]
        for demo, block in zip(demos, body.split("\n\n")[:-1]):
            _, a, b, answer = block.split("\n")
            shown = {"a": a[3:], "b": b[3:]}
            assert answer.startswith("Correct Label: ")
            letter = answer[-1]
            assert shown[letter] == demo.gold[0]
            assert shown["b" if letter == "a" else "a"] not in (demo.gold[0], "none")


def test_bad_demos():
    with pytest.raises(LabeldistError, match="no gold labels"):
        build_unary_header([Example("d", "t", None)], ML, np.random.default_rng(0))
    with pytest.raises(LabeldistError, match="unknown label"):
        build_binary_header([Example("d", "t", ("fear",))], ML, np.random.default_rng(0))
    with pytest.raises(LabeldistError, match="no label in a single-label set"):
        build_unary_header([Example("d", "t", ())], SL, np.random.default_rng(0))


def test_pair_guard():
    forty = LabelSet(tuple(f"l{i}" for i in range(40)))
    assert len(binary_pairs(forty)) == 820
    many = LabelSet(tuple(f"l{i}" for i in range(41)))
    with pytest.raises(LabeldistError, match=r"1722 prompts per item \(861 pairs\).*--max-binary-pairs 861"):
        build_binary_prompt("t", "", many, both_orders=True)
    assert len(binary_pairs(many, max_pairs=861)) == 861


def test_unknown_options():
    with pytest.raises(ValueError, match="token_form"):
        build_unary_prompt("t", "", ML, token_form="bare")
    with pytest.raises(ValueError, match="token_form"):
        breakdown_targets("unary", "bare")
