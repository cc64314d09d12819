"""Rows for LoRA SFT: left truncation, right-padded batches with answer-only labels, and the
answer-token negative log-likelihood (see :mod:`labeldist.supervised.sft`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from labeldist.errors import LabeldistError

IGNORE = -100  # label value that ``cross_entropy`` skips


@dataclass(frozen=True)
class SFTExample:
    """One training row: the run's prompt token ids and the gold answer's token ids.

    ``answer_ids`` should end with whatever the generation methods stop on (EOS or the
    answer delimiter) so the model learns to stop.
    """

    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]

    def __post_init__(self):
        object.__setattr__(self, "prompt_ids", tuple(int(t) for t in self.prompt_ids))
        object.__setattr__(self, "answer_ids", tuple(int(t) for t in self.answer_ids))
        if not self.prompt_ids or not self.answer_ids:
            raise LabeldistError("an SFT example has an empty prompt or answer",
                                 "give every example at least one prompt token and one answer token")



def truncate_left(examples: Sequence[SFTExample], max_length: int) -> tuple[list[SFTExample], int]:
    """Drop leading prompt tokens so that ``len(prompt) + len(answer) <= max_length``; count the cut rows."""
    out, n_cut = [], 0
    for i, ex in enumerate(examples):
        room = max_length - len(ex.answer_ids)
        if room < 1:
            raise LabeldistError(f"SFT example {i}: its answer has {len(ex.answer_ids)} tokens, leaving no room "
                                 f"for a prompt token within max_length={max_length}",
                                 "raise max_length or shorten the answers")
        if len(ex.prompt_ids) > room:
            ex, n_cut = SFTExample(ex.prompt_ids[-room:], ex.answer_ids), n_cut + 1
        out.append(ex)
    return out, n_cut


def collate(examples: Sequence[SFTExample], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ``(input_ids, attention_mask, labels)``, each of shape (B, T).

    ``labels`` holds the answer tokens at their own positions and -100 on prompt and pad
    positions; the model's logits at position ``t`` are scored against ``labels[t + 1]``.
    """
    width = max(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, e in enumerate(examples):
        n_p, n = len(e.prompt_ids), len(e.prompt_ids) + len(e.answer_ids)
        ids[row, :n] = torch.tensor(e.prompt_ids + e.answer_ids)
        mask[row, :n] = 1
        labels[row, n_p:n] = torch.tensor(e.answer_ids)
    return ids, mask, labels


def answer_nll_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed ``-log p(label)`` over positions whose label is not -100.

    ``logits`` (B, T, V) and ``labels`` (B, T) are aligned as the model returns them; the
    shift (logit ``t`` predicts token ``t + 1``) happens here.
    """
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                                             ignore_index=IGNORE, reduction="sum")


MIN_SHARED = 8  # a shorter common prefix is not worth a second forward call


def shared_prefix_length(ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> int:
    """Length ``P`` of the token prefix every row of the batch shares, or 0 when not worth sharing.

    ``P`` stops before the first position whose logit is scored in any row, so every scored
    logit comes from the suffix; it is 0 for one row or when the common prefix is shorter
    than ``MIN_SHARED`` tokens. The run's prompts share their instruction and demos, which
    are most of each row.
    """
    if ids.shape[0] < 2:
        return 0
    same = ((ids == ids[:1]) & (mask == 1)).all(0)  # (T,)
    common = int(same.long().cumprod(0).sum())
    scored = (labels[:, 1:] != IGNORE).any(0).nonzero()
    first = int(scored[0]) if len(scored) else common
    p = min(common, first)
    return p if p >= MIN_SHARED else 0


def batch_nll_sum(model, ids, mask, labels) -> torch.Tensor:
    """:func:`answer_nll_sum` computed by ``model`` on (B, T) tensors, without logits at prompt positions.

    The model is asked (``logits_to_keep``, a 1-D index over positions) only for the logits of
    positions that predict an answer token in some row: (B, K, V) instead of (B, T, V), which
    saves most of the LM head's time and memory on long prompts. The model's own forward
    applies the head, so logit soft-capping (Gemma) or scaling stays in.

    When the rows share a prefix of ``P`` tokens (:func:`shared_prefix_length`), that prefix
    runs once, for one row, and its key/value cache is repeated over the batch for the
    (B, T - P) suffixes: the same loss and gradients (gradients flow back through the
    repeated cache) for about ``P`` x (B - 1) fewer token positions. In training, LoRA
    dropout on the prefix then draws one mask for the whole batch instead of one per row.
    """
    scored = labels[:, 1:] != IGNORE  # (B, T-1): logit t is scored against label t+1
    keep = scored.any(0).nonzero().squeeze(1)  # (K,)
    target = labels[:, keep + 1]  # (B, K); -100 where this row has no answer token at that position
    p = shared_prefix_length(ids, mask, labels)
    if p:
        cache = model(input_ids=ids[:1, :p], use_cache=True, logits_to_keep=1).past_key_values
        cache.batch_repeat_interleave(ids.shape[0])
        logits = model(input_ids=ids[:, p:], attention_mask=mask, cache=cache, use_cache=True,
                       logits_to_keep=keep - p).logits  # (B, K, V)
    else:
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=keep).logits
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), target.flatten(),
                                             ignore_index=IGNORE, reduction="sum")


def mean_nll(model, examples: Sequence[SFTExample], pad_id: int, batch_size: int) -> float:
    """Mean answer-token NLL, ``sum_i -log p(a_i | prefix) / n_answer_tokens``, in eval mode."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            ids, mask, labels = collate(examples[i:i + batch_size], pad_id)
            total += float(batch_nll_sum(model, ids, mask, labels))
            n += int((labels != IGNORE).sum())
    return total / n
