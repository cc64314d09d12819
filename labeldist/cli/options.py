"""Shared CLI options: model/backend and prompt settings, turned into config dataclasses."""

from __future__ import annotations

import argparse

from labeldist.backends import BACKENDS, DTYPES
from labeldist.backends.models import DEFAULT_MODEL, MODELS
from labeldist.estimators.marginal import MarginalSettings
from labeldist.estimators.token_level import JOINT_VARIANTS
from labeldist.methods import DEFAULT_GROUPS, groups_help
from labeldist.prompts.breakdown import TOKEN_FORMS
from labeldist.prompts.demos import STRATEGIES
from labeldist.labels.grammar import DECODINGS
from labeldist.prompts.fewshot import DEFAULT_ZERO_SHOT_HINT, LABEL_FORMATS, LABEL_ORDERS, ZERO_SHOT_HINTS
from labeldist.prompts.presets import PromptPreset


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"registered name ({', '.join(MODELS)}), a .gguf file or a Hugging Face directory (default: {DEFAULT_MODEL})")
    g.add_argument("--backend", default="hf", choices=list(BACKENDS),
                   help="local transformers (hf) or an OpenAI-compatible server (http)")
    g.add_argument("--dtype", default="auto", choices=list(DTYPES), help="auto = bf16 on CPUs with native bf16, else fp32")
    g.add_argument("--batch-size", type=int, default=20, help="queries decoded together (default 20)")
    g.add_argument("--base-url", action="append", default=None,
                   help="http backend: server root URL, e.g. http://127.0.0.1:8000; repeat or comma-separate for several servers")
    g.add_argument("--concurrency", type=int, default=None, help="http backend: requests in flight over all servers (default 4)")
    g.add_argument("--timeout", type=float, default=None, help="http backend: seconds per request before retrying (default 60)")
    g.add_argument("--top-logprobs", type=int, default=None,
                   help="http backend: log-probabilities per step (default 20; vLLM needs --max-logprobs at least this)")
    g.add_argument("--api-key-env", default=None, help="http backend: name of the environment variable holding the API key")
    g.add_argument("--served-model", default=None,
                   help="http backend: model id on the server (default: the only one it serves); --model names the local tokenizer")


def add_prompt_options(p: argparse.ArgumentParser, *, shots: int = 10) -> None:
    g = p.add_argument_group("prompt (defaults: the dataset's preset, see `labeldist datasets --presets`)")
    g.add_argument("--shots", type=int, default=shots, help=f"number of demonstrations (default {shots})")
    g.add_argument("--demo-sampling", choices=list(STRATEGIES), default=None,
                   help="default: the preset's (multilabel for multi-label sets, uniform for single-label sets)")
    g.add_argument("--seed", type=int, default=0, help="seed for demo sampling, label order and samples (default 0)")
    g.add_argument("--demo-ratio", type=float, default=None, metavar="R",
                   help="share of demos with two or more labels under multilabel demo sampling (default 0.5)")
    g.add_argument("--task", default=None,
                   help="what the labels are, named in the instruction (e.g. emotions); default: the dataset's, or labels")
    g.add_argument("--label-format", choices=list(LABEL_FORMATS), default=None, help="answer format (default: preset)")
    g.add_argument("--label-order", choices=list(LABEL_ORDERS), default="canonical",
                   help="order of the labels in the instruction and in every demo answer; random = one seeded order per run")
    chat = g.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_const", const=True, default=None,
                      help="use the model's chat template (default: for zero-shot prompts when the model has one)")
    chat.add_argument("--no-chat", dest="chat", action="store_const", const=False,
                      help="plain few-shot text, the paper's prompt, also zero-shot")
    g.add_argument("--zero-shot-hint", choices=list(ZERO_SHOT_HINTS), default=DEFAULT_ZERO_SHOT_HINT,
                   help="the sentence that tells a zero-shot prompt the answer's shape (default %(default)s)")
    g.add_argument("--instruction", default=None, help="instruction text with {labels} (default: preset)")
    g.add_argument("--template", default=None, help="in-context template with {text} and {label} (default: preset)")
    g.add_argument("--max-new-tokens", type=int, default=None, help="free decoding's token budget (default: preset)")
    g.add_argument("--decoding", choices=list(DECODINGS), default="constrained",
                   help="constrained: answers follow the answer grammar, so every item answers (default); "
                        "free: the paper's unconstrained generation")
    g.add_argument("--methods", default=",".join(DEFAULT_GROUPS), help=f"comma list of method groups: {groups_help()}")
    g.add_argument("--token-form", choices=list(TOKEN_FORMS), default="fixed",
                   help="breakdown target tokens: fixed (leading-space tokens as in the demos) or faithful (reference)")
    g.add_argument("--binary-one-order", action="store_true",
                   help="binary breakdown: ask each pair once, in label-set order (the paper's); default both orders, averaged")
    g.add_argument("--binary-hard", action="store_true", help="Bradley-Terry on hard outcomes instead of probabilities")
    g.add_argument("--max-binary-pairs", type=int, default=820, help="refuse binary breakdown above this many pair prompts per item")
    m, d = p.add_argument_group("token-level methods (conditional, joint, marginal)"), MarginalSettings()
    m.add_argument("--joint", choices=list(JOINT_VARIANTS), default=JOINT_VARIANTS[0],
                   help="joint: the path probability up to the label (default), or the reference's product of "
                        "label tokens only (label_tokens)")
    m.add_argument("--marginal-top-p", type=float, default=d.top_p, help=f"marginal search: nucleus per node (default {d.top_p})")
    m.add_argument("--marginal-min-prob", type=float, default=d.min_path_prob,
                   help=f"marginal search: smallest path probability expanded (default {d.min_path_prob})")
    m.add_argument("--marginal-max-depth", type=int, default=d.max_depth,
                   help=f"marginal search: answer tokens at most (default {d.max_depth})")
    m.add_argument("--marginal-max-nodes", type=int, default=d.max_nodes,
                   help=f"marginal search: node budget per item (default {d.max_nodes})")
    m.add_argument("--model-probs", action="store_true",
                   help="constrained decoding: token-level methods use the model's full-vocabulary probabilities "
                        "instead of the constrained sampler's (renormalised over the grammar)")


def add_supervised_options(p: argparse.ArgumentParser) -> None:
    from labeldist.runs.supervised import TARGET_KINDS, SupervisedConfig

    d = SupervisedConfig()
    g = p.add_argument_group("supervised methods (--methods probe,encoder,sft): fitted on the train split, chosen on dev")
    g.add_argument("--train-n", type=int, default=d.train_n, help=f"train items to fit on, a seeded sample (default {d.train_n})")
    g.add_argument("--dev-n", type=int, default=d.dev_n, help=f"dev items to choose on (default {d.dev_n})")
    g.add_argument("--targets", choices=list(TARGET_KINDS), default=None,
                   help="soft: annotator fractions (default where every item has them); hard: aggregate gold")
    g.add_argument("--probe-layer", type=int, default=d.probe_layer, help="hidden layer of the probe features (default -1, the last)")
    g.add_argument("--probe-pca", type=int, default=None, help="PCA components before the probe (default: none)")
    g.add_argument("--encoder", default=None, help="a local Hugging Face encoder directory (default: the installed MiniLM)")
    g.add_argument("--label-names-first", action="store_true", help="encoder: put the label names before the text (Demux-style)")
    g.add_argument("--encoder-epochs", type=int, default=d.encoder_epochs, help=f"most encoder epochs, early-stopped on dev (default {d.encoder_epochs})")
    g.add_argument("--sft-epochs", type=int, default=d.sft_epochs, help=f"LoRA epochs (default {d.sft_epochs})")
    g.add_argument("--sft-train-n", type=int, default=None, help="train items for LoRA (default: --train-n)")
    g.add_argument("--lora-r", type=int, default=d.lora_r, help=f"LoRA rank (default {d.lora_r}, the reference's)")
    g.add_argument("--adapter", default=None, help="reuse a trained LoRA adapter directory instead of training one")


def supervised_config(args: argparse.Namespace):
    from labeldist.runs.supervised import SupervisedConfig

    if not hasattr(args, "train_n"):
        return SupervisedConfig()
    return SupervisedConfig(train_n=args.train_n, dev_n=args.dev_n, targets=args.targets, probe_layer=args.probe_layer,
                            probe_pca=args.probe_pca, encoder=args.encoder, label_names_first=args.label_names_first,
                            encoder_epochs=args.encoder_epochs, sft_epochs=args.sft_epochs,
                            sft_train_n=args.sft_train_n, lora_r=args.lora_r, adapter=args.adapter)


def run_config(args: argparse.Namespace, *, preset: PromptPreset | None = None):
    """The run's config: explicit flags, else the preset's fields, else the generic defaults."""
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.prompts.presets import generic_preset
    from labeldist.runs.runner import RunConfig

    preset = preset or generic_preset(args.task or "labels", not getattr(args, "single_label", False))
    from labeldist.prompts.llamaguard import LLAMA_GUARD_FORMAT
    from labeldist.prompts.presets import LLAMA_GUARD_PRESET

    if args.label_format == LLAMA_GUARD_FORMAT:  # the Llama Guard preset: its own instruction and template
        preset = LLAMA_GUARD_PRESET
    prompt = PromptConfig(
        instruction=args.instruction if args.instruction is not None else
        (None if args.shots == 0 and args.zero_shot_hint == "question" else (preset.instruction or None)),
        template=args.template or preset.template,
        label_format=args.label_format or preset.label_format,
        label_order=args.label_order,
        chat=args.chat,
        shots=args.shots,
        demo_sampling=args.demo_sampling or preset.demo_sampling,
        seed=args.seed,
        max_new_tokens=args.max_new_tokens if args.max_new_tokens is not None else preset.max_new_tokens,
        task=args.task or preset.task,
        zero_shot_hint=args.zero_shot_hint,
        **demo_ratio_option(args, args.demo_sampling or preset.demo_sampling),
    )
    return RunConfig(
        model=args.model, dtype=args.dtype, backend=args.backend,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
        prompt=prompt, batch_size=args.batch_size, decoding=args.decoding, breakdown_token_form=args.token_form,
        binary_both_orders=not args.binary_one_order, binary_hard=args.binary_hard,
        max_binary_pairs=args.max_binary_pairs, joint=args.joint,
        marginal=MarginalSettings(top_p=args.marginal_top_p, min_path_prob=args.marginal_min_prob,
                                  max_depth=args.marginal_max_depth, max_nodes=args.marginal_max_nodes,
                                  normalize=not args.model_probs),
        supervised=supervised_config(args),
        attention=bool(getattr(args, "attention", False)),
    )


def demo_ratio_option(args: argparse.Namespace, sampling: str | None) -> dict:
    """``{"demo_ratio": R}`` for ``--demo-ratio R`` (else ``{}``: the PromptConfig default); only multilabel sampling reads it."""
    ratio = getattr(args, "demo_ratio", None)
    if ratio is None:
        return {}
    from labeldist.errors import LabeldistError

    if sampling not in (None, "multilabel"):
        raise LabeldistError(f"--demo-ratio sets the share of multi-label demos, which --demo-sampling {sampling} ignores",
                             "use --demo-sampling multilabel, or drop --demo-ratio")
    return {"demo_ratio": float(ratio)}


def backend_options(args: argparse.Namespace) -> dict:
    opts = {"dtype": args.dtype, "batch_size": args.batch_size}
    if getattr(args, "backend", "hf") == "http":
        keys = ("base_url", "concurrency", "timeout", "top_logprobs", "served_model")
        opts = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
        from labeldist.errors import LabeldistError

        if "base_url" not in opts:
            raise LabeldistError("--backend http needs a server", "pass --base-url http://HOST:PORT")
        if getattr(args, "api_key_env", None):
            import os

            if not os.environ.get(args.api_key_env):
                raise LabeldistError(f"environment variable {args.api_key_env} (from --api-key-env) is not set",
                                     f"export {args.api_key_env}=... or drop --api-key-env")
            opts["api_key"] = os.environ[args.api_key_env]
    return opts
