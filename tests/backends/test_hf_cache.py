"""The transformers backend: prefix-cached, batched paths give the same numbers as plain full passes.

All comparisons run in fp32 on the same attention kernel. Tolerance: 1e-4 absolute on
logits (the cached path sums the same products in a different order).
"""

import numpy as np
import pytest
import torch

from labeldist.backends.base import PromptIds

TOL = 1e-4


def _prompts(backend):
    prefix = backend.tokenizer.encode("Classify: joy, anger.\nInput: so good\n{\"label\": [\"joy\"]}\nInput:")
    tails = [" what a lovely day", " no", " I am absolutely furious with all of you"]
    return [PromptIds((tuple(prefix), tuple(backend.tokenizer.encode(t)))) for t in tails]


def _full_logits(backend, ids):
    with torch.inference_mode():
        return backend.model(torch.tensor([list(ids)])).logits[0, -1].double().numpy()


def test_score_next_with_cached_prefix_equals_full_forward(tiny_backend):
    prompts = _prompts(tiny_backend)
    cands = list(range(0, 4000, 97))
    scores, bounded = tiny_backend.score_next(prompts, candidate_ids=cands)
    assert scores.shape == (3, len(cands)) and not bounded.any()
    for p, row in zip(prompts, scores):
        np.testing.assert_allclose(row, _full_logits(tiny_backend, p.ids)[cands], atol=TOL)


def test_three_level_segments_equal_full_forward(tiny_backend):
    run = tuple(tiny_backend.tokenizer.encode("Header and demos.\n\n"))
    item = tuple(tiny_backend.tokenizer.encode("Question: hello there\n"))
    ends = [tuple(tiny_backend.tokenizer.encode(e)) for e in ["Label: joy\nIs it:", "Label: anger and more\nIs it:"]]
    prompts = [PromptIds((run, item, e)) for e in ends]
    cands = [1, 2, 3, 500]
    scores, _ = tiny_backend.score_next(prompts, candidate_ids=cands)
    for p, row in zip(prompts, scores):
        np.testing.assert_allclose(row, _full_logits(tiny_backend, p.ids)[cands], atol=TOL)
    # The run-level prefix is cached; the item's question rode in the packed row.
    assert tiny_backend.is_cached((run,)) and not tiny_backend.is_cached((run, item))


def test_packed_scoring_in_chunks_equals_full_forward(tiny_backend, monkeypatch):
    run = tuple(tiny_backend.tokenizer.encode("Another header.\n\n"))
    item = tuple(tiny_backend.tokenizer.encode("Question: chunk me\n"))
    ends = [tuple(tiny_backend.tokenizer.encode(f"Label: option {i}\nIs it:")) for i in range(7)]
    prompts = [PromptIds((run, item, e)) for e in ends]
    monkeypatch.setattr(tiny_backend, "max_packed_tokens", 12)  # forces the question into the cache, tails in chunks
    scores, _ = tiny_backend.score_next(prompts, candidate_ids=[5, 6, 7])
    for p, row in zip(prompts, scores):
        np.testing.assert_allclose(row, _full_logits(tiny_backend, p.ids)[[5, 6, 7]], atol=TOL)


def test_batched_generation_equals_hf_generate(tiny_backend):
    prompts = _prompts(tiny_backend)
    cands = [10, 20, 30, 40]
    gens = tiny_backend.generate(prompts, candidate_ids=cands, max_new_tokens=6)
    for p, g in zip(prompts, gens):
        ref = tiny_backend.model.generate(torch.tensor([list(p.ids)]), max_new_tokens=6, do_sample=False,
                                          output_logits=True, return_dict_in_generate=True,
                                          pad_token_id=tiny_backend.tokenizer.pad_id)
        ref_ids = ref.sequences[0, len(p.ids):].tolist()
        assert g.ids == ref_ids[: len(g.ids)]
        for t in range(len(g.ids)):
            np.testing.assert_allclose(g.candidate_scores[t], ref.logits[t][0].double().numpy()[cands], atol=TOL)


def test_hidden_states_only_on_request_and_match_full_pass(tiny_backend):
    p = _prompts(tiny_backend)[:1]
    g0 = tiny_backend.generate(p, candidate_ids=[1], max_new_tokens=2)[0]
    assert g0.hidden is None
    g = tiny_backend.generate(p, candidate_ids=[1], max_new_tokens=2, want_hidden=True)[0]
    with torch.inference_mode():
        out = tiny_backend.model(torch.tensor([list(p[0].ids)]), output_hidden_states=True)
    np.testing.assert_allclose(g.hidden[0], out.hidden_states[-1][0, -1].numpy(), atol=TOL)


def test_stop_strings_end_a_row(tiny_backend):
    p = _prompts(tiny_backend)[:1]
    free = tiny_backend.generate(p, candidate_ids=[1], max_new_tokens=5)[0]
    first_piece = tiny_backend.tokenizer.decode(free.ids[:2])
    stopped = tiny_backend.generate(p, candidate_ids=[1], max_new_tokens=5, stop=[first_piece])[0]
    assert stopped.stop_reason == "stop" and stopped.ids == free.ids[: len(stopped.ids)]
    assert len(stopped.ids) <= 2


def test_prompt_over_context_is_a_clear_error(tiny_backend):
    from labeldist.errors import LabeldistError

    long = PromptIds(((1,) * 2040,))
    with pytest.raises(LabeldistError, match="over the model's context of 2048.*--shots"):
        tiny_backend.generate([long], candidate_ids=[1], max_new_tokens=18)


@pytest.mark.slow
def test_real_smollm2_prefix_cache_matches_full_forward(smol_backend):
    prompts = _prompts(smol_backend)
    cands = [smol_backend.tokenizer.encode(w)[0] for w in ["joy", "anger", "none"]]
    scores, _ = smol_backend.score_next(prompts, candidate_ids=cands)
    for p, row in zip(prompts, scores):
        np.testing.assert_allclose(row, _full_logits(smol_backend, p.ids)[cands], atol=TOL)
