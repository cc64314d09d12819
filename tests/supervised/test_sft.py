"""LoRA SFT: answer-only loss, learning on a toy mapping, resume after a kill, adapter reload,
bad inputs; one short real SmolLM2-135M run (slow)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

from labeldist.errors import LabeldistError
from labeldist.supervised import _sft_io
from labeldist.supervised.sft import SFTConfig, SFTExample, load_adapter, train_lora
from labeldist.supervised.sft_batches import (IGNORE, answer_nll_sum, batch_nll_sum, collate, shared_prefix_length,
                                              truncate_left)

VOCAB = 64


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(seed: int = 0, *, hidden: int = 32, arch: str = "llama"):
    """A 2-layer random causal LM; a large init range so LoRA on q/v can move the logits."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cls, cfg_cls = (LlamaForCausalLM, LlamaConfig) if arch == "llama" else (Qwen2ForCausalLM, Qwen2Config)
    cfg = cfg_cls(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, initializer_range=0.3,
                  tie_word_embeddings=False)
    return cls(cfg).eval()


def toy_examples(n: int = 8, seed: int = 0) -> list[SFTExample]:
    """Random 6-token prompts, each mapped to a fixed random 2-token answer (memorisable)."""
    rng = np.random.default_rng(seed)
    return [SFTExample(tuple(rng.integers(4, VOCAB, 6)), tuple(rng.integers(4, VOCAB, 2))) for _ in range(n)]


FAST = SFTConfig(r=8, alpha=16, dropout=0.1, lr=3e-2, epochs=2, batch_size=3, grad_accum=2, seed=1)


def adapter_tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits


# -- batches and the loss ----------------------------------------------------------------
def test_collate_right_pads_and_masks_prompt_and_pad():
    ids, mask, labels = collate([SFTExample((5, 6, 7), (8, 9)), SFTExample((10,), (11,))], pad_id=3)
    assert ids.tolist() == [[5, 6, 7, 8, 9], [10, 11, 3, 3, 3]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert labels.tolist() == [[IGNORE, IGNORE, IGNORE, 8, 9], [IGNORE, 11, IGNORE, IGNORE, IGNORE]]


def test_answer_nll_sum_hand_computed():
    # One row of 3 positions, vocab 2; labels [-, -, 1]: only logits[1] (predicting position 2) counts.
    logits_ = torch.tensor([[[0.0, 5.0], [math.log(3.0), 0.0], [9.0, -9.0]]])
    labels = torch.tensor([[IGNORE, IGNORE, 1]])
    # p(1) at position 1 = 1 / (3 + 1)
    assert float(answer_nll_sum(logits_, labels)) == pytest.approx(math.log(4.0))


def test_prompt_and_pad_positions_get_no_gradient_and_no_weight():
    _, _, labels = collate([SFTExample((5, 6, 7), (8, 9)), SFTExample((10,), (11,))], pad_id=3)
    lg = torch.randn(2, 5, VOCAB, requires_grad=True)
    answer_nll_sum(lg, labels).backward()
    scored = (labels[:, 1:] != IGNORE)  # logit t is scored iff label t+1 is an answer token
    per_pos = lg.grad.abs().sum(-1)  # (B, T)
    assert torch.all(per_pos[:, :-1][~scored] == 0) and torch.all(per_pos[:, -1] == 0)
    assert torch.all(per_pos[:, :-1][scored] > 0)
    # Any change to the logits at prompt/pad positions (their "weight" in the loss) leaves it unchanged.
    base = float(answer_nll_sum(lg.detach(), labels))
    noisy = lg.detach().clone()
    noisy[:, :-1][~scored] += 100 * torch.randn_like(noisy[:, :-1][~scored])
    noisy[:, -1] = -noisy[:, -1]
    assert float(answer_nll_sum(noisy, labels)) == base


def gemma_softcapped():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=128,
                           final_logit_softcapping=3.0, initializer_range=0.3)
    return Gemma3ForCausalLM(cfg).eval()


@pytest.mark.parametrize("make", [tiny, gemma_softcapped], ids=["llama", "gemma3-softcap"])
def test_answer_only_logits_match_full_logits_and_ignore_pad_id(make):
    model = make()
    exs = toy_examples(2) + [SFTExample((5, 6), (7, 8, 9)), SFTExample((5, 6, 7, 8, 9, 10, 11, 12, 13), (14,))]
    ids, mask, labels = collate(exs, pad_id=0)
    with torch.no_grad():
        full = answer_nll_sum(model(input_ids=ids, attention_mask=mask).logits, labels)
        fast = batch_nll_sum(model, ids, mask, labels)
        other_pad = batch_nll_sum(model, *collate(exs, pad_id=63))
    assert float(fast) == pytest.approx(float(full), rel=1e-5)
    assert float(other_pad) == pytest.approx(float(fast), rel=1e-6)


def shared_prefix_examples() -> list[SFTExample]:
    pre = tuple(range(4, 20))  # 16 tokens every row starts with, like a run's instruction and demos
    return [SFTExample(pre + (21, 22), (30, 31)), SFTExample(pre + (23,), (32,)),
            SFTExample(pre + (24, 25, 26, 27), (33, 34, 35))]


def test_shared_prefix_length_stops_before_the_first_scored_logit():
    ids, mask, labels = collate(shared_prefix_examples(), pad_id=0)
    assert shared_prefix_length(ids, mask, labels) == 16
    # A row whose prompt ends inside the common part moves the cut before its first scored logit.
    short = [SFTExample(tuple(range(4, 14)), (30,)), SFTExample(tuple(range(4, 20)), (31,))]
    ids, mask, labels = collate(short, pad_id=0)
    assert shared_prefix_length(ids, mask, labels) == 9  # logit 9 predicts row 0's answer at position 10
    ids, mask, labels = collate(toy_examples(3), pad_id=0)  # random prompts: nothing shared
    assert shared_prefix_length(ids, mask, labels) == 0
    ids, mask, labels = collate(shared_prefix_examples()[:1], pad_id=0)  # one row: nothing to share with
    assert shared_prefix_length(ids, mask, labels) == 0


@pytest.mark.parametrize("make", [tiny, gemma_softcapped], ids=["llama", "gemma3-softcap"])
def test_shared_prefix_gives_the_loss_and_lora_gradients_of_full_rows(make):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = get_peft_model(make(), LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"]))
    for n, p in model.named_parameters():  # LoRA B starts at zero; move it so the gradients of A are not zero
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)
    ids, mask, labels = collate(shared_prefix_examples(), pad_id=0)
    params = [p for p in model.parameters() if p.requires_grad]

    def loss_and_grads(shared: bool):
        model.zero_grad()
        if shared:
            loss = batch_nll_sum(model, ids, mask, labels)
        else:
            loss = answer_nll_sum(model(input_ids=ids, attention_mask=mask).logits, labels)
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in params]

    full, g_full = loss_and_grads(False)
    fast, g_fast = loss_and_grads(True)
    assert fast == pytest.approx(full, rel=1e-5)
    assert sum(float(g.abs().sum()) for g in g_full) > 0
    for a, b in zip(g_full, g_fast):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)


def test_truncate_left_keeps_the_answer():
    exs = [SFTExample((1, 2, 3, 4, 5), (6, 7)), SFTExample((1, 2), (6, 7))]
    out, n_cut = truncate_left(exs, 4)
    assert [e.prompt_ids for e in out] == [(4, 5), (1, 2)] and [e.answer_ids for e in out] == [(6, 7), (6, 7)]
    assert n_cut == 1
    with pytest.raises(LabeldistError, match="no room for a prompt token"):
        truncate_left(exs, 2)


# -- training ----------------------------------------------------------------------------
def test_tiny_llama_learns_the_toy_mapping_and_writes_its_files(tmp_path):
    exs = toy_examples(8)
    cfg = SFTConfig(r=8, alpha=16, dropout=0.1, lr=3e-2, epochs=20, batch_size=4, grad_accum=1, seed=0)
    res = train_lora(tiny(), exs, tmp_path, cfg, dev_examples=exs[:4], pad_id=0, progress=False)
    assert res.epoch_losses[-1] < 0.25 * res.epoch_losses[0]  # ~5.0 -> ~0.5 nats per answer token
    assert res.dev_losses[-1] < 0.25 * res.initial_dev_loss and len(res.dev_losses) == 20
    assert res.n_answer_tokens == 16 and res.n_tokens == 64 and res.n_truncated == 0
    assert len(res.step_losses) == 20 * 2 and res.resumed_from_epoch == 0
    # Files: final adapter, only the last checkpoint kept, a log line per step and per epoch.
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert [d.name for d in (tmp_path / "checkpoints").iterdir()] == ["epoch-20"]
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert sum(r["type"] == "step" for r in log) == 40 and sum(r["type"] == "epoch" for r in log) == 20
    assert [r["loss"] for r in log if r["type"] == "step"] == list(res.step_losses)
    summary = json.loads((tmp_path / "sft.json").read_text())
    assert summary["config"]["target_modules"] == ["q_proj", "v_proj"] and summary["n_examples"] == 8
    assert summary["dev_losses"] == list(res.dev_losses) and summary["warmup_steps"] == math.ceil(0.03 * 40)
    # Linear warmup then constant: step 1 at lr * 1/(w+1), later steps at lr.
    steps = [r for r in log if r["type"] == "step"]
    assert steps[0]["lr"] == pytest.approx(3e-2 / 3) and steps[-1]["lr"] == pytest.approx(3e-2)


def test_pad_id_is_invisible_to_training(tmp_path):
    """The same data right-padded with token 0 or token 63 trains to the same losses."""
    exs = toy_examples(5)
    a = train_lora(tiny(), exs, tmp_path / "a", FAST, pad_id=0, progress=False)
    b = train_lora(tiny(), exs, tmp_path / "b", FAST, pad_id=63, progress=False)
    assert a.step_losses == pytest.approx(b.step_losses, rel=1e-5)


def test_qwen2_works_with_the_default_targets(tmp_path):
    exs = toy_examples(4)
    res = train_lora(tiny(arch="qwen2"), exs, tmp_path, FAST, pad_id=0, progress=False)
    keys = adapter_tensors(res.adapter_dir)
    assert any("q_proj.lora_A" in k for k in keys) and any("v_proj.lora_B" in k for k in keys)
    assert not any("k_proj" in k or "mlp" in k for k in keys)
    reloaded = load_adapter(tiny(arch="qwen2"), res.adapter_dir, merge=False)
    assert torch.equal(logits(reloaded, exs[0].prompt_ids), logits(res.model, exs[0].prompt_ids))


def test_resume_after_a_kill_between_epochs_gives_identical_weights(tmp_path, monkeypatch):
    exs = toy_examples(7)  # 3 batches of 3 -> 2 optimizer steps per epoch; dropout on, so RNG state matters
    full = train_lora(tiny(), exs, tmp_path / "full", FAST, pad_id=0, progress=False)

    real_save = _sft_io.save_checkpoint

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # the process is killed right after epoch 1's checkpoint

    monkeypatch.setattr(_sft_io, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_lora(tiny(), exs, tmp_path / "killed", FAST, pad_id=0, progress=False)
    monkeypatch.setattr(_sft_io, "save_checkpoint", real_save)
    assert not (tmp_path / "killed" / "adapter").exists()  # no final artefact from the killed call
    resumed = train_lora(tiny(), exs, tmp_path / "killed", FAST, pad_id=0, progress=False)
    assert resumed.resumed_from_epoch == 1 and resumed.step_losses == full.step_losses

    # The brief's form: one epoch, then a new call asking for two.
    one = SFTConfig(**{**FAST.to_dict(), "epochs": 1})
    train_lora(tiny(), exs, tmp_path / "ext", one, pad_id=0, progress=False)
    extended = train_lora(tiny(), exs, tmp_path / "ext", FAST, pad_id=0, progress=False)
    assert extended.resumed_from_epoch == 1

    ref = adapter_tensors(full.adapter_dir)
    for other in (resumed, extended):
        got = adapter_tensors(other.adapter_dir)
        assert got.keys() == ref.keys() and all(torch.equal(got[k], ref[k]) for k in ref)
    # Weights moved at all, so equality is not trivially zero == zero.
    assert any(float(v.abs().max()) > 0 for k, v in ref.items() if "lora_B" in k)

    # A third call finds every epoch done: no training, the same adapter again.
    again = train_lora(tiny(), exs, tmp_path / "full", FAST, pad_id=0, progress=False)
    assert again.resumed_from_epoch == 2 and again.step_losses == full.step_losses
    assert all(torch.equal(adapter_tensors(again.adapter_dir)[k], ref[k]) for k in ref)


def test_resume_refuses_a_different_config_or_data(tmp_path):
    exs = toy_examples(4)
    train_lora(tiny(), exs, tmp_path, FAST, pad_id=0, progress=False)
    with pytest.raises(LabeldistError, match=r"does not match this call \(config.lr"):
        train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "lr": 1e-3}), pad_id=0, progress=False)
    with pytest.raises(LabeldistError, match="train_digest"):
        train_lora(tiny(), toy_examples(4, seed=9), tmp_path, FAST, pad_id=0, progress=False)
    other = tiny(seed=5)
    with pytest.raises(LabeldistError, match="weights_digest"):
        train_lora(other, exs, tmp_path, FAST, pad_id=0, progress=False)
    assert not any("lora" in n for n, _ in other.named_parameters())  # refused before peft touched it
    with pytest.raises(LabeldistError, match="has 2 epochs, more than the 1 asked"):
        train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "epochs": 1}), pad_id=0, progress=False)
    # 4 examples -> 1 step/epoch; 40 epochs -> warmup ceil(1.2) = 2 steps, not the 1 of 2 epochs.
    with pytest.raises(LabeldistError, match="warmup_steps"):
        train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "epochs": 40}), pad_id=0, progress=False)


# -- adapter reload ----------------------------------------------------------------------
def test_adapter_reloads_to_identical_logits(tmp_path):
    exs, base = toy_examples(6), tiny()
    res = train_lora(base, exs, tmp_path, FAST, pad_id=0, progress=False)
    probe = exs[0].prompt_ids + exs[0].answer_ids
    trained = logits(res.model, probe)
    assert not torch.allclose(trained, logits(tiny(), probe))  # the adapter changed something
    assert torch.equal(logits(load_adapter(tiny(), res.adapter_dir, merge=False), probe), trained)
    merged_reload = load_adapter(tiny(), res.adapter_dir)  # merge=True: a plain LlamaForCausalLM
    assert type(merged_reload).__name__ == "LlamaForCausalLM"
    assert not any("lora" in n for n, _ in merged_reload.named_parameters())
    merged_trained = res.model.merge_and_unload()
    assert merged_trained is base  # the caller's object, now with merged weights (what a backend holds)
    assert torch.equal(logits(merged_reload, probe), logits(merged_trained, probe))
    torch.testing.assert_close(logits(merged_reload, probe), trained, atol=1e-5, rtol=1e-5)
    # The weight digest is dtype-blind: an fp32-trained adapter fits the same base loaded in bf16.
    bf16 = load_adapter(tiny().to(torch.bfloat16), res.adapter_dir)
    torch.testing.assert_close(logits(bf16, probe).float(), trained, atol=0.5, rtol=0.05)


def test_load_adapter_errors(tmp_path):
    with pytest.raises(LabeldistError, match="does not exist; pass the adapter directory"):
        load_adapter(tiny(), tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabeldistError, match="is not a PEFT adapter"):
        load_adapter(tiny(), tmp_path / "empty")
    res = train_lora(tiny(), toy_examples(4), tmp_path / "run", FAST, pad_id=0, progress=False)
    with pytest.raises(LabeldistError, match=r"trained on LlamaForCausalLM \(hidden 32.*model is LlamaForCausalLM "
                                             r"\(hidden 64"):
        load_adapter(tiny(hidden=64), res.adapter_dir)
    with pytest.raises(LabeldistError, match="other weights of the same architecture"):
        load_adapter(tiny(seed=3), res.adapter_dir)
    with pytest.raises(LabeldistError, match="already carries a LoRA adapter"):
        load_adapter(load_adapter(tiny(), res.adapter_dir, merge=False), res.adapter_dir)
    # A foreign peft adapter (no labeldist metadata): the tensor shapes are checked instead.
    bare = tmp_path / "bare"
    shutil.copytree(res.adapter_dir, bare)
    (bare / _sft_io.ADAPTER_META).unlink()
    with pytest.raises(LabeldistError, match="32 features for model.layers.0.self_attn.q_proj but the model has 64"):
        load_adapter(tiny(hidden=64), bare)
    cfg = json.loads((bare / "adapter_config.json").read_text())
    (bare / "adapter_config.json").write_text(json.dumps({**cfg, "peft_type": "IA3"}))
    with pytest.raises(LabeldistError, match="holds a 'IA3' adapter, not LoRA"):
        load_adapter(tiny(), bare)
    (bare / "adapter_config.json").write_text("{not json")
    with pytest.raises(LabeldistError, match="not valid JSON"):
        load_adapter(tiny(), bare)


# -- bad inputs --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"r": 0}, "r must be a positive integer"),
    ({"epochs": 1.5}, "epochs must be a positive integer"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"warmup_ratio": 1.0}, "warmup_ratio"),
    ({"max_length": 1}, "max_length must be an integer >= 2"),
    ({"target_modules": ()}, "target_modules must be module names"),
])
def test_bad_config_raises(kwargs, match):
    with pytest.raises(LabeldistError, match=match):
        SFTConfig(**kwargs)


def test_bad_training_inputs_raise(tmp_path):
    exs = toy_examples(4)
    with pytest.raises(LabeldistError, match="empty prompt or answer"):
        SFTExample((1, 2), ())
    with pytest.raises(LabeldistError, match="no SFT train examples"):
        train_lora(tiny(), [], tmp_path, FAST, pad_id=0)
    with pytest.raises(LabeldistError, match="is a tuple, not an SFTExample"):
        train_lora(tiny(), [((1, 2), (3,))], tmp_path, FAST, pad_id=0)
    with pytest.raises(LabeldistError, match="token id 64 outside the model's vocabulary of 64"):
        train_lora(tiny(), exs + [SFTExample((1, 64), (2,))], tmp_path, FAST, pad_id=0)
    with pytest.raises(LabeldistError, match="pad_id 64 is not a token id"):
        train_lora(tiny(), exs, tmp_path, FAST, pad_id=64)
    with pytest.raises(LabeldistError, match="leaving no room for a prompt token within max_length=2"):
        train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "max_length": 2}), pad_id=0)
    with pytest.raises(LabeldistError, match=r"none of the SFT target modules \['w_q'\] exist"):
        train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "target_modules": ("w_q",)}), pad_id=0)
    with pytest.raises(LabeldistError, match="already carries a LoRA adapter"):
        train_lora(train_lora(tiny(), exs, tmp_path / "x", FAST, pad_id=0, progress=False).model, exs,
                   tmp_path / "y", FAST, pad_id=0)
    # None of the refused calls left a checkpoint or an adapter behind.
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "adapter").exists()


def test_truncation_is_counted_and_reported(tmp_path):
    exs = [SFTExample(tuple(range(4, 14)), (20, 21)), SFTExample((4, 5), (22,))]
    res = train_lora(tiny(), exs, tmp_path, SFTConfig(**{**FAST.to_dict(), "max_length": 8}), pad_id=0, progress=False)
    assert res.n_truncated == 1 and res.n_tokens == 8 + 3 and res.n_answer_tokens == 3
    assert json.loads((tmp_path / "sft.json").read_text())["n_truncated"] == 1


# -- one real model ----------------------------------------------------------------------
@pytest.mark.slow
def test_smollm2_short_run_loss_falls_and_adapter_reloads(tmp_path):
    import copy

    from labeldist.backends.hf import HFBackend

    # One thread: on a shared 2-core machine two OpenMP threads ran 15-30x slower here.
    backend = HFBackend("smollm2-135m", dtype="fp32", num_threads=1)
    fresh = copy.deepcopy(backend.model)  # an untouched base for the reload
    tok = backend.tokenizer.hf
    texts = [("I love this, what a day!", "joy"), ("This is awful and sad.", "sadness"),
             ("How dare they do that!", "anger"), ("I'm scared of the dark.", "fear"),
             ("What a wonderful gift.", "joy"), ("My dog died today.", "sadness"),
             ("Stop yelling at me!", "anger"), ("That noise terrified me.", "fear")]
    enc = lambda s: tuple(tok(s, add_special_tokens=False)["input_ids"])  # noqa: E731
    exs = [SFTExample(enc(f"Text: {t}\nEmotion:"), enc(f" {a}\n")) for t, a in texts]
    cfg = SFTConfig(r=8, alpha=16, dropout=0.0, lr=1e-3, epochs=2, batch_size=4, grad_accum=1, seed=0)
    res = train_lora(backend.model, exs, tmp_path, cfg, dev_examples=exs[:4], pad_id=tok.pad_token_id,
                     progress=False)
    assert len(res.step_losses) == 4
    assert res.step_losses[-1] < 0.7 * res.step_losses[0]  # measured: about 4.6 -> 2.2 nats per token
    assert res.dev_losses[-1] < 0.7 * res.initial_dev_loss
    probe = exs[0].prompt_ids + exs[0].answer_ids
    trained = logits(res.model, probe)
    assert not torch.allclose(trained, logits(fresh, probe))
    assert torch.equal(logits(load_adapter(fresh, res.adapter_dir, merge=False), probe), trained)
