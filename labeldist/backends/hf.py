"""Local transformers backend with a reusable key/value cache of shared prompt prefixes.

Speed comes from two things:

* **Prefix reuse.** A prompt is a tuple of segments (see :class:`PromptIds`). The key/value
  cache after every leading run of segments that a batch shares is kept in a small LRU and
  reused: the few-shot prefix is prefilled once per run, a breakdown item's question once
  per item.
* **Batching across queries.** The distinct tails of a batch are left-padded *between*
  the shared prefix and the tail (masked out, positions taken from the mask), so every
  row's last token is in the last column and greedy decoding advances all rows in
  lockstep; finished rows are dropped from the cache. Decoding one token at a time at
  batch 1 is what makes the reference slow.

Attentions only on request (:meth:`HFBackend.attention_rows`, eager attention for that one forward);
hidden states only with ``want_hidden=True``.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.backends import DTYPES
from labeldist.backends.base import Backend, Generation
from labeldist.backends.models import ResolvedModel, cache_dir, resolve_model
from labeldist.backends.tokenizer import HFTokenizer
from labeldist.errors import LabeldistError
from labeldist.records import ModelInfo, PromptIds

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402


def cpu_supports_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype: str) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if cpu_supports_bf16() else torch.float32
    table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32}
    if dtype not in table:
        raise LabeldistError(f"unknown dtype {dtype!r}", f"use one of {', '.join(DTYPES)}")
    return table[dtype]


def load_model_and_tokenizer(resolved: ResolvedModel, dtype: torch.dtype):
    """Load from the safetensors cache when present, else from the GGUF (and fill the cache)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if resolved.kind == "hf_dir":
        tok = AutoTokenizer.from_pretrained(resolved.path)
        model = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=dtype)
        return model.eval(), tok, "hf_dir"
    dname = {torch.bfloat16: "bf16", torch.float32: "fp32"}[dtype]
    cached = cache_dir() / "converted" / f"{resolved.name}-{(resolved.sha256 or 'nohash')[:16]}-{dname}"
    if (cached / "config.json").is_file() and (cached / "COMPLETE").is_file():
        tok = AutoTokenizer.from_pretrained(cached)
        model = AutoModelForCausalLM.from_pretrained(cached, dtype=dtype)
        return model.eval(), tok, "cache"
    import functools

    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    # The GGUF converter uses a plain tqdm bar that transformers' own switch does not silence.
    gguf_utils.tqdm = functools.partial(gguf_utils.tqdm, disable=True)
    tok = AutoTokenizer.from_pretrained(resolved.path.parent, gguf_file=resolved.path.name)
    model = AutoModelForCausalLM.from_pretrained(resolved.path.parent, gguf_file=resolved.path.name, dtype=dtype)
    # A GGUF-loaded model refuses save_pretrained until its quantizer is detached.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = cached.with_name(cached.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "COMPLETE").write_text("ok\n")
    if cached.exists():
        import shutil

        shutil.rmtree(cached)
    tmp.rename(cached)
    return model.eval(), tok, "gguf"


class HFBackend(Backend):
    """Greedy generation and next-token scoring with a transformers causal LM on CPU.

    Parameters
    ----------
    model : str
        Registered short name, ``.gguf`` path or Hugging Face directory.
    dtype : {"auto", "bf16", "fp32"}
        ``auto`` is bf16 on CPUs with native bf16 support, else fp32.
    batch_size : int
        Rows per forward pass for generation and for scored endings.
    prefix_cache_size : int
        Number of prefix key/value caches kept (LRU).
    """

    def __init__(self, model: str, *, dtype: str = "auto", batch_size: int = 20, prefix_cache_size: int = 8,
                 num_threads: int | None = None):
        torch.set_num_threads(num_threads or os.cpu_count() or 1)
        t0 = time.perf_counter()
        self.resolved = resolve_model(model)
        self.dtype = resolve_dtype(dtype)
        self.model, hf_tokenizer, loaded_from = load_model_and_tokenizer(self.resolved, self.dtype)
        self.tokenizer = HFTokenizer(hf_tokenizer, self.resolved.name)
        self.load_seconds = time.perf_counter() - t0
        self.batch_size = int(batch_size)
        self._prefix_cache: OrderedDict[tuple, tuple] = OrderedDict()
        self._prefix_cache_size = prefix_cache_size
        self.info = ModelInfo(
            name=self.resolved.name,
            backend="hf",
            source=str(self.resolved.path),
            sha256=self.resolved.sha256,
            dtype={torch.bfloat16: "bf16", torch.float32: "fp32"}[self.dtype],
            extra={
                "architecture": type(self.model).__name__,
                "n_parameters": int(sum(p.numel() for p in self.model.parameters())),
                "loaded_from": loaded_from,
                "load_seconds": round(self.load_seconds, 2),
            },
        )
        self.stats = {"forward_tokens": 0, "forward_calls": 0}
        self.max_packed_tokens = 1024
        self._adapter_on = False

    @classmethod
    def from_pretrained_objects(cls, model, tokenizer, *, name: str = "custom", batch_size: int = 20) -> "HFBackend":
        """Wrap an already-built model and tokenizer (tests, notebooks)."""
        self = cls.__new__(cls)
        self.resolved = ResolvedModel(name, "object", Path("."), None, name)
        self.dtype = next(model.parameters()).dtype
        self.model, self.tokenizer = model.eval(), HFTokenizer(tokenizer, name)
        self.load_seconds = 0.0
        self.batch_size = batch_size
        self._prefix_cache = OrderedDict()
        self._prefix_cache_size = 8
        self.info = ModelInfo(name=name, backend="hf", source="object", dtype=str(self.dtype).replace("torch.", ""),
                                extra={"architecture": type(model).__name__})
        self.stats = {"forward_tokens": 0, "forward_calls": 0}
        self.max_packed_tokens = 1024
        self._adapter_on = False
        return self

    def is_cached(self, segments: tuple[tuple[int, ...], ...]) -> bool:
        """Whether the key/value cache after ``segments`` is held (for the current adapter state)."""
        return (self._adapter_on, tuple(segments)) in self._prefix_cache

    # -- LoRA adapters (SFT) -------------------------------------------------------------
    def attach_adapter(self, peft_model) -> None:
        """Use ``peft_model`` (a LoRA-wrapped copy of this backend's model) from now on, adapter *off*:
        the base model answers unless inside :meth:`adapted`. Cached prefixes are kept per state."""
        self.model = peft_model.eval()
        self.model.base_model.disable_adapter_layers()
        self._adapter_on = False

    def detach_adapter(self) -> None:
        """Back to the plain base model (the LoRA layers removed, not merged)."""
        if hasattr(self.model, "unload") and hasattr(self.model, "peft_config"):
            self.model = self.model.unload().eval()
        self._adapter_on = False
        self._prefix_cache.clear()

    @contextlib.contextmanager
    def adapted(self):
        """Within this block the LoRA adapter is on."""
        if not hasattr(self.model, "base_model") or not hasattr(self.model.base_model, "enable_adapter_layers"):
            raise LabeldistError("no adapter is attached to this model", "train one (--methods sft) or pass --adapter DIR")
        self.model.base_model.enable_adapter_layers()
        self._adapter_on = True
        try:
            yield self
        finally:
            self.model.base_model.disable_adapter_layers()
            self._adapter_on = False

    # -- tokenizer -------------------------------------------------------------------
    @property
    def eos_ids(self) -> frozenset[int]:
        ids = set()
        for src in (self.model.generation_config.eos_token_id if self.model.generation_config else None,
                    self.tokenizer.hf.eos_token_id):
            if src is None:
                continue
            ids.update(src if isinstance(src, (list, tuple)) else [src])
        return frozenset(int(i) for i in ids)

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)

    # -- prefix cache ------------------------------------------------------------------
    def _forward(self, ids: torch.Tensor, *, past=None, attention_mask=None, position_ids=None, want_hidden=False):
        self.stats["forward_tokens"] += int(ids.numel())
        self.stats["forward_calls"] += 1
        return self.model(
            input_ids=ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=past,
            use_cache=True,
            logits_to_keep=1,
            output_hidden_states=want_hidden,
        )

    def _prefix_state(self, segments: tuple[tuple[int, ...], ...]):
        """(cache, last_logits, last_hidden, length) after ``segments``.

        Built on the state of ``segments[:-1]``, which is itself cached, so the run-level
        prefix (header + demos) is prefilled once and every item's question extends it.
        """
        from transformers import DynamicCache

        key = (self._adapter_on, segments)  # an attached adapter changes every cached state
        if key in self._prefix_cache:
            self._prefix_cache.move_to_end(key)
            return self._prefix_cache[key]
        if len(segments) > 1:
            base = self._prefix_state(segments[:-1])
        else:
            base = (None, None, None, 0)
        past = copy.deepcopy(base[0]) if base[0] is not None else DynamicCache(config=self.model.config)
        length = base[3]
        rest = list(segments[-1])
        if not rest:  # an empty segment adds nothing
            state = base
        else:
            with torch.inference_mode():
                ids = torch.tensor([rest], dtype=torch.long)
                pos = torch.arange(length, length + len(rest)).unsqueeze(0)
                out = self._forward(ids, past=past, position_ids=pos,
                                    attention_mask=torch.ones(1, length + len(rest), dtype=torch.long), want_hidden=True)
            state = (out.past_key_values, out.logits[0, -1].float(),
                     torch.stack([h[0, -1] for h in out.hidden_states]).float(), length + len(rest))  # (layers+1, H)
        self._prefix_cache[key] = state
        while len(self._prefix_cache) > self._prefix_cache_size:
            self._prefix_cache.popitem(last=False)
        return state

    @staticmethod
    def _group(prompts: Sequence[PromptIds]) -> list[tuple[tuple, list[int]]]:
        """Group prompt indices by their leading segments (all but the last segment)."""
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(prompts):
            groups.setdefault(p.segments[:-1], []).append(i)
        return list(groups.items())

    def _start_batch(self, prefix, tails: list[tuple[int, ...]], want_hidden: bool, layer: int = -1):
        """Forward left-padded tails on the expanded prefix cache; return (past, mask, next_pos, logits, hidden)."""
        past0, last_logits, last_hidden, plen = prefix
        last_hidden = last_hidden[layer] if last_hidden is not None else None
        n = len(tails)
        width = max(len(t) for t in tails)
        past = copy.deepcopy(past0) if plen else None
        if width == 0:  # every tail empty: the prefix's own last logits
            if past is not None:
                past.batch_repeat_interleave(n)
            mask = torch.ones(n, plen, dtype=torch.long)
            return past, mask, torch.full((n,), plen), last_logits.expand(n, -1).clone(), last_hidden.expand(n, -1).clone()
        pad = self.tokenizer.pad_id if self.tokenizer.pad_id is not None else 0
        ids = torch.full((n, width), pad, dtype=torch.long)
        tail_mask = torch.zeros(n, width, dtype=torch.long)
        for r, t in enumerate(tails):
            if t:
                ids[r, width - len(t):] = torch.tensor(t)
                tail_mask[r, width - len(t):] = 1
        if any(len(t) == 0 for t in tails):
            raise LabeldistError("internal: mixing empty and non-empty prompt tails", "report this as a bug")
        mask = torch.cat([torch.ones(n, plen, dtype=torch.long), tail_mask], dim=1)
        pos = (plen + tail_mask.cumsum(-1) - 1).clamp(min=0)
        if past is not None:
            past.batch_repeat_interleave(n)
        with torch.inference_mode():
            out = self._forward(ids, past=past, attention_mask=mask, position_ids=pos, want_hidden=want_hidden)
        hidden = out.hidden_states[layer][:, -1].float() if want_hidden else None
        return out.past_key_values, mask, pos[:, -1] + 1, out.logits[:, -1].float(), hidden

    # -- interface -----------------------------------------------------------------------
    def score_next(self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Next-token scores; prompts sharing all but their last segment are scored in one packed forward."""
        self.check_length(prompts, 1)
        cand = torch.tensor(list(candidate_ids), dtype=torch.long)
        scores = np.zeros((len(prompts), len(cand)), dtype=np.float64)
        for shared, idx in self._group(prompts):
            tails = [prompts[i].segments[-1] for i in idx]
            # The group's own last shared segment (an item's question) rides in the packed row
            # instead of getting a cache entry of its own, unless it is already cached.
            if len(shared) >= 2 and (self._adapter_on, shared) not in self._prefix_cache:
                base, lead = self._prefix_state(shared[:-1]), list(shared[-1])
            else:
                base, lead = (self._prefix_state(shared) if shared else (None, None, None, 0)), []
            if len(lead) + sum(len(t) for t in tails) > self.max_packed_tokens and lead:
                base, lead = self._prefix_state(shared), []  # too long for one row: cache the question first
            start = 0
            while start < len(idx):
                width, stop = len(lead), start
                while stop < len(idx) and (stop == start or width + len(tails[stop]) <= self.max_packed_tokens):
                    width += len(tails[stop])
                    stop += 1
                logits = self._score_packed(base, lead, tails[start:stop])
                scores[idx[start:stop]] = logits[:, cand].double().numpy()
                start = stop
        return scores, np.zeros_like(scores, dtype=bool)

    def _score_packed(self, base, lead: list[int], tails: Sequence[tuple[int, ...]]) -> torch.Tensor:
        """Logits after each tail, from ONE forward of a single row ``lead + tail_1 + ... + tail_n``.

        A block mask lets every token see the cached prefix and the lead (e.g. the item's
        question); a tail's tokens also see their own earlier tokens and nothing of the other
        tails, and each tail's positions restart right after the lead. The shared prefix is
        therefore attended to once per row instead of being copied per prompt.
        Shapes: mask (1, 1, T, P + T) with T = len(lead) + sum(len(tails)).
        """
        from transformers import DynamicCache

        past0, last_logits, _, plen = base
        if not lead and any(len(t) == 0 for t in tails):
            raise LabeldistError("internal: empty prompt tail in packed scoring", "report this as a bug")
        total = len(lead) + sum(len(t) for t in tails)
        ids = torch.tensor([list(lead) + [tok for t in tails for tok in t]], dtype=torch.long)
        pos = torch.empty(total, dtype=torch.long)
        pos[: len(lead)] = torch.arange(plen, plen + len(lead))
        allowed = torch.zeros(total, plen + total, dtype=torch.bool)
        allowed[:, :plen] = True
        lead_end = len(lead)
        allowed[:lead_end, plen:plen + lead_end] = torch.tril(torch.ones(lead_end, lead_end, dtype=torch.bool))
        last = []
        at = lead_end
        for t in tails:
            n = len(t)
            pos[at:at + n] = torch.arange(plen + lead_end, plen + lead_end + n)
            allowed[at:at + n, plen:plen + lead_end] = True
            allowed[at:at + n, plen + at:plen + at + n] = torch.tril(torch.ones(n, n, dtype=torch.bool))
            last.append(at + n - 1 if n else at - 1)
            at += n
        past = copy.deepcopy(past0) if past0 is not None else DynamicCache(config=self.model.config)
        keep = torch.tensor(sorted(set(last)), dtype=torch.long)
        with torch.inference_mode():
            self.stats["forward_tokens"] += total
            self.stats["forward_calls"] += 1
            out = self.model(input_ids=ids, attention_mask=allowed[None, None], position_ids=pos[None], cache=past,
                             use_cache=True, logits_to_keep=keep)
        rows = {int(k): r for r, k in enumerate(keep.tolist())}
        return out.logits[0, [rows[i] for i in last]].float()

    #: Tokens a node forest may hold before it is started afresh (between two expand calls).
    max_forest_tokens = 16384

    def expand(self, prompts: Sequence[PromptIds], paths: Sequence[tuple[int, ...]], *,
               allowed=None) -> np.ndarray:
        """Full-vocabulary log-probs after ``prompts[i] + paths[i]``, shape (n_paths, vocab), float32.

        Prompts sharing their leading segments (a run's few-shot prefix) share one node forest
        (:class:`labeldist.backends.hf_tree.NodeForest`): the prefix comes from the prefix cache,
        each query and every node's tokens are appended to one cache under a forest mask, so a
        node costs only its new tokens and one forward serves the nodes of many examples.
        ``allowed`` is not needed: every token is scored.
        """
        from labeldist.backends.hf_tree import NodeForest

        self.check_length(list(dict.fromkeys(prompts)), max((len(p) for p in paths), default=0) + 1)
        out = np.empty((len(paths), 0), dtype=np.float32)
        rows: list[np.ndarray | None] = [None] * len(paths)
        groups: dict[tuple, list[int]] = {}
        for i, pr in enumerate(prompts):
            groups.setdefault(pr.segments[:-1], []).append(i)
        for shared, idx in groups.items():
            forest = getattr(self, "_node_forest", None)
            if forest is None or forest.key != shared or forest.past is None or len(forest) > self.max_forest_tokens:
                forest = self._node_forest = NodeForest(self, shared)
            got = forest.expand([tuple(prompts[i].segments[-1]) + tuple(paths[i]) for i in idx], self.max_packed_tokens)
            for i, r in zip(idx, got):
                rows[i] = r
        return np.stack(rows) if rows else out

    def generate(self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int], max_new_tokens: int,
                 stop: Sequence[str] = (), want_hidden: bool = False, constraint=None,
                 hidden_layer: int = -1) -> list[Generation]:
        self.check_length(prompts, max_new_tokens)
        results: list[Generation | None] = [None] * len(prompts)
        for shared, idx in self._group(prompts):
            prefix = self._prefix_state(shared) if shared else (None, None, None, 0)
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                for i, g in zip(chunk, self._generate_batch(prefix, [prompts[i].segments[-1] for i in chunk],
                                                            candidate_ids, max_new_tokens, stop, want_hidden,
                                                            constraint, hidden_layer)):
                    results[i] = g
        return results  # type: ignore[return-value]

    def _generate_batch(self, prefix, tails, candidate_ids, max_new_tokens, stop, want_hidden,
                        constraint, layer: int = -1) -> list[Generation]:
        """Greedy decoding of one batch, all rows advancing together.

        Every step each live row feeds a *chunk*: its chosen token plus (constrained only)
        the run of forced tokens after it. Chunks are left-padded to a common width between
        the cache and the new tokens (masked), so one forward pass appends every row's
        chunk and its last column holds each row's next-token logits; the logits at earlier
        columns are the distributions the forced tokens came from.
        """
        cand = torch.tensor(list(candidate_ids), dtype=torch.long)
        eos = self.eos_ids
        pad = self.tokenizer.pad_id if self.tokenizer.pad_id is not None else 0
        n = len(tails)
        past, mask, next_pos, logits, hidden = self._start_batch(prefix, tails, want_hidden, layer)
        rows = [_Row(constraint.initial() if constraint is not None else None) for _ in range(n)]
        active = list(range(n))  # original row of each live cache row
        while True:
            chunks, keep, live = [], [], []
            for r, row in enumerate(active):
                R = rows[row]
                tok = R.step(logits[r], cand, None if hidden is None else hidden[r], constraint)
                chunk = [tok]
                if constraint is not None:
                    R.state = constraint.advance(R.state, tok)
                    while not constraint.done(R.state) and len(constraint.allowed(R.state)) == 1:
                        forced = constraint.allowed(R.state)[0]
                        R.record_forced(forced, constraint)
                        R.state = constraint.advance(R.state, forced)
                        chunk.append(forced)
                    if constraint.done(R.state):
                        R.reason = "grammar"
                        # A label slot the grammar forced (the last label left) is still read by the
                        # step-based methods, a forced label token by the token-level ones: one more
                        # forward gives their distributions; else nothing is read.
                        if any(R.slots[len(R.ids) - len(chunk) + 1 :]) or any(R.in_label[len(R.ids) - len(chunk) + 1 :]):
                            keep.append(r)
                            chunks.append(chunk)
                            live.append(False)
                        continue
                elif tok in eos:
                    R.reason = "eos"
                    continue
                elif stop and any(x in self.tokenizer.decode(R.ids) for x in stop):
                    R.reason = "stop"
                    continue
                if len(R.ids) >= max_new_tokens:
                    continue
                keep.append(r)
                chunks.append(chunk)
                live.append(True)
            if not keep:
                break
            if len(keep) < len(active):
                sel = torch.tensor(keep, dtype=torch.long)
                past.batch_select_indices(sel)
                mask, next_pos = mask[sel], next_pos[sel]
                active = [active[r] for r in keep]
            width = max(len(c) for c in chunks)
            ids = torch.full((len(chunks), width), pad, dtype=torch.long)
            chunk_mask = torch.zeros(len(chunks), width, dtype=torch.long)
            for j, c in enumerate(chunks):
                ids[j, width - len(c):] = torch.tensor(c)
                chunk_mask[j, width - len(c):] = 1
            mask = torch.cat([mask, chunk_mask], dim=1)
            pos = (next_pos.unsqueeze(1) + chunk_mask.cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                self.stats["forward_tokens"] += int(chunk_mask.sum())
                self.stats["forward_calls"] += 1
                out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=past, use_cache=True,
                                 logits_to_keep=width, output_hidden_states=want_hidden)
            past = out.past_key_values
            all_logits = out.logits.float()  # (k, width, V)
            all_hidden = out.hidden_states[layer].float() if want_hidden else None
            for j, c in enumerate(chunks):  # the forced tokens' distributions: the column before each
                R = rows[active[j]]
                for m in range(1, len(c)):
                    col = width - len(c) + m - 1
                    R.fill_forced(len(R.ids) - len(c) + m, all_logits[j, col], cand,
                                  None if all_hidden is None else all_hidden[j, col], c[m])
            logits = all_logits[:, -1]
            hidden = all_hidden[:, -1] if want_hidden else None
            next_pos = next_pos + chunk_mask.sum(-1)
            if not all(live):  # rows that were only forwarded for a forced slot's distribution are done
                alive = [j for j, a in enumerate(live) if a]
                if not alive:
                    break
                sel = torch.tensor(alive, dtype=torch.long)
                past.batch_select_indices(sel)
                mask, next_pos, logits = mask[sel], next_pos[sel], logits[sel]
                hidden = hidden[sel] if hidden is not None else None
                active = [active[j] for j in alive]
        return [R.generation(len(cand), want_hidden, constraint is not None) for R in rows]

    # -- attention (opt-in: ``labeldist run --attention``, Table 6) ---------------------------
    def attention_rows(self, prompt: PromptIds, generated: Sequence[int], queries: Sequence[int]) -> np.ndarray:
        """Attention rows of the given query positions of ``prompt.ids + generated``, every layer and head.

        One extra forward with eager attention (switched on for this call only, then restored):
        the prompt's shared prefix comes from the prefix cache, the rest of the prompt and the
        generated tokens up to the last query are run with a hook on every attention module
        that keeps only the query rows asked for, so no full attention map is held.

        Parameters
        ----------
        prompt : PromptIds
        generated : sequence of int
            Generated ids after the prompt.
        queries : sequence of int
            Absolute positions (0-based over ``prompt.ids + generated``) whose rows are wanted;
            each at least the length of the prompt's cached prefix (``prompt.segments[:-1]``).

        Returns
        -------
        ndarray of shape (n_queries, n_layers, n_heads, n_keys), float64
            ``n_keys = max(queries) + 1``; row q is the softmax over keys [0, q] (zeros after q).
        """
        from transformers import DynamicCache

        queries = [int(q) for q in queries]
        total = len(prompt) + len(generated)
        if not queries or min(queries) < 0 or max(queries) >= total:
            raise LabeldistError(f"attention queries {queries} are outside the {total} tokens of prompt + generation",
                                 "pass positions of tokens that were fed to the model")
        shared = prompt.segments[:-1]
        past0, _, _, plen = self._prefix_state(shared) if shared else (None, None, None, 0)
        if min(queries) < plen:
            raise LabeldistError(f"attention query {min(queries)} lies in the cached {plen}-token prompt prefix",
                                 "ask for queries after the prompt's shared prefix (label steps are)")
        seq = list(prompt.ids) + [int(t) for t in generated]
        tail = seq[plen : max(queries) + 1]
        rel = torch.tensor([q - plen for q in queries], dtype=torch.long)
        modules = [m.self_attn for m in self.model.modules() if isinstance(getattr(m, "self_attn", None), torch.nn.Module)]
        if not modules:
            raise LabeldistError(f"model {type(self.model).__name__} has no self_attn modules to read attention from",
                                 "use a decoder-only transformers model (Llama, Qwen2, Gemma, ...)")
        kept: dict[int, torch.Tensor] = {}

        def keep(i):
            def hook(_module, _args, output):
                weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
                if weights is None:
                    raise LabeldistError("the attention module returned no weights", "this model needs eager attention")
                kept[i] = weights[0, :, rel, :].float()  # (n_heads, n_queries, n_keys)
            return hook

        previous = self.model.config._attn_implementation
        hooks = [m.register_forward_hook(keep(i)) for i, m in enumerate(modules)]
        past = copy.deepcopy(past0) if past0 is not None else DynamicCache(config=self.model.config)
        try:
            self.model.set_attn_implementation("eager")
            with torch.inference_mode():
                self._forward(torch.tensor([tail], dtype=torch.long), past=past,
                              attention_mask=torch.ones(1, plen + len(tail), dtype=torch.long),
                              position_ids=torch.arange(plen, plen + len(tail)).unsqueeze(0))
        finally:
            for h in hooks:
                h.remove()
            self.model.set_attn_implementation(previous)
        rows = torch.stack([kept[i] for i in range(len(modules))])  # (n_layers, n_heads, n_queries, n_keys)
        return rows.permute(2, 0, 1, 3).double().numpy()


class _Row:
    """One row's generated ids and per-step records during :meth:`HFBackend._generate_batch`."""

    def __init__(self, state):
        self.state = state
        self.ids: list[int] = []
        self.scores: list[np.ndarray | None] = []
        self.hiddens: list[np.ndarray | None] = []
        self.slots: list[bool] = []
        self.outside: list[float] = []
        self.overridden: list[bool] = []
        self.forced: list[bool] = []
        self.logprobs: list[float] = []
        self.allowed_logmass: list[float] = []
        self.in_label: list[bool] = []  # per token: a forced token inside a label unit (constraint.in_label)
        self.reason = "length"

    def step(self, logits: torch.Tensor, cand: torch.Tensor, hidden, constraint) -> int:
        """Choose the greedy token (among the allowed ones when constrained) and record the step."""
        tok = int(logits.argmax())  # greedy; ties -> lowest id, identical across code paths
        log_z = torch.logsumexp(logits, dim=-1)
        if constraint is not None:
            allowed = torch.tensor(constraint.allowed(self.state), dtype=torch.long)
            sub = logits[allowed]
            tok = int(allowed[int(sub.argmax())])  # ties -> lowest allowed id
            self.outside.append(float(1.0 - torch.exp(torch.logsumexp(sub, dim=-1) - log_z)))
            self.allowed_logmass.append(float(torch.logsumexp(sub, dim=-1) - log_z))
            self.overridden.append(int(logits.argmax()) not in set(allowed.tolist()))
            self.slots.append(bool(constraint.is_slot(self.state)))
            self.forced.append(len(allowed) == 1)
        self.ids.append(tok)
        self.in_label.append(False)  # decided: its distribution is already known
        self.logprobs.append(float(logits[tok] - log_z))
        self.scores.append(logits[cand].double().numpy())
        self.hiddens.append(None if hidden is None else hidden.numpy())
        return tok

    def record_forced(self, tok: int, constraint) -> None:
        """A forced token; its distribution is filled in after the next forward (if there is one)."""
        self.slots.append(bool(constraint.is_slot(self.state)))
        in_label = getattr(constraint, "in_label", None)
        self.in_label.append(bool(in_label(self.state)) if in_label is not None else False)
        self.ids.append(tok)
        self.logprobs.append(float("nan"))
        self.allowed_logmass.append(float("nan"))
        self.scores.append(None)
        self.hiddens.append(None)
        self.outside.append(float("nan"))
        self.overridden.append(False)
        self.forced.append(True)

    def fill_forced(self, t: int, logits: torch.Tensor, cand: torch.Tensor, hidden, tok: int) -> None:
        self.scores[t] = logits[cand].double().numpy()
        self.hiddens[t] = None if hidden is None else hidden.numpy()
        log_z = torch.logsumexp(logits, dim=-1)
        self.logprobs[t] = self.allowed_logmass[t] = float(logits[tok] - log_z)
        self.outside[t] = float(1.0 - torch.exp(logits[tok] - log_z))
        self.overridden[t] = int(logits.argmax()) != tok

    def generation(self, n_cand: int, want_hidden: bool, constrained: bool) -> Generation:
        sc = np.stack([s if s is not None else np.full(n_cand, np.nan) for s in self.scores]) \
            if self.scores else np.zeros((0, n_cand))
        hid = None
        if want_hidden and self.hiddens and all(h is not None for h in self.hiddens):
            hid = np.stack(self.hiddens)
        elif want_hidden and self.hiddens:
            size = next((h.shape[0] for h in self.hiddens if h is not None), 0)
            hid = np.stack([h if h is not None else np.full(size, np.nan) for h in self.hiddens])
        g = Generation(ids=self.ids, candidate_scores=sc, bounded=np.zeros_like(sc, dtype=bool),
                       stop_reason=self.reason, hidden=hid, token_logprobs=np.array(self.logprobs, dtype=np.float64))
        if constrained:
            g.slots = np.array(self.slots, dtype=bool)
            g.outside_mass = np.array(self.outside, dtype=np.float64)
            g.overridden = np.array(self.overridden, dtype=bool)
            g.forced = np.array(self.forced, dtype=bool)
            g.allowed_logmass = np.array(self.allowed_logmass, dtype=np.float64)
        return g
