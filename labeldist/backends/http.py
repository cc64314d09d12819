"""Backend for OpenAI-compatible servers (vLLM, SGLang, llama.cpp server) over ``/v1/completions``.

The tokenizer stays local (the model registry's tokenizer, no weights), and prompts are
sent as token-id lists, so the ids are exactly those the transformers backend would use;
where the server has ``/tokenize`` the two tokenizers are compared once at start-up.
Generation is greedy (temperature 0) with the top-k log-probabilities at every step.

Candidate tokens missing from a step's top-k are never silently zero. At start-up the
backend probes, on a token whose log-probability the top-k reports, which exact scoring
the server supports:

* ``logit_bias``: a 1-token request with the candidate forced by a +100 logit bias; the
  server reports the candidate's raw log-probability (llama.cpp; vLLM's default raw
  logprobs);
* ``echo``: the prompt plus the candidate, echoed with prompt log-probabilities;
* ``bound``: neither works (or ``missing="bound"``): a missing candidate gets the k-th
  log-probability, an upper bound, and ``bounded=True``.

Exact scores cost one request per missing candidate, so :meth:`HTTPBackend.generate`
spends them only at steps whose generated token is a candidate (the steps the estimators
read); other steps keep bounds. :meth:`HTTPBackend.score_next` scores every candidate.
The chosen mode is in ``info.extra["missing_candidates"]``.

Requests run on a thread pool of ``concurrency`` workers, spread round-robin over one or
more base URLs, with a timeout and exponential-backoff retries on connection errors,
resets, timeouts, 429 and 5xx (honouring ``Retry-After``) and bodies that are not JSON
(a cut-off answer); a retry goes to the next URL. A well-formed answer with the wrong content
(no logprobs, token ids that are not the model's: :mod:`labeldist.backends.http_checks`) is
never retried and never recorded: the run stops with one line. Standard library only.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from labeldist.backends.base import Backend, Generation
from labeldist.backends.http_checks import IdChecker
from labeldist.backends.http_protocol import (
    Completion,
    ResponseError,
    TokenIndex,
    build_payload,
    card_context_length,
    error_message,
    fill_scores,
    parse_response,
    served_models,
    server_flavor,
    tokenize_ids,
    tokenize_payload,
)
from labeldist.backends.models import ResolvedModel, load_tokenizer, resolve_model
from labeldist.backends.tokenizer import HFTokenizer
from labeldist.errors import LabeldistError
from labeldist.records import ModelInfo, PromptIds

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = ["HTTPBackend", "build_payload", "parse_response", "normalize_base_urls"]

TOKENIZE_PROBE = 'Input: I am thrilled!\n{"label": ["joy", "anger"]}\n  Café naïve 😀 end.'
EXACT_PROBE = "Input: What a lovely day\nThe label is"
EXACT_TOLERANCE = 0.05  # nats; the same prompt scored twice on one server
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0  # seconds: the longest a server's Retry-After is waited for
DOWN_FIX = "start the server, or fix --base-url (the server's root URL, e.g. http://127.0.0.1:8000)"


def normalize_base_urls(base_url: str | Sequence[str]) -> list[str]:
    """Server roots from a URL, a comma list or a list of either (trailing ``/`` and ``/v1`` dropped)."""
    items = [base_url] if isinstance(base_url, str) else list(base_url or [])
    urls = [u.strip() for item in items for u in str(item).split(",") if u.strip()]
    if not urls:
        raise LabeldistError("no server URL given", "pass --base-url http://HOST:PORT (the server's root URL)")
    out = []
    for u in urls:
        if not u.startswith(("http://", "https://")):
            raise LabeldistError(f"server URL {u!r} does not start with http:// or https://", "pass e.g. --base-url http://127.0.0.1:8000")
        u = u.rstrip("/")
        if u.endswith("/v1"):
            u = u[:-3]
        out.append(u)
    return list(dict.fromkeys(out))


class _Client:
    """JSON over HTTP with timeouts, retries with exponential backoff and round-robin URLs."""

    def __init__(self, urls: list[str], *, timeout: float, retries: int, backoff: float, api_key: str | None):
        self.urls, self.timeout, self.retries, self.backoff = urls, float(timeout), int(retries), float(backoff)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._next = itertools.count()
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0,
                      "waited_seconds": 0.0}

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] = self.stats.get(key, 0) + int(n)

    def request(self, path: str, body: dict | None = None, *, url: str | None = None, missing_ok: bool = False):
        """Parsed JSON of ``GET``/``POST path``; None on 404/405 when ``missing_ok``."""
        start = next(self._next) if url is None else self.urls.index(url)
        data = None if body is None else json.dumps(body).encode()
        last = ""
        last_fix, retry_after = DOWN_FIX, 0.0
        for attempt in range(self.retries + 1):
            base = self.urls[(start + attempt) % len(self.urls)] if url is None else url
            if attempt:
                self.count("retries")
                delay = max(min(self.backoff * 2 ** (attempt - 1), 10.0), retry_after)
                with self._lock:
                    self.stats["waited_seconds"] += delay
                time.sleep(delay)
                retry_after = 0.0
            self.count("requests")
            req = urllib.request.Request(base + path, data=data, headers=self._headers, method="GET" if data is None else "POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                payload = _read_json(e)
                if e.code in RETRY_STATUS:
                    last, last_fix = f"{base}{path} answered HTTP {e.code}: {error_message(payload)}", DOWN_FIX
                    retry_after = _retry_after(e.headers.get("Retry-After") if e.headers else None)
                    continue
                if missing_ok and e.code in (404, 405):
                    return None
                if e.code == 404:
                    raise LabeldistError(f"{base}{path} does not exist (HTTP 404: {error_message(payload)})",
                                         "check --base-url: it is the server's root URL, e.g. http://127.0.0.1:8000") from None
                if e.code in (401, 403):
                    raise LabeldistError(f"{base}{path} refused the request (HTTP {e.code}: {error_message(payload)})",
                                         "pass the server's key with --api-key-env NAME_OF_ENV_VARIABLE") from None
                raise LabeldistError(f"{base}{path} rejected the request (HTTP {e.code}): {error_message(payload)}",
                                     "see the server's message; check --top-logprobs against the server's limit "
                                     "(vLLM: --max-logprobs) and the prompt length against its context") from None
            except (urllib.error.URLError, HTTPException, ConnectionError, socket.timeout, TimeoutError) as e:
                reason = getattr(e, "reason", e)
                last, last_fix = f"cannot reach {base}{path} ({type(reason).__name__}: {reason})", DOWN_FIX
                continue
            try:
                return json.loads(raw)
            except ValueError:  # e.g. an answer cut off on the way: asked again, like a reset
                last = f"malformed response body from {base}{path}: not JSON ({raw[:120]!r})"
                last_fix = "check --base-url points at an OpenAI-compatible server"
                continue
        error = ResponseError if last.startswith("malformed") else LabeldistError
        raise error(f"{last}; gave up after {self.retries + 1} attempts", last_fix)


def _retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), capped; 0 if none."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return 0.0
    return 0.0 if math.isnan(seconds) else min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _read_json(e: urllib.error.HTTPError):
    try:
        raw = e.read()
        return json.loads(raw)
    except (ValueError, OSError):
        return str(e.reason)


class HTTPBackend(Backend):
    """Greedy generation and next-token scoring against OpenAI-compatible servers.

    Parameters
    ----------
    model : str
        Registered short name, ``.gguf`` path or Hugging Face directory, used for the local
        tokenizer only (no weights are loaded).
    base_url : str or list of str
        Server root URL(s) (``http://host:port``, with or without ``/v1``); several
        servers (a comma list or a list) share the requests round-robin.
    concurrency : int
        Requests in flight at once, over all servers.
    timeout : float
        Seconds per request before it counts as failed (and is retried).
    retries : int
        Retries per request on connection errors, resets, timeouts, 429, 5xx and bodies that
        are not JSON, after waiting ``backoff * 2**i`` seconds (capped at 10 s) or the
        server's ``Retry-After`` (up to 60 s), whichever is longer; with the defaults a
        server that is down is given up on after about 8 s.
    backoff : float
        First retry delay in seconds.
    top_logprobs : int
        k, the number of log-probabilities requested at every step (vLLM caps it with
        ``--max-logprobs``, default 20).
    tokenizer : str or tokenizer object, optional
        Another registered name/path for the tokenizer, or a loaded tokenizer.
    api_key : str, optional
        Sent as ``Authorization: Bearer``.
    served_model : str, optional
        The model id the server serves (``GET /v1/models``); default: the only one, or
        ``model`` if the server lists it.
    missing : {"auto", "exact", "bound"}
        How to score candidates missing from the top-k: ``auto`` probes for an exact mode
        and bounds if none works, ``exact`` requires one, ``bound`` never asks.
    dtype, batch_size : ignored (accepted so ``labeldist.api`` can pass local options).
    """

    context_owner = "server"

    def __init__(self, model: str, *, base_url: str | Sequence[str], concurrency: int = 4, timeout: float = 60,
                 retries: int = 5, top_logprobs: int = 20, tokenizer=None, api_key: str | None = None,
                 served_model: str | None = None, missing: str = "auto", backoff: float = 0.25,
                 dtype: str | None = None, batch_size: int | None = None):
        if int(concurrency) < 1:
            raise LabeldistError(f"--concurrency must be at least 1, got {concurrency}", "use e.g. --concurrency 4")
        if int(top_logprobs) < 1:
            raise LabeldistError(f"--top-logprobs must be at least 1, got {top_logprobs}", "use e.g. --top-logprobs 20")
        if float(timeout) <= 0:
            raise LabeldistError(f"--timeout must be positive, got {timeout}", "use e.g. --timeout 60")
        if missing not in ("auto", "exact", "bound"):
            raise LabeldistError(f"unknown missing-candidate mode {missing!r}", "use auto, exact or bound")
        t0 = time.perf_counter()
        self.urls = normalize_base_urls(base_url)
        self.top_logprobs = int(top_logprobs)
        self.concurrency = int(concurrency)
        self.resolved, hf_tokenizer, source_dir = self._load_tokenizer(model, tokenizer)
        self.tokenizer = HFTokenizer(hf_tokenizer, self.resolved.name)
        self.index = TokenIndex.from_tokenizer(hf_tokenizer)
        self._ids = IdChecker(self.index, special_ids=getattr(hf_tokenizer, "added_tokens_encoder", {}).values())
        self._eos = self._eos_ids(source_dir)
        self.client = _Client(self.urls, timeout=timeout, retries=retries, backoff=backoff, api_key=api_key)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="labeldist-http")
        try:
            self.served_model, self.flavor, self._context = self._check_models(served_model, model)
            tokenize_check = self._check_tokenizer()
            self.exact_mode, probe = ("bound", None) if missing == "bound" else self._probe_exact(missing)
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise
        # counters from here on (start-up requests excluded); forward_tokens = prompt tokens not served
        # from the server's cache + generated tokens, as the breakdown runner's cost records expect
        self.stats = self.client.stats
        for key in ("requests", "retries", "prompt_tokens", "cached_tokens", "completion_tokens", "forward_tokens",
                    "exact_requests", "unmapped_top_logprobs"):
            self.stats[key] = 0
        self.info = ModelInfo(
            name=self.resolved.name,
            backend="http",
            source=", ".join(self.urls),
            sha256=None,
            dtype=None,
            extra={
                "served_model": self.served_model,
                "server": self.flavor,
                "base_urls": self.urls,
                "concurrency": self.concurrency,
                "top_logprobs": self.top_logprobs,
                "missing_candidates": self.exact_mode,
                "exact_scores_at": "score_next: every candidate; generate: steps whose token is a candidate; "
                                   "other generation steps are bounded",
                "exact_probe": probe,
                "tokenize_check": tokenize_check,
                "stop_strings": "applied client-side to the returned ids",
                "context_length": self._context,
                "tokenizer_source": str(source_dir or self.resolved.path),
                "tokenizer_sha256": self.resolved.sha256,
                "load_seconds": round(time.perf_counter() - t0, 2),
            },
        )

    # -- set-up --------------------------------------------------------------------------
    @staticmethod
    def _load_tokenizer(model: str, tokenizer):
        if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
            name = str(model)
            return ResolvedModel(name, "object", Path("."), None, name), tokenizer, None
        resolved = resolve_model(str(tokenizer) if tokenizer is not None else model)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        tok, source_dir = load_tokenizer(resolved)
        return resolved, tok, source_dir

    def _eos_ids(self, source_dir) -> frozenset[int]:
        ids = set()
        if self.tokenizer.hf.eos_token_id is not None:
            ids.add(int(self.tokenizer.hf.eos_token_id))
        if source_dir is not None:
            for fname in ("generation_config.json", "config.json"):
                p = source_dir / fname
                if p.is_file():
                    v = json.loads(p.read_text()).get("eos_token_id")
                    ids.update(int(i) for i in (v if isinstance(v, list) else [v]) if i is not None)
                    break
        return frozenset(ids)

    def _check_models(self, served_model: str | None, model: str) -> tuple[str, str, int | None]:
        """(served model id, server flavor, context length) — every server must serve the model."""
        chosen, flavor, context = served_model, None, None
        for url in self.urls:
            body = self.client.request("/v1/models", url=url)
            cards = served_models(body)
            ids = [c["id"] for c in cards]
            if chosen is None:
                if len(ids) == 1:
                    chosen = ids[0]
                elif model in ids:
                    chosen = model
                else:
                    raise LabeldistError(f"{url} serves {len(ids)} models ({', '.join(ids) or 'none'})",
                                         "name one with --served-model")
            card = next((c for c in cards if c["id"] == chosen or chosen in (c.get("aliases") or [])), None)
            if card is None:
                raise LabeldistError(f"{url} does not serve model {chosen!r}; it serves {', '.join(ids) or 'no model'}",
                                     "pass --served-model with one of those ids (or start the server with that model)")
            flavor = flavor or server_flavor(card)
            n = card_context_length(card)
            context = n if context is None else min(context, n or context)
        return chosen, flavor or "openai", context

    def _check_tokenizer(self) -> str:
        want = self.tokenizer.encode(TOKENIZE_PROBE)
        results = []
        for url in self.urls:
            body = self.client.request("/tokenize", tokenize_payload(TOKENIZE_PROBE, self.served_model), url=url, missing_ok=True)
            if body is None:
                results.append(f"{url}: no /tokenize")
                continue
            got = tokenize_ids(body)
            if got != want:
                raise LabeldistError(
                    f"the server at {url} tokenizes differently from the local tokenizer of {self.resolved.name!r}: "
                    f"{TOKENIZE_PROBE!r} -> server {got[:24]} vs local {want[:24]}",
                    "pass --model (or tokenizer=) naming the same model the server runs",
                )
            results.append(f"{url}: ok")
        return "; ".join(results)

    def _probe_exact(self, missing: str) -> tuple[str, dict | None]:
        """First exact mode that reproduces a top-k log-probability the server reported."""
        ids = tuple(self.tokenizer.bos_ids + self.tokenizer.encode(EXACT_PROBE))
        ref = self._complete(ids, max_tokens=1, top_logprobs=max(2, self.top_logprobs)).steps[0]
        ranked = sorted(ref.top.items(), key=lambda kv: -kv[1])
        if len(ranked) < 2:
            raise ResponseError(f"the server at {self.urls[0]} returned fewer than 2 top log-probabilities",
                                "raise --top-logprobs (vLLM: start it with --max-logprobs at least that)")
        token, value = ranked[-1] if ranked[-1][0] != ref.token_id else ranked[-2]
        order = ("logit_bias", "echo") if self.flavor == "llamacpp" else ("echo", "logit_bias")
        tried = {}
        for mode in order:
            try:
                got = self._exact_one(ids, token, mode)
            except LabeldistError as e:
                tried[mode] = str(e)[:200]
                continue
            tried[mode] = got
            if got is not None and abs(got - value) <= EXACT_TOLERANCE:
                return mode, {"token": token, "top_k_logprob": value, "exact_logprob": got}
        if missing == "exact":
            raise LabeldistError(f"the server at {self.urls[0]} supports no exact scoring of a given token "
                                 f"(token {token}: top-k says {value:.4f}; tried {tried})",
                                 "use --top-logprobs large enough for every label token, or missing='bound'")
        warnings.warn(f"the server at {self.urls[0]} supports no exact scoring of a given token: label tokens outside "
                      f"its top-{self.top_logprobs} are bounded by the k-th log-probability (records count them as "
                      "bounded_scores); raise --top-logprobs to bound fewer", stacklevel=3)
        return "bound", {"token": token, "top_k_logprob": value, "tried": tried}

    # -- requests ---------------------------------------------------------------------------
    def _complete(self, ids: Sequence[int], *, max_tokens: int, force: int | None = None, echo: bool = False,
                  top_logprobs: int | None = None) -> Completion:
        k = self.top_logprobs if top_logprobs is None else top_logprobs
        body = build_payload(ids, model=self.served_model, max_tokens=max_tokens, top_logprobs=k,
                             flavor=getattr(self, "flavor", "openai"), force_token=force, echo=echo)
        raw = self.client.request("/v1/completions", body)
        self._ids.check(raw, "/v1/completions")
        comp = parse_response(raw, index=self.index, top_logprobs=k, n_prompt=len(ids) if echo else 0)
        u = comp.usage
        details = u.get("prompt_tokens_details")
        cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
        self.client.count("prompt_tokens", u.get("prompt_tokens") or 0)
        self.client.count("cached_tokens", cached)
        self.client.count("completion_tokens", u.get("completion_tokens") or 0)
        self.client.count("forward_tokens", max(0, (u.get("prompt_tokens") or 0) - cached) + (u.get("completion_tokens") or 0))
        self.client.count("unmapped_top_logprobs", sum(s.n_unmapped for s in comp.steps))
        return comp

    def _exact_one(self, ids: Sequence[int], token: int, mode: str) -> float:
        """Exact log-probability of ``token`` after ``ids`` by ``mode``."""
        if mode == "logit_bias":
            step = self._complete(ids, max_tokens=1, force=token, top_logprobs=1).steps[0]
            if step.token_id != token:
                raise ResponseError(f"a +100 logit bias did not force token {token} (server chose {step.token_id})")
            return float(step.logprob)
        comp = self._complete(list(ids) + [token], max_tokens=1, echo=True, top_logprobs=1)
        last = comp.prompt[-1] if comp.prompt else None
        if last is None or last.logprob is None or last.token_id not in (token, None):
            raise ResponseError("the server did not echo prompt log-probabilities")
        return float(last.logprob)

    def _map(self, fn: Callable, jobs: list) -> list:
        """Run ``fn(*job)`` for every job on the pool; results in order; first error cancels the rest."""
        if not jobs:
            return []
        futures = [self._pool.submit(fn, *job) for job in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            if f in done and f.exception() is not None:
                for p in pending:
                    p.cancel()
                raise f.exception()
        return [f.result() for f in futures]

    def _fill_exact(self, jobs: list[tuple[tuple[int, ...], int]]) -> list[float]:
        self.client.count("exact_requests", len(jobs))
        return self._map(lambda ids, tok: self._exact_one(ids, tok, self.exact_mode), jobs)

    # -- tokenizer -------------------------------------------------------------------------
    @property
    def eos_ids(self) -> frozenset[int]:
        return self._eos

    @property
    def context_length(self) -> int:
        if self._context:
            return int(self._context)
        n = getattr(self.tokenizer.hf, "model_max_length", None)
        return int(n) if isinstance(n, int) and 0 < n < 10_000_000 else 2048

    # -- interface -----------------------------------------------------------------------------
    def score_next(self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        self.check_length(prompts, 1)
        cand = [int(c) for c in candidate_ids]
        comps = self._map(lambda ids: self._complete(ids, max_tokens=1), [(p.ids,) for p in prompts])
        scores, bounded = fill_scores([c.steps[0] for c in comps], cand)
        if self.exact_mode != "bound":
            where = list(zip(*np.nonzero(bounded)))
            vals = self._fill_exact([(prompts[r].ids, cand[c]) for r, c in where])
            for (r, c), v in zip(where, vals):
                scores[r, c], bounded[r, c] = v, False
        return scores, bounded

    def generate(self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int], max_new_tokens: int,
                 stop: Sequence[str] = (), want_hidden: bool = False, constraint=None) -> list[Generation]:
        if want_hidden:
            raise LabeldistError("the http backend cannot return hidden states", "use --backend hf for methods that need them")
        self.check_length(prompts, max_new_tokens)
        cand = [int(c) for c in candidate_ids]
        if constraint is not None:
            return self._map(lambda ids: self._constrained(ids, cand, constraint, max_new_tokens),
                             [(p.ids,) for p in prompts])
        cand_set = set(cand)
        comps = self._map(lambda ids: self._complete(ids, max_tokens=max_new_tokens), [(p.ids,) for p in prompts])
        gens, jobs, where = [], [], []
        for i, (p, comp) in enumerate(zip(prompts, comps)):
            ids, reason = self._cut(comp, stop, max_new_tokens)
            steps = comp.steps[: len(ids)]
            scores, bounded = fill_scores(steps, cand)
            gens.append(Generation(ids=ids, candidate_scores=scores, bounded=bounded, stop_reason=reason,
                                   token_logprobs=np.array([st.logprob for st in steps], dtype=np.float64)))
            if self.exact_mode == "bound":
                continue
            for t, tok in enumerate(ids):
                if tok in cand_set:
                    for c in np.nonzero(bounded[t])[0]:
                        jobs.append((p.ids + tuple(ids[:t]), cand[c]))
                        where.append((i, t, int(c)))
        for (i, t, c), v in zip(where, self._fill_exact(jobs)):
            gens[i].candidate_scores[t, c], gens[i].bounded[t, c] = v, False
        return gens

    def _constrained(self, prompt: tuple[int, ...], cand: list[int], constraint, max_new_tokens: int) -> Generation:
        """A constrained answer, stepped decision by decision (the server caches the shared prefix).

        Each decision is a one-token request reading the top-k log-probabilities of the
        unmasked next-token distribution; allowed tokens missing from the top-k are scored
        exactly (or bounded, and flagged); the greedy choice is the best allowed token.
        Forced tokens are appended without a request. Servers' own grammar options (such as
        llama.cpp's GBNF) are not used: they report probabilities after the grammar's mask.
        """
        ids: list[int] = []
        rows, bounds, slots, outside, overridden, forced = [], [], [], [], [], []
        logprobs, in_label, allowed_lm = [], [], []  # per token: log p (NaN: not asked), in a label, log allowed mass
        label_of = getattr(constraint, "in_label", None)
        state = constraint.initial()
        nan_row = np.full(len(cand), np.nan)
        while not constraint.done(state) and len(ids) < max_new_tokens:
            allowed = constraint.allowed(state)
            slots.append(bool(constraint.is_slot(state)))
            in_label.append(bool(label_of(state)) if label_of is not None else False)
            if len(allowed) == 1 and not slots[-1]:
                tok = allowed[0]
                logprobs.append(float("nan"))
                allowed_lm.append(float("nan"))
                rows.append(nan_row)
                bounds.append(np.zeros(len(cand), dtype=bool))
                outside.append(float("nan"))
                overridden.append(False)
                forced.append(True)
            else:  # a decision, or a forced label slot (still read by the step-based methods)
                context = prompt + tuple(ids)
                step = self._complete(context, max_tokens=1).steps[0]
                lp: dict[int, float] = {}
                loose = False
                for t in allowed:
                    if t in step.top:
                        lp[t] = step.top[t]
                    elif self.exact_mode != "bound":
                        self.client.count("exact_requests")
                        lp[t] = self._exact_one(context, t, self.exact_mode)
                    else:
                        lp[t], loose = step.kth, True
                tok = max(allowed, key=lambda t: (lp[t], -t))  # ties -> lowest id
                logprobs.append(float("nan") if tok not in step.top and self.exact_mode == "bound" else float(lp[tok]))
                sc, bd = fill_scores([step], cand)
                if slots[-1] and self.exact_mode != "bound":  # the estimators read slots: exact scores there
                    for c in np.nonzero(bd[0])[0]:
                        self.client.count("exact_requests")
                        sc[0, c], bd[0, c] = self._exact_one(context, cand[c], self.exact_mode), False
                rows.append(sc[0])
                bounds.append(bd[0])
                mass = float(np.exp(np.array(list(lp.values()))).sum())
                allowed_lm.append(float("nan") if loose else math.log(mass))
                outside.append(float("nan") if loose else max(0.0, 1.0 - mass))
                overridden.append(step.token_id not in set(allowed))
                forced.append(len(allowed) == 1)
            ids.append(int(tok))
            state = constraint.advance(state, tok)
        # The token-level methods read every token up to the last label's end: a forced token there
        # (inside a label, or a separator before another label) gets its log-probability now.
        end = max((t + 1 for t, inside in enumerate(in_label) if inside), default=0)
        for t in range(end):
            if math.isnan(logprobs[t]):
                logprobs[t] = self._token_logprob(prompt + tuple(ids[:t]), ids[t])
        scores = np.stack(rows) if rows else np.zeros((0, len(cand)))
        return Generation(ids=ids, candidate_scores=scores, token_logprobs=np.array(logprobs, dtype=np.float64),
                          allowed_logmass=np.array(allowed_lm, dtype=np.float64),
                          bounded=np.stack(bounds) if bounds else np.zeros((0, len(cand)), dtype=bool),
                          stop_reason="grammar" if constraint.done(state) else "length",
                          slots=np.array(slots, dtype=bool), outside_mass=np.array(outside, dtype=np.float64),
                          overridden=np.array(overridden, dtype=bool), forced=np.array(forced, dtype=bool))

    def _token_logprob(self, context: tuple[int, ...], tok: int) -> float:
        """log p(tok | context) from a one-token request: the top-k, else an exact score (NaN in bound mode)."""
        step = self._complete(context, max_tokens=1).steps[0]
        if tok in step.top:
            return float(step.top[tok])
        if self.exact_mode == "bound":
            return float("nan")
        self.client.count("exact_requests")
        return float(self._exact_one(context, tok, self.exact_mode))

    def expand(self, prompts: Sequence[PromptIds], paths: Sequence[tuple[int, ...]], *, allowed=None) -> np.ndarray:
        """Log-probs after ``prompts[i] + paths[i]``, shape (n_paths, vocab); NaN = not reported.

        One one-token request per path (the server's prefix cache holds the prompt, so a node
        costs about one token of compute there), reading the top-k log-probabilities; tokens of
        ``allowed[i]`` missing from the top-k are scored exactly (``missing`` mode) or left NaN
        (bound mode, counted in ``stats["bounded_expansions"]``).
        """
        self.check_length(list(dict.fromkeys(prompts)), max((len(p) for p in paths), default=0) + 1)
        allowed = list(allowed) if allowed is not None else [None] * len(paths)
        vocab = max(len(self.tokenizer), self.index.vocab_size)
        contexts = [pr.ids + tuple(p) for pr, p in zip(prompts, paths)]
        comps = self._map(lambda ids: self._complete(ids, max_tokens=1), [(c,) for c in contexts])
        out = np.full((len(paths), vocab), np.nan, dtype=np.float64)
        jobs, where = [], []
        for i, (context, comp) in enumerate(zip(contexts, comps)):
            step = comp.steps[0]
            for t, v in step.top.items():
                out[i, t] = v
            for t in allowed[i] or ():
                if t not in step.top:
                    if self.exact_mode == "bound":
                        self.client.count("bounded_expansions")
                    else:
                        jobs.append((context, int(t)))
                        where.append((i, int(t)))
        for (i, t), v in zip(where, self._fill_exact(jobs)):
            out[i, t] = v
        return out

    def _cut(self, comp: Completion, stop: Sequence[str], max_new_tokens: int) -> tuple[list[int], str]:
        """Generated ids up to and including the step that ended the generation, and why it ended."""
        ids: list[int] = []
        for s in comp.steps[:max_new_tokens]:
            if s.token_id is None:
                raise ResponseError("the server returned a generated token that the local tokenizer cannot map to an id",
                                    "use vLLM (token ids are requested) or llama.cpp, or a tokenizer matching the server")
            ids.append(int(s.token_id))
            if s.token_id in self._eos:
                return ids, "eos"
            if stop and any(x in self.tokenizer.decode(ids) for x in stop):
                return ids, "stop"
        if comp.finish_reason == "stop" and len(ids) < max_new_tokens:
            return ids, "eos"  # the server stopped at an end-of-generation token of its own
        return ids, "length"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
