"""Shared CLI options: model/backend and prompt settings, turned into config dataclasses."""

from __future__ import annotations

import argparse

from labeldist.backends import BACKENDS, DTYPES
from labeldist.backends.models import DEFAULT_MODEL, MODELS
from labeldist.methods import DEFAULT_GROUPS, groups_help
from labeldist.prompts.breakdown import TOKEN_FORMS
from labeldist.prompts.demos import STRATEGIES
from labeldist.prompts.fewshot import LABEL_FORMATS, LABEL_ORDERS


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
    g = p.add_argument_group("prompt")
    g.add_argument("--shots", type=int, default=shots, help=f"number of demonstrations (default {shots})")
    g.add_argument("--demo-sampling", choices=list(STRATEGIES), default=None,
                   help="default: multilabel for multi-label sets, uniform for single-label sets")
    g.add_argument("--seed", type=int, default=0, help="seed for demo sampling and label order (default 0)")
    g.add_argument("--label-format", choices=list(LABEL_FORMATS), default="json")
    g.add_argument("--label-order", choices=list(LABEL_ORDERS), default="canonical",
                   help="order of labels inside demo answers")
    g.add_argument("--chat", action="store_true", help="use the model's chat template instead of plain few-shot text")
    g.add_argument("--instruction", default=None, help="instruction text with {labels}; default depends on multi/single-label")
    g.add_argument("--template", default=None, help="in-context template with {text} and {label} (default 'Input: {text}\\n{label}\\n')")
    g.add_argument("--max-new-tokens", type=int, default=18)
    g.add_argument("--methods", default=",".join(DEFAULT_GROUPS), help=f"comma list of method groups: {groups_help()}")
    g.add_argument("--token-form", choices=list(TOKEN_FORMS), default="fixed",
                   help="breakdown target tokens: fixed (leading-space tokens as in the demos) or faithful (reference)")
    g.add_argument("--binary-both-orders", action="store_true", help="ask every pair in both orders and average")
    g.add_argument("--binary-hard", action="store_true", help="Bradley-Terry on hard outcomes instead of probabilities")
    g.add_argument("--max-binary-pairs", type=int, default=820, help="refuse binary breakdown above this many pair prompts per item")


def run_config(args: argparse.Namespace):
    from labeldist.prompts.fewshot import DEFAULT_TEMPLATE, PromptConfig
    from labeldist.runs.runner import RunConfig

    prompt = PromptConfig(
        instruction=args.instruction,
        template=args.template or DEFAULT_TEMPLATE,
        label_format=args.label_format,
        label_order=args.label_order,
        chat=args.chat,
        shots=args.shots,
        demo_sampling=args.demo_sampling,
        seed=args.seed,
        max_new_tokens=args.max_new_tokens,
    )
    return RunConfig(
        model=args.model, dtype=args.dtype, backend=args.backend,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
        prompt=prompt, batch_size=args.batch_size, breakdown_token_form=args.token_form,
        binary_both_orders=args.binary_both_orders, binary_hard=args.binary_hard,
        max_binary_pairs=args.max_binary_pairs,
    )


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
