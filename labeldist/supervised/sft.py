"""LoRA supervised fine-tuning of a causal LM on prompt + gold answer, loss on the answer only.

The reference (REFERENCE-METHODS-2.md §2.3, REFERENCE.md §4.9) trains QLoRA with TRL's
``SFTTrainer``: r=64, alpha=16, dropout 0.1, lr 2e-4, batch 8 x grad-accum 2, max grad norm
0.3, a ``constant`` schedule whose ``warmup_ratio=0.03`` is silently ignored, and the loss on
*every* token of 256-token packed chunks. Here, deliberately different:

* **Loss on the answer tokens only.** Prompt and pad positions get label -100 (no loss).
  Per optimizer step the loss is the mean answer-token negative log-likelihood over the
  ``grad_accum`` micro-batches together, ``sum_i -log p(a_i | prefix) / n_answer_tokens``,
  so long and short answers weigh per token, not per batch.
* **No packing, no 256-token cut.** Each example is its own right-padded row. An example
  longer than ``max_length`` loses tokens from the *left* of its prompt, never from the
  answer; truncations are counted and reported.
* **Linear warmup, then constant** (what the reference's settings meant): the learning
  rate of optimizer step ``s`` (0-based) is ``lr * min(1, (s + 1) / (w + 1))`` with
  ``w = ceil(warmup_ratio * total_steps)``.
* Full-precision LoRA on the model as given (fp32 or bf16), plain AdamW, no quantisation.
* The batch defaults to 4 x 2 (the reference's 8 x 2 halved for a CPU).

The loop is plain PyTorch: seeded (``torch.manual_seed(seed)`` before LoRA init, epoch
``e``'s order from ``numpy.random.default_rng((seed, e))``), with an atomic checkpoint after
every epoch so a killed run resumes at the last complete epoch and ends with the same
weights as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from labeldist.errors import LabeldistError
from labeldist.supervised import _sft_io as io
from labeldist.supervised.sft_batches import IGNORE, SFTExample, batch_nll_sum, collate, mean_nll, truncate_left

__all__ = ["SFTConfig", "SFTExample", "SFTResult", "train_lora", "load_adapter", "collate", "truncate_left"]

DEFAULT_TARGETS = ("q_proj", "v_proj")  # peft's default for Llama and Qwen2


@dataclass(frozen=True)
class SFTConfig:
    """LoRA and optimisation settings; defaults are the reference's where they fit a CPU.

    Parameters
    ----------
    r, alpha, dropout : LoRA rank, scaling numerator (update scaled by ``alpha / r``), dropout.
    lr : peak AdamW learning rate (betas 0.9/0.999, eps 1e-8, no weight decay).
    epochs : passes over the training examples.
    batch_size, grad_accum : examples per forward pass, forward passes per optimizer step.
    max_grad_norm : global L2 norm the gradients are clipped to.
    warmup_ratio : share of all optimizer steps with linearly rising learning rate.
    target_modules : names of the linear modules that get LoRA; None means ``("q_proj", "v_proj")``.
    seed : seeds LoRA init, dropout and the per-epoch shuffles.
    max_length : most tokens per example (prompt + answer); None means the model's context length.
    """

    r: int = 64
    alpha: int = 16
    dropout: float = 0.1
    lr: float = 2e-4
    epochs: int = 1
    batch_size: int = 4
    grad_accum: int = 2
    max_grad_norm: float = 0.3
    warmup_ratio: float = 0.03
    target_modules: tuple[str, ...] | None = None
    seed: int = 0
    max_length: int | None = None

    def __post_init__(self):
        for name in ("r", "alpha", "epochs", "batch_size", "grad_accum"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise LabeldistError(f"SFT {name} must be a positive integer, got {v!r}", f"set {name} to 1 or more")
        if not 0.0 <= self.dropout < 1.0:
            raise LabeldistError(f"SFT dropout must be in [0, 1), got {self.dropout!r}", "use e.g. 0.1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise LabeldistError(f"SFT lr must be a positive number, got {self.lr!r}", "use e.g. 2e-4")
        if not self.max_grad_norm > 0:
            raise LabeldistError(f"SFT max_grad_norm must be positive, got {self.max_grad_norm!r}", "use e.g. 0.3")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise LabeldistError(f"SFT warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}", "use e.g. 0.03")
        if self.max_length is not None and (not isinstance(self.max_length, int) or self.max_length < 2):
            raise LabeldistError(f"SFT max_length must be an integer >= 2 or None, got {self.max_length!r}",
                                 "leave it unset to use the model's context length")
        if self.target_modules is not None:
            mods = (self.target_modules,) if isinstance(self.target_modules, str) else tuple(self.target_modules)
            if not mods or not all(isinstance(m, str) and m for m in mods):
                raise LabeldistError(f"SFT target_modules must be module names, got {self.target_modules!r}",
                                     "use e.g. ('q_proj', 'v_proj') or None")
            object.__setattr__(self, "target_modules", mods)

    @property
    def resolved_target_modules(self) -> tuple[str, ...]:
        return self.target_modules or DEFAULT_TARGETS

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["target_modules"] = list(self.resolved_target_modules)
        return d


@dataclass(frozen=True)
class SFTResult:
    """What :func:`train_lora` did. ``model`` is the trained ``peft`` model, in eval mode.

    ``model.merge_and_unload()`` returns the caller's base model object with the adapter
    merged into its weights (a plain causal LM for the generation backends).
    """

    adapter_dir: Path
    config: SFTConfig
    n_examples: int
    n_answer_tokens: int  # per epoch
    n_tokens: int  # non-pad tokens per epoch (prompt + answer)
    n_truncated: int
    max_length: int
    epochs_completed: int
    resumed_from_epoch: int  # 0 for a fresh start
    step_losses: tuple[float, ...]
    epoch_losses: tuple[float, ...]  # mean answer-token NLL of each epoch's steps
    dev_losses: tuple[float, ...]  # mean answer-token NLL on the dev examples after each epoch; () without
    initial_dev_loss: float | None  # the same before training; None without dev examples
    train_seconds: float  # summed over epochs, including those of earlier, resumed calls
    tokens_per_second: float  # n_tokens * epochs / train_seconds
    model: object = field(repr=False, compare=False)


# -- training --------------------------------------------------------------------------
def _check_examples(examples, name: str, vocab: int) -> list[SFTExample]:
    if examples is None or isinstance(examples, (str, bytes)) or len(examples) == 0:
        raise LabeldistError(f"no SFT {name} examples were given", f"pass a non-empty list of SFTExample as {name}")
    for i, ex in enumerate(examples):
        if not isinstance(ex, SFTExample):
            raise LabeldistError(f"SFT {name} example {i} is a {type(ex).__name__}, not an SFTExample",
                                 "build examples with SFTExample(prompt_ids, answer_ids)")
        bad = [t for t in ex.prompt_ids + ex.answer_ids if not 0 <= t < vocab]
        if bad:
            raise LabeldistError(f"SFT {name} example {i} has token id {bad[0]} outside the model's vocabulary "
                                 f"of {vocab}", "encode prompts and answers with the model's own tokenizer")
    return list(examples)


def _digest(examples: Sequence[SFTExample] | None) -> str:
    h = hashlib.sha256()
    for ex in examples or ():
        h.update(np.asarray(ex.prompt_ids, dtype=np.int64).tobytes() + b"|")
        h.update(np.asarray(ex.answer_ids, dtype=np.int64).tobytes() + b";")
    return h.hexdigest()[:32]


def _wrap(model, config: SFTConfig):
    from peft import LoraConfig, PeftModel, get_peft_model

    if isinstance(model, PeftModel) or any("lora_" in n for n, _ in model.named_parameters()):
        raise LabeldistError("the model already carries a LoRA adapter", "pass a freshly loaded base model")
    lcfg = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout, bias="none",
                      task_type="CAUSAL_LM", target_modules=list(config.resolved_target_modules))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft calls a renamed transformers helper
            return get_peft_model(model, lcfg)
    except ValueError as e:
        if "not found in the base model" not in str(e):
            raise
        raise LabeldistError(f"none of the SFT target modules {list(config.resolved_target_modules)} exist in "
                             f"{type(model).__name__}",
                             "set target_modules to linear module names of this model") from None


def _resume_key(config, fp, examples, dev_examples, pad_id, max_length, warmup_steps) -> dict:
    cfg = config.to_dict()
    cfg.pop("epochs")  # more epochs may be asked on resume, as long as the warmup is unchanged
    return {"config": cfg, "base": fp, "train_digest": _digest(examples), "dev_digest": _digest(dev_examples),
            "n_examples": len(examples), "pad_id": pad_id, "max_length": max_length, "warmup_steps": warmup_steps}


def _check_resume(key: dict, state: dict, ckpt: Path, epochs: int) -> None:
    old = state["resume_key"]
    diff = []
    for k in key:
        if k in ("config", "base"):
            diff += [f"{k}.{s}: {old[k].get(s)!r} then, {key[k][s]!r} now"
                     for s in key[k] if old[k].get(s) != key[k][s]]
        elif old.get(k) != key[k]:
            diff.append(f"{k}: {old.get(k)!r} then, {key[k]!r} now")
    fix = f"rerun with the settings and data it was made with, or delete {ckpt.parent} (or use a new output directory)"
    if diff:
        raise LabeldistError(f"SFT checkpoint {ckpt} does not match this call ({'; '.join(diff[:3])})", fix)
    if state["epoch"] > epochs:
        raise LabeldistError(f"SFT checkpoint {ckpt} has {state['epoch']} epochs, more than the {epochs} asked", fix)


def train_lora(model, examples: Sequence[SFTExample], out_dir, config: SFTConfig = SFTConfig(), *,
               dev_examples: Sequence[SFTExample] | None = None, pad_id: int, progress: bool = True) -> SFTResult:
    """Fine-tune LoRA adapters on ``model`` (in place) with the loss on the answer tokens.

    Parameters
    ----------
    model : transformers causal LM (``LlamaForCausalLM``, ``Qwen2ForCausalLM``, ...)
        The base model; peft injects the LoRA layers into it in place.
    examples : sequence of SFTExample
        Training rows (prompt ids + gold answer ids).
    out_dir : path
        Gets ``checkpoints/epoch-<k>/`` (only the latest kept), then ``adapter/`` (peft
        ``save_pretrained`` plus ``labeldist_adapter.json``), ``train_log.jsonl`` and ``sft.json``.
        If it holds a checkpoint from the same config and data, training resumes after it.
    config : SFTConfig
    dev_examples : sequence of SFTExample, optional
        Scored (mean answer-token NLL) after every epoch.
    pad_id : int
        Token id for right padding (masked out; its value never matters).
    progress : bool
        A tqdm bar over optimizer steps on stderr.

    Returns
    -------
    SFTResult
    """
    from tqdm.auto import tqdm

    if not isinstance(config, SFTConfig):
        raise LabeldistError(f"config must be an SFTConfig, got {type(config).__name__}", "pass SFTConfig(...)")
    vocab = int(model.get_input_embeddings().num_embeddings)
    if isinstance(pad_id, bool) or not isinstance(pad_id, (int, np.integer)) or not 0 <= pad_id < vocab:
        raise LabeldistError(f"pad_id {pad_id!r} is not a token id of the model (vocabulary {vocab})",
                             "pass the tokenizer's pad_token_id (or eos_token_id)")
    pad_id = int(pad_id)
    examples = _check_examples(examples, "train", vocab)
    dev = _check_examples(dev_examples, "dev", vocab) if dev_examples is not None else None
    max_length = config.max_length or int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    examples, n_cut = truncate_left(examples, max_length)
    dev = truncate_left(dev, max_length)[0] if dev is not None else None

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_batches = math.ceil(len(examples) / config.batch_size)
    steps_per_epoch = math.ceil(n_batches / config.grad_accum)
    warmup = math.ceil(config.warmup_ratio * steps_per_epoch * config.epochs)
    fp = io.base_fingerprint(model)
    key = _resume_key(config, fp, examples, dev, pad_id, max_length, warmup)

    t_call = time.perf_counter()
    found = io.last_checkpoint(out_dir)
    if found is not None:  # checked before peft touches the caller's model
        adapter, trainer, state = io.load_checkpoint(found[1])
        _check_resume(key, state, found[1], config.epochs)
    torch.manual_seed(config.seed)
    pm = _wrap(model, config)
    params = {n: p for n, p in pm.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW(list(params.values()), lr=config.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (warmup + 1)))
    steps, epochs_log, start = [], [], 0
    if found is not None:
        if set(adapter) != set(params):
            raise LabeldistError(f"SFT checkpoint {found[1]} holds other LoRA tensors than this model",
                                 f"delete {found[1].parent} to train from scratch")
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(adapter[n])
        opt.load_state_dict(trainer["optimizer"])
        sched.load_state_dict(trainer["scheduler"])
        torch.set_rng_state(trainer["torch_rng"])
        steps, epochs_log, start = state["steps"], state["epochs"], state["epoch"]
        initial_dev = state["initial_dev_loss"]
    else:
        initial_dev = mean_nll(pm, dev, pad_id, config.batch_size) if dev is not None else None

    n_answer = sum(len(e.answer_ids) for e in examples)
    n_tokens = sum(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
    bar = tqdm(total=steps_per_epoch * (config.epochs - start), desc="sft", disable=not progress, file=sys.stderr)
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        pm.train()
        order = np.random.default_rng((config.seed, epoch)).permutation(len(examples))
        bs = config.batch_size
        batches = [[examples[i] for i in order[b:b + bs]] for b in range(0, len(order), bs)]
        for g in range(0, len(batches), config.grad_accum):
            group = [collate(b, pad_id) for b in batches[g:g + config.grad_accum]]
            n_ans = sum(int((lab != IGNORE).sum()) for _, _, lab in group)
            lr = sched.get_last_lr()[0]
            opt.zero_grad(set_to_none=True)
            loss = 0.0
            for ids, mask, labels in group:
                nll = batch_nll_sum(pm, ids, mask, labels)
                (nll / n_ans).backward()  # token mean over the whole accumulation group
                loss += float(nll.detach())
            grad_norm = float(torch.nn.utils.clip_grad_norm_(list(params.values()), config.max_grad_norm))
            opt.step()
            sched.step()
            steps.append({"epoch": epoch + 1, "step": len(steps) + 1, "loss": loss / n_ans, "lr": lr,
                          "grad_norm": grad_norm, "answer_tokens": n_ans,
                          "tokens": sum(int(m.sum()) for _, m, _ in group)})
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss / n_ans:.3f}")
        ep_steps = [s for s in steps if s["epoch"] == epoch + 1]
        epochs_log.append({
            "epoch": epoch + 1,
            "train_loss": sum(s["loss"] * s["answer_tokens"] for s in ep_steps) / n_answer,
            "dev_loss": mean_nll(pm, dev, pad_id, config.batch_size) if dev is not None else None,
            "tokens": n_tokens, "answer_tokens": n_answer, "seconds": time.perf_counter() - t0,
        })
        io.save_checkpoint(out_dir, epoch + 1, adapter_state=params, optimizer=opt, scheduler=sched,
                           state={"epoch": epoch + 1, "resume_key": key, "initial_dev_loss": initial_dev,
                                  "steps": steps, "epochs": epochs_log})
    bar.close()
    pm.eval()

    adapter_dir = out_dir / io.ADAPTER
    tmp = io.fresh_tmp_dir(adapter_dir)
    pm.save_pretrained(str(tmp))
    (tmp / io.ADAPTER_META).write_text(json.dumps({"base": fp, "config": config.to_dict()}, indent=1) + "\n")
    io.replace_dir(tmp, adapter_dir)
    log = [{"type": "step", **s} for s in steps] + [{"type": "epoch", **e} for e in epochs_log]
    io.write_text_atomic(out_dir / "train_log.jsonl", "".join(json.dumps(r) + "\n" for r in log))
    train_seconds = sum(e["seconds"] for e in epochs_log)
    result = SFTResult(
        adapter_dir=adapter_dir, config=config, n_examples=len(examples), n_answer_tokens=n_answer,
        n_tokens=n_tokens, n_truncated=n_cut, max_length=max_length, epochs_completed=config.epochs,
        resumed_from_epoch=start, step_losses=tuple(s["loss"] for s in steps),
        epoch_losses=tuple(e["train_loss"] for e in epochs_log),
        dev_losses=tuple(e["dev_loss"] for e in epochs_log if e["dev_loss"] is not None),
        initial_dev_loss=initial_dev,
        train_seconds=train_seconds,
        tokens_per_second=n_tokens * config.epochs / train_seconds if train_seconds > 0 else float("nan"),
        model=pm,
    )
    summary = {k: v for k, v in dataclasses.asdict(dataclasses.replace(result, model=None)).items() if k != "model"}
    summary.update(config=config.to_dict(), adapter_dir=str(adapter_dir), n_dev_examples=len(dev) if dev else 0,
                   steps_per_epoch=steps_per_epoch, warmup_steps=warmup, base=fp,
                   wall_seconds_this_call=time.perf_counter() - t_call, versions=_versions())
    io.write_text_atomic(out_dir / "sft.json", json.dumps(summary, indent=1) + "\n")
    return result


def _versions() -> dict:
    import peft
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "threads": torch.get_num_threads()}


def load_adapter(model, adapter_dir, *, merge: bool = True):
    """``model`` with the LoRA adapter in ``adapter_dir`` applied, in eval mode.

    With ``merge=True`` the adapter is merged into the weights (``merge_and_unload``) and
    the returned object is ``model`` itself, a plain causal LM; with ``merge=False`` it is a
    ``peft`` model computing ``W x + (alpha / r) B A x``. Raises :class:`LabeldistError` for a
    missing directory, one that is not a LoRA adapter, or one made for another base
    (architecture, shapes, weights or target modules differ).
    """
    from peft import PeftModel

    if isinstance(model, PeftModel) or any("lora_" in n for n, _ in model.named_parameters()):
        raise LabeldistError("the model already carries a LoRA adapter", "load the adapter onto a fresh base model")
    adapter_dir = Path(adapter_dir)
    io.check_adapter_dir(model, adapter_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pm = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    pm.eval()
    return pm.merge_and_unload() if merge else pm
