"""Benchmark: labeldist's way against the reference's way, and against the compute floor.

One run, one model, the same prompts and items for both ways:

* the reference's way (REFERENCE.md §9): batch size 1, the whole prompt prefilled for every
  query and every unary / binary sub-prompt, greedy ``generate`` of up to 18 tokens with eager
  attention and attentions + hidden states returned;
* labeldist's way: generation with the few-shot prefix cached and queries batched, under the
  answer grammar (the default; the answer's opening is part of the prompt, forced tokens are
  appended in one forward pass) and free (the paper's decoding, for comparison); unary and
  binary breakdown scored with one forward pass per item on a two-level prefix cache (binary
  asks both orders, the default).

The marginal search (``--methods marginal``) is timed against the reference's way of computing the same
search nodes (REFERENCE-METHODS-2.md §1.5: per node ``model.generate(max_new_tokens=1)`` over the full prompt
plus the node's path, batch 1, no cache) on the same items with the same pruning (top-p 0.99, path
probability 0.01, depth 20): both explore the same answers with the same counting, so their values must agree
(fp32: to round-off). labeldist's way is the run's marginal stage: the searches of ``--n-marginal`` items
advance together, one forward per round for all their frontier nodes, on one key/value cache. The floor of the marginal row counts the tokens of labeldist's search (the query's
tokens once, then each node's new tokens) and one logits row per node.

The grammar's own cost is measured by timing every call into it during constrained generation,
and reported per decoding step (a step = one batched forward of the decode loop) as a share of
the step's time.

Printed per method: seconds per item, speed-up, tokens processed per item, peak RSS, and the
share of the compute floor reached. The floor is ``2 × N_matmul × T / F``: ``N_matmul`` the
parameters of the transformer blocks (every processed token goes through them; the LM head is
counted for the positions whose logits are read), ``T`` the tokens that must be processed per
item (labeldist's count: the per-item prompt tokens plus the amortised shared prefix), and
``F`` the matrix-multiply throughput measured by this script, in the model's dtype, on this
machine. Agreement is checked while timing: fp32 expects identical greedy labels and
probabilities within 1e-3; bf16 reports how many items differ.

Usage (README): ``.venv/bin/python bench/bench_speed.py`` (about 20 minutes on 2 cores). ``--dtype auto``
(default) is bf16 on CPUs with native bf16 and fp32 elsewhere (emulated bf16 takes over 20 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from labeldist.backends import DTYPES  # noqa: E402

RUN_ITEMS = 200  # per-item costs are quoted for a run of this many items (the paper's test-set size)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def matmul_flops(dtype, hidden: int, inter: int, threads: int) -> float:
    """Sustained FLOP/s of (512 × hidden) @ (hidden × inter) matmuls, the shape of an MLP projection."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(512, hidden, dtype=dtype)
    b = torch.randn(hidden, inter, dtype=dtype)
    for _ in range(3):
        a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 3.0:
        a @ b
        n += 1
    return 2 * 512 * hidden * inter * n / (time.perf_counter() - t0)


def block_params(model) -> tuple[int, int]:
    """(parameters in the transformer blocks, parameters of the LM head)."""
    head = model.get_output_embeddings().weight.numel()
    emb = model.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.parameters())
    tied = model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return total - emb - (0 if tied else head), head


def reference_generate(backend, text: str, max_new_tokens: int, stop: list[str]):
    """The reference's call: batch 1, full prompt, eager attention, attentions + hidden states returned."""
    import torch

    ids = torch.tensor([backend.tokenizer.bos_ids + backend.tokenizer.encode(text)])
    with torch.inference_mode():
        out = backend.model.generate(
            ids, max_new_tokens=max_new_tokens, do_sample=False, output_scores=True, output_attentions=True,
            output_hidden_states=True, return_dict_in_generate=True, stop_strings=stop or None,
            tokenizer=backend.tokenizer.hf, pad_token_id=backend.tokenizer.pad_id,
            temperature=None, top_p=None, top_k=None,
        )
    gen = out.sequences[0, ids.shape[1]:].tolist()
    scores = torch.stack([s[0] for s in out.scores]).double().numpy()  # (steps, vocab)
    return gen, scores, ids.shape[1] + len(gen)


def reference_expand(backend, prompt_ids, paths):
    """The reference's node expansion: ``model.generate(max_new_tokens=1)`` over the full prompt + path, batch 1."""
    import torch

    rows = []
    for p in paths:
        ids = torch.tensor([list(prompt_ids) + list(p)])
        with torch.inference_mode():
            out = backend.model.generate(ids, max_new_tokens=1, do_sample=False, output_logits=True,
                                         return_dict_in_generate=True, pad_token_id=backend.tokenizer.pad_id,
                                         temperature=None, top_p=None, top_k=None)
        rows.append(torch.log_softmax(out.logits[0][0].float(), dim=-1).numpy())
    return np.stack(rows)


def bench_marginal(backend, ds, pool, items, args, floor_seconds) -> tuple[dict, dict]:
    """The marginal row: labeldist's search (tree KV cache, batched frontier) vs the reference's way per node."""
    from labeldist.estimators.marginal import MarginalSettings, marginal_search, marginal_search_many
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.runs.runner import Classifier, RunConfig

    settings = MarginalSettings()  # the reference's pruning
    clf = Classifier(backend, ds.label_set, RunConfig(model=args.model, methods=("marginal",),
                                                      prompt=PromptConfig(shots=args.shots), marginal=settings), pool)
    none = ds.label_set.n_labels if ds.label_set.multilabel else None
    # labeldist's way: the run's marginal stage, the searches of a batch of items sharing forwards
    batch = items[: args.n_marginal]
    prompts = [clf.build_prompt(ex.text) for ex in batch]
    backend._prefix_state(prompts[0].segments[:-1])  # the run-level prefix is cached once per run in both ways
    before = backend.stats["forward_tokens"]
    t = time.perf_counter()
    ours = marginal_search_many(lambda o, p, a: backend.expand([prompts[i] for i in o], p, allowed=a), len(batch),
                                clf.grammar, ds.label_set.n_labels, settings, constrained=True, none_index=none)
    times = [(time.perf_counter() - t) / len(batch)] * len(batch)
    toks = [(backend.stats["forward_tokens"] - before) / len(batch)] * len(batch)
    nodes = [r.nodes_expanded for r in ours]
    ref_times, max_diff, ref_tokens = [], 0.0, []
    for ex, res in zip(items[: args.n_ref_marginal], ours):
        prompt = clf.build_prompt(ex.text)
        count = [0]

        def expand(paths, allowed, prompt=prompt):
            count[0] += sum(len(prompt.ids) + len(p) for p in paths)
            return reference_expand(backend, prompt.ids, paths)

        t = time.perf_counter()
        ref = marginal_search(expand, clf.grammar, ds.label_set.n_labels,
                              MarginalSettings(**{**settings.to_dict(), "batch_nodes": 1}), constrained=True,
                              none_index=none)
        ref_times.append(time.perf_counter() - t)
        ref_tokens.append(count[0])
        for a, b in ((res.lower, ref.lower), (res.upper, ref.upper), (res.estimate, ref.estimate)):
            max_diff = max(max_diff, float(np.abs(np.array(a) - np.array(b)).max()))
        assert ref.nodes_expanded == res.nodes_expanded or args.dtype != "fp32", "the two ways explored different trees"
    n_ref = len(ref_times)
    row = {"ours_s": float(np.mean(times)), "ref_s": float(np.mean(ref_times)), "tokens": float(np.mean(toks)),
           "ref_tokens": float(np.mean(ref_tokens)), "rss": peak_rss_gb(), "nodes_per_item": float(np.mean(nodes)),
           "floor_s": floor_seconds(float(np.mean(toks)), float(np.mean(nodes))),
           "mean_bound_gap": float(np.mean([r.bound_gap for r in ours])),
           "speedup_same_items": float(np.sum(ref_times) / np.sum(times[:n_ref]))}
    agree = {"items": n_ref, "max_abs_diff_lower_upper_estimate": max_diff, "pruning": settings.to_dict()}
    return row, agree


class TimedGrammar:
    """The answer grammar with every call timed (the constraint protocol, passed through)."""

    def __init__(self, grammar):
        self.inner, self.seconds = grammar, 0.0
        self.pieces, self.opening_ids = grammar.pieces, grammar.opening_ids
        self.max_answer_tokens = grammar.max_answer_tokens

    def _call(self, name, *a):
        t = time.perf_counter()
        try:
            return getattr(self.inner, name)(*a)
        finally:
            self.seconds += time.perf_counter() - t

    def initial(self):
        return self._call("initial")

    def allowed(self, state):
        return self._call("allowed", state)

    def advance(self, state, token):
        return self._call("advance", state, token)

    def done(self, state):
        return self._call("done", state)

    def is_slot(self, state):
        return self._call("is_slot", state)

    def __getattr__(self, name):  # the rest (label spans after decoding, the trie) untimed, as the runner reads it
        return getattr(self.inner, name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-0.5b")
    ap.add_argument("--dtype", default="auto", choices=list(DTYPES))
    ap.add_argument("--dataset", default="goemotions", help="items and demos (7 labels: 8 unary, 28 binary prompts)")
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--n-gen", type=int, default=60, help="items for labeldist's generation (first 20 warm the prefix)")
    ap.add_argument("--n-ref-gen", type=int, default=10, help="items for the reference's generation")
    ap.add_argument("--n-unary", type=int, default=16)
    ap.add_argument("--n-ref-unary", type=int, default=3)
    ap.add_argument("--n-binary", type=int, default=12)
    ap.add_argument("--n-ref-binary", type=int, default=2)
    ap.add_argument("--n-marginal", type=int, default=8, help="items for labeldist's marginal search")
    ap.add_argument("--n-ref-marginal", type=int, default=2, help="items for the reference's way of the same search")
    ap.add_argument("--marginal-only", action="store_true", help="time only the marginal row (a reduced check)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=None, help="JSON written (default bench/results-<dtype>.json, dtype as resolved)")
    args = ap.parse_args(argv)

    import torch

    from labeldist.backends.hf import HFBackend
    from labeldist.data import load_dataset
    from labeldist.data.registry import eval_splits
    from labeldist.prompts.breakdown import build_binary_prompt, build_unary_prompt
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.numeric import softmax
    from labeldist.records import ExampleRecord
    from labeldist.runs.runner import Classifier, RunConfig

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    backend = HFBackend(args.model, dtype=args.dtype, batch_size=20)
    args.dtype = backend.info.dtype  # "auto" resolved
    load_s = time.perf_counter() - t0
    weights_gb = sum(p.numel() * p.element_size() for p in backend.model.parameters()) / 1024**3
    rss_after_load = peak_rss_gb()

    ds = load_dataset(args.dataset)
    pool = list(ds.split("train"))
    items = list(ds.split(eval_splits(args.dataset)[0]))
    rng = np.random.default_rng(0)
    items = [items[i] for i in rng.choice(len(items), size=max(args.n_gen, args.n_unary, args.n_binary, args.n_marginal), replace=False)]
    config = RunConfig(model=args.model, dtype=args.dtype, methods=("generation", "unary", "binary"),
                       prompt=PromptConfig(shots=args.shots), batch_size=20)
    clf = Classifier(backend, ds.label_set, config, pool)
    gen_config = dict(model=args.model, methods=("generation",), prompt=PromptConfig(shots=args.shots), batch_size=20)
    clf_gen = Classifier(backend, ds.label_set, RunConfig(**gen_config), pool)
    clf_free = Classifier(backend, ds.label_set, RunConfig(**gen_config, decoding="free"), pool)
    timer = TimedGrammar(clf_gen.grammar)
    clf_gen.grammar = timer
    dtype = backend.model.dtype
    cfg = backend.model.config
    flops = matmul_flops(dtype, cfg.hidden_size, cfg.intermediate_size, args.threads)
    n_block, n_head = block_params(backend.model)
    rows, agree = {}, {}

    def floor_seconds(tokens: float, logit_rows: float) -> float:
        return (2 * n_block * tokens + 2 * n_head * logit_rows) / flops

    if args.marginal_only:  # a reduced check of the marginal row alone
        row, agreement = bench_marginal(backend, ds, pool, items, args, floor_seconds)
        print(f"| marginal | {row['ours_s']:.3f} | {row['ref_s']:.2f} | {row['speedup_same_items']:.0f}× | "
              f"{row['tokens']:.0f} / {row['ref_tokens']:.0f} | {row['rss']:.2f} | "
              f"{100 * row['floor_s'] / row['ours_s']:.0f} % |")
        print(f"marginal: {row['nodes_per_item']:.1f} nodes per item, mean bound gap {row['mean_bound_gap']:.4f}; "
              "agreement:", json.dumps(agreement))
        return 0

    # -- labeldist: generation-based methods -------------------------------------------------
    # Per item "in a run of RUN_ITEMS items": the shared prefix is prefilled once per run, so its
    # cost (first batch or item minus a steady one) is spread over RUN_ITEMS, the paper's test-set size.
    from labeldist.runs.runner import run_examples

    gen_items = items[: args.n_gen]
    gen_recs = {}
    for name, c in (("generation", clf_gen), ("generation (free)", clf_free)):
        backend._prefix_cache.clear()
        backend.stats.update(forward_tokens=0, forward_calls=0)
        timer.seconds = 0.0
        t = time.perf_counter()
        first, _ = run_examples(c, gen_items[:20], progress=False)
        first_s = time.perf_counter() - t
        prefix_tokens = len(c.build_prompt(gen_items[0].text).segments[0])
        calls_first = backend.stats["forward_calls"]
        grammar_first = timer.seconds
        t = time.perf_counter()
        rest, _ = run_examples(c, gen_items[20:], progress=False)
        rest_s = time.perf_counter() - t
        steady = rest_s / len(rest)
        gen_recs[name] = first + rest
        prefix_s = max(first_s - 20 * steady, 0.0)
        ours_gen = steady + prefix_s / RUN_ITEMS
        gen_tokens = (backend.stats["forward_tokens"] - prefix_tokens) / args.n_gen + prefix_tokens / RUN_ITEMS
        n_generated = float(np.mean([len(r.generation.ids) for r in gen_recs[name]]))
        steps = backend.stats["forward_calls"] - calls_first  # decode-loop forwards of the steady part
        rows[name] = {"ours_s": ours_gen, "tokens": gen_tokens, "rss": peak_rss_gb(), "prefix_s": prefix_s,
                      "generated_tokens": n_generated, "forward_calls_per_item": steps / len(rest),
                      "floor_s": floor_seconds(gen_tokens, n_generated)}
        if c is clf_gen:
            rows[name]["grammar_share_per_step"] = (timer.seconds - grammar_first) / rest_s
            rows[name]["no_label_slot"] = sum(not r.steps for r in gen_recs[name])
        else:
            rows[name]["no_label_slot"] = sum(not r.steps for r in gen_recs[name])

    # -- probe features captured in the generation pass: cost over generation alone ----------
    prompts = [clf_gen.build_prompt(ex.text) for ex in gen_items[20:]]
    kw = dict(candidate_ids=clf_gen.token_map.flat_ids, max_new_tokens=clf_gen.max_new_tokens,
              constraint=clf_gen.grammar.inner)
    backend.generate(prompts[:2], **kw)  # prefix cached
    plain, hidden = [], []
    for _ in range(5):  # alternate, so drift on a shared machine hits both alike; 2 rounds gave +9.6 % once, 5 give +1.7 %
        for want, acc in ((False, plain), (True, hidden)):
            t = time.perf_counter()
            backend.generate(prompts, **kw, want_hidden=want)
            acc.append(time.perf_counter() - t)
    rows["generation"]["probe_capture_overhead"] = min(hidden) / min(plain) - 1.0

    # -- labeldist: unary / binary ------------------------------------------------------------
    scorer = clf.breakdown
    for kind, n in (("unary", args.n_unary), ("binary", args.n_binary)):
        backend._prefix_cache.clear()
        scorer.kinds = [kind]
        recs, times, toks = [], [], []
        for ex in items[:n]:
            r = ExampleRecord.from_example(ex)
            before = backend.stats["forward_tokens"]
            t = time.perf_counter()
            scorer.score(r, ex)
            times.append(time.perf_counter() - t)
            toks.append(backend.stats["forward_tokens"] - before)
            recs.append(r)
        steady = float(np.mean(times[1:]))
        prefix_s = max(times[0] - steady, 0.0)
        sec = steady + prefix_s / RUN_ITEMS
        tok = float(np.mean(toks[1:])) + (toks[0] - float(np.mean(toks[1:]))) / RUN_ITEMS
        endings = recs[0].cost[kind].prompts
        rows[kind] = {"ours_s": sec, "tokens": tok, "rss": peak_rss_gb(), "floor_s": floor_seconds(tok, endings),
                      "prefix_s": prefix_s, "recs": recs, "endings": endings, "ours_s_per_ending": sec / endings}

    rows["marginal"], agree["marginal"] = bench_marginal(backend, ds, pool, items, args, floor_seconds)

    # -- the reference's way ------------------------------------------------------------------
    backend.model.set_attn_implementation("eager")
    try:
        t = time.perf_counter()
        ref_tokens = 0
        diff_free = follows = 0
        max_dp = 0.0
        by_id = {r.id: r for r in gen_recs["generation"]}
        free_by_id = {r.id: r for r in gen_recs["generation (free)"]}
        opening = clf_gen.grammar.opening_ids
        for ex in items[: args.n_ref_gen]:
            ours, free = by_id[ex.id], free_by_id[ex.id]
            _, full = clf_free.prompter.text(ex.text)
            gen, scores, ntok = reference_generate(backend, full, config.prompt.max_new_tokens, clf_free.prompter.stop)
            ref_tokens += ntok
            k = min(len(gen), len(free.generation.ids))
            diff_free += int(gen[:k] != free.generation.ids[:k])
            # where the reference's free answer follows the grammar, its label steps are ours, shifted by the opening
            if gen[: len(opening)] == opening and gen[len(opening):len(opening) + len(ours.generation.ids)] == ours.generation.ids:
                follows += 1
                for st in ours.steps:
                    cols = clf_gen.token_map.columns
                    ref_sc = np.array([scores[st.position + len(opening)][clf_gen.token_map.flat_ids][c].max() for c in cols])
                    max_dp = max(max_dp, float(np.abs(softmax(ref_sc) - st.probs).max()))
        ref_s = (time.perf_counter() - t) / args.n_ref_gen
        for name in ("generation", "generation (free)"):
            rows[name].update(ref_s=ref_s, ref_tokens=ref_tokens / args.n_ref_gen)
        agree["generation"] = {"items": args.n_ref_gen, "free_greedy_ids_differ": diff_free,
                               "reference_follows_grammar": follows, "max_abs_prob_diff_constrained": max_dp}

        for kind, n in (("unary", args.n_ref_unary), ("binary", args.n_ref_binary)):
            t = time.perf_counter()
            ref_tokens, max_dp = 0, 0.0
            for ex, ours in zip(items[:n], rows[kind]["recs"]):
                build = build_unary_prompt if kind == "unary" else build_binary_prompt
                prompt = build(ex.text, scorer.headers[kind], ds.label_set, token_form=scorer.form)
                words = list(scorer.targets[kind])
                for e, text in enumerate(prompt.texts()):
                    gen, scores, ntok = reference_generate(backend, text, config.prompt.max_new_tokens, clf_free.prompter.stop)
                    ref_tokens += ntok
                    ref = np.array([scores[0][scorer.targets[kind][w]].max() for w in words])
                    ours_sc = np.array([max(getattr(ours, kind).scores[w][e]) for w in words])
                    max_dp = max(max_dp, float(np.abs(softmax(ref) - softmax(ours_sc)).max()))
            rows[kind].update(ref_s=(time.perf_counter() - t) / n, ref_tokens=ref_tokens / n)
            rows[kind]["ref_s_per_ending"] = rows[kind]["ref_s"] / rows[kind]["endings"]
            agree[kind] = {"items": n, "max_abs_prob_diff": max_dp}
    finally:
        backend.model.set_attn_implementation("sdpa")

    # -- report ---------------------------------------------------------------------------------
    header = (f"| method | ours s/item | reference s/item | speed-up | tokens/item (ours / reference) | peak RSS GB | "
              f"share of {args.dtype} floor |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for kind in ("generation", "generation (free)", "unary", "binary"):
        r = rows[kind]
        lines.append(
            f"| {kind} | {r['ours_s']:.3f} | {r['ref_s']:.2f} | {r['ref_s'] / r['ours_s']:.0f}× | "
            f"{r['tokens']:.0f} / {r['ref_tokens']:.0f} | {r['rss']:.2f} | {100 * r['floor_s'] / r['ours_s']:.0f} % |"
        )
    m = rows["marginal"]
    lines.append(f"| marginal ({m['nodes_per_item']:.0f} nodes per item; speed-up on the same items) | {m['ours_s']:.3f} | "
                 f"{m['ref_s']:.2f} | {m['speedup_same_items']:.0f}× | {m['tokens']:.0f} / {m['ref_tokens']:.0f} | "
                 f"{m['rss']:.2f} | {100 * m['floor_s'] / m['ours_s']:.0f} % |")
    b = rows["binary"]
    lines.append(f"| binary, per ending ({b['endings']} endings: pairs × both orders) | {b['ours_s_per_ending']:.4f} | "
                 f"{b['ref_s_per_ending']:.3f} | {b['ref_s_per_ending'] / b['ours_s_per_ending']:.0f}× | | | |")
    g, f = rows["generation"], rows["generation (free)"]
    extra = (f"constrained generation: {g['generated_tokens']:.1f} generated tokens and {g['forward_calls_per_item']:.2f} "
             f"decode forwards per item (forced tokens share a forward), grammar time {100 * g['grammar_share_per_step']:.2f} % "
             f"of decoding; capturing probe features costs {100 * g['probe_capture_overhead']:+.1f} % over generation "
             f"alone; items without a label slot: constrained {g['no_label_slot']}, free {f['no_label_slot']} "
             f"of {args.n_gen}")
    table = "\n".join(lines)
    meta = (f"per-item times are for a run of {RUN_ITEMS} items (shared prefixes prefilled once per run); "
            f"model {args.model} ({backend.info.extra['n_parameters'] / 1e6:.0f} M params, {weights_gb:.2f} GB weights in "
            f"{args.dtype}), dataset {args.dataset} ({ds.label_set.n_labels} labels, {args.shots} shots), "
            f"{args.threads} threads, {platform.processor() or platform.machine()}; matmul {flops / 1e9:.0f} GFLOP/s; "
            f"load {load_s:.1f} s; RSS after load {rss_after_load:.2f} GB; peak RSS limit (2× weights) {2 * weights_gb:.2f} GB")
    print(table)
    print(extra)
    print(meta)
    print("agreement:", json.dumps(agree))
    out = {k: {kk: vv for kk, vv in v.items() if kk != "recs"} for k, v in rows.items()}
    args.out = args.out or f"bench/results-{args.dtype}.json"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"table": table, "extra": extra, "meta": meta, "agreement": agree, "rows": out,
                                          "argv": sys.argv[1:]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
