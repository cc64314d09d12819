"""Shared fixtures: real tokenizers (SmolLM2, Qwen2.5) from the installed model packages,
a tiny random Llama on the SmolLM2 tokenizer for plumbing, and the real SmolLM2 in fp32."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _tokenizer(name: str):
    from transformers import AutoTokenizer

    from labeldist.backends.models import MODELS, cache_dir, gguf_path

    spec = MODELS[name]
    for d in sorted((cache_dir() / "converted").glob(f"{name}-{spec.sha256[:16]}-*")):
        if (d / "COMPLETE").is_file():
            return AutoTokenizer.from_pretrained(d)
    p = gguf_path(spec)
    return AutoTokenizer.from_pretrained(p.parent, gguf_file=p.name)


@pytest.fixture(scope="session")
def smol_tokenizer():
    return _tokenizer("smollm2-135m")


@pytest.fixture(scope="session")
def qwen_tokenizer():
    return _tokenizer("qwen2.5-0.5b")


@pytest.fixture(scope="session")
def tiny_backend(smol_tokenizer):
    """A 2-layer random Llama sharing SmolLM2's real tokenizer, fp32, seeded."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from labeldist.backends.hf import HFBackend

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(smol_tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      pad_token_id=smol_tokenizer.pad_token_id, eos_token_id=smol_tokenizer.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    # Scale the output head up so greedy choices are not near-ties (bigger logit gaps).
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    return HFBackend.from_pretrained_objects(model, smol_tokenizer, name="tiny-random-llama", batch_size=4)


@pytest.fixture(scope="session")
def smol_backend():
    from labeldist.backends.hf import HFBackend

    return HFBackend("smollm2-135m", dtype="fp32", batch_size=8)


def encoder(tok):
    return lambda s: tok(s, add_special_tokens=False)["input_ids"]


def decoder(tok):
    return lambda ids: tok.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
