"""Few-shot prompt text (REFERENCE §2.1-2.2) and its token segmentation."""

import json

import pytest

from labeldist.errors import LabeldistError
from labeldist.prompts.demos import sample_demos
from labeldist.prompts.fewshot import FewShotPrompter, PromptConfig, join_labels
from labeldist.records import Example, LabelSet

LS = LabelSet(("joy", "anger", "fear"))
DEMOS = [Example("d1", "so happy", ("joy",)), Example("d2", "furious and scared", ("fear", "anger"))]


def test_join_labels_like_reference():
    assert join_labels(["a", "b", "c"]) == "a, b and c"
    assert join_labels(["a"]) == "a"


def test_plain_prompt_text_exact(tiny_backend):
    p = FewShotPrompter(PromptConfig(shots=2), LS, DEMOS, tiny_backend.tokenizer)
    prefix, full = p.text("what now")
    expected = (
        "Classify the following inputs into none, one, or multiple the following labels per input: "
        "joy, anger and fear. Output exactly these labels and no others.\n"
        'Input: so happy\n{"label": ["joy"]}\n'
        'Input: furious and scared\n{"label": ["anger", "fear"]}\n'  # canonical label-set order
        "Input: what now"  # stripped: the model writes "\n" itself
    )
    assert full == expected and full.startswith(prefix)
    assert p.stop == ["Input: ", "Input:", "}"]
    assert p.slot_contexts == ['\n{"label": ["', '", "']


def test_reverse_and_comma_formats(tiny_backend):
    p = FewShotPrompter(PromptConfig(label_format="comma", label_order="reverse"), LS, DEMOS, tiny_backend.tokenizer)
    assert p.demo_answers == ["joy", "fear, anger"]
    assert p.format_labels([]) == "none"
    pj = FewShotPrompter(PromptConfig(), LS, [], tiny_backend.tokenizer)
    assert json.loads(pj.format_labels([])) == {"label": ["none"]}


def test_segments_concatenate_to_full_tokenisation(tiny_backend):
    p = FewShotPrompter(PromptConfig(shots=2), LS, DEMOS, tiny_backend.tokenizer)
    for q in ["what now", "  leading spaces", "émoji 🙂 text"]:
        ids = p.build(q)
        assert list(ids.ids) == tiny_backend.tokenizer.bos_ids + tiny_backend.tokenizer.encode(p.text(q)[1])
        assert len(ids.segments) == 2 and ids.segments[1]
    # The shared prefix is identical across queries (so it is cached once).
    assert p.build("one").segments[0] == p.build("two").segments[0]


def test_bad_template_is_rejected():
    with pytest.raises(LabeldistError, match="must contain {text} followed by {label}"):
        PromptConfig(template="{label} then {text}")


POOL = [Example(f"m{i}", f"multi {i}", ("joy", "anger")) for i in range(8)] + \
       [Example(f"s{i}", f"single {i}", ("fear",)) for i in range(8)] + \
       [Example(f"n{i}", f"none {i}", ()) for i in range(8)]


def test_multilabel_sampling_ratio_no_empty_and_seeded():
    a = sample_demos(POOL, LS, 10, strategy="multilabel", seed=3)
    b = sample_demos(POOL, LS, 10, strategy="multilabel", seed=3)
    assert [d.id for d in a] == [d.id for d in b]  # same seed, same demos, same order
    assert sum(len(d.gold) > 1 for d in a) == 5 and sum(len(d.gold) == 1 for d in a) == 5
    assert all(d.gold for d in a)  # no-label demos are never used
    c = sample_demos(POOL, LS, 10, strategy="multilabel", seed=4)
    assert [d.id for d in c] != [d.id for d in a]


def test_uniform_sampling_covers_each_bucket():
    d = sample_demos(POOL, LS, 8, strategy="uniform", seed=0)
    # 4 buckets (joy, anger, fear, none) x 2 each; joy and anger share the multi examples
    assert sum(not x.gold for x in d) >= 2 and sum("fear" in x.gold for x in d) >= 2
    assert len({x.id for x in d}) == 8


def test_too_few_demos_is_an_error():
    with pytest.raises(LabeldistError, match="only 3 labelled training examples"):
        sample_demos(POOL[:3], LS, 5)


def test_label_order_applies_to_the_instruction_and_random_is_one_order_per_run(tiny_backend):
    rev = FewShotPrompter(PromptConfig(label_order="reverse"), LS, DEMOS, tiny_backend.tokenizer)
    assert "fear, anger and joy." in rev.instruction and rev.demo_answers[1] == '{"label": ["fear", "anger"]}'
    import numpy as np

    many = [Example(f"x{i}", f"t{i}", ("joy", "anger", "fear")) for i in range(6)]
    rnd = FewShotPrompter(PromptConfig(label_order="random", seed=3), LS, many, tiny_backend.tokenizer,
                          order_rng=np.random.default_rng([3, 1]))
    order = rnd.order
    assert sorted(order) == sorted(LS.labels)
    assert all(a == '{"label": ' + json.dumps(list(order)) + "}" for a in rnd.demo_answers)  # one order for all
    assert ", ".join(order[:-1]) + " and " + order[-1] in rnd.instruction


def test_zero_shot_states_the_answer_shape_and_uses_the_chat_template(tiny_backend):
    p = FewShotPrompter(PromptConfig(shots=0), LS, [], tiny_backend.tokenizer)
    assert p.chat  # SmolLM2's tokenizer has a chat template: zero-shot uses it by default
    assert p.instruction.endswith('Answer in the format {"label": ["<label>", ...]} with every label that applies, '
                                  'or {"label": ["none"]} if none applies.\n')
    prefix, full = p.text("what now")
    assert "<|im_start|>assistant" in full and p.pieces.opening == '{"label": ["'
    assert list(p.build("what now", opening=True).ids)[-len(tiny_backend.tokenizer.encode(p.pieces.opening)):] == \
        tiny_backend.tokenizer.encode(p.pieces.opening)
    plain = FewShotPrompter(PromptConfig(shots=0, chat=False), LS, [], tiny_backend.tokenizer)
    assert not plain.chat and plain.text("what now")[1].endswith("Input: what now")
    cands = FewShotPrompter(PromptConfig(shots=0, zero_shot_hint="candidates"), LS, [], tiny_backend.tokenizer)
    assert "The possible answers are: joy, anger, fear, none." in cands.instruction
    single = FewShotPrompter(PromptConfig(shots=0, label_format="comma"), LabelSet(("pos", "neg"), multilabel=False),
                             [], tiny_backend.tokenizer)
    assert single.instruction.endswith("Answer in the format <label> with the one label that applies.\n")
    # with demos the paper's plain prompt is unchanged: no hint, no chat
    fs = FewShotPrompter(PromptConfig(shots=2), LS, DEMOS, tiny_backend.tokenizer)
    assert not fs.chat and "Answer in the format" not in fs.instruction


def test_question_hint_asks_the_instruction_as_a_question_when_none_is_given(tiny_backend):
    q = FewShotPrompter(PromptConfig(shots=0, zero_shot_hint="question", task="emotions"), LS, [], tiny_backend.tokenizer)
    assert q.instruction.startswith("Which of these emotions does the input express: joy, anger and fear?\n")
    own = FewShotPrompter(PromptConfig(shots=0, zero_shot_hint="question", instruction="Tag it: {labels}.\n"), LS, [],
                          tiny_backend.tokenizer)
    assert own.instruction.startswith("Tag it: joy, anger and fear.\n")  # an explicit instruction is kept
    fs = FewShotPrompter(PromptConfig(shots=2, zero_shot_hint="question"), LS, DEMOS, tiny_backend.tokenizer)
    assert fs.instruction.startswith("Classify the following inputs")  # with demos: the paper's prompt
