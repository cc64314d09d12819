"""Pure request building and response parsing for OpenAI-compatible ``/v1/completions``.

No network here (lm-eval's ``_create_payload``/``parse_logprobs`` split): the functions
are tested on recorded JSON. Two response shapes are understood:

* **OpenAI / vLLM / SGLang**: ``choices[0].logprobs`` holds parallel lists ``tokens``,
  ``token_logprobs`` and ``top_logprobs`` (one dict token-string -> logprob per step;
  ``None`` for the first echoed prompt token). vLLM adds the sampled token to the dict
  when it is outside the top-k, so a dict may hold k + 1 entries. With
  ``return_tokens_as_token_ids`` (vLLM) every token string reads ``token_id:<id>``.
* **llama.cpp**: ``choices[0].logprobs.content[i]`` = ``{id, token, bytes, logprob,
  top_logprobs: [{id, token, bytes, logprob}, ...]}``.

Mapping token strings to ids (when a server gives no ids) goes through the local
tokenizer's vocabulary in bytes (:class:`TokenIndex`). Pitfalls, all handled by leaving
the entry unmapped (a candidate that is not found counts as missing from the top-k, so it
is scored exactly or bounded, never silently zero):

* byte-level BPE vocabularies store ``Ġ``/``Ċ`` forms, servers return decoded text;
* a token that is part of a multi-byte character decodes to ``\\ufffd`` and cannot be
  mapped; two such tokens also collide as dict keys in the OpenAI shape;
* SentencePiece vocabularies store ``▁`` for a space and ``<0xNN>`` byte-fallback tokens
  (a regular token wins over the byte-fallback token with the same bytes);
* two regular tokens with the same bytes are ambiguous and are not mapped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from labeldist.errors import LabeldistError

FORCE_BIAS = 100.0  # the largest logit bias the OpenAI API (and vLLM) accept
_TOKEN_ID = re.compile(r"token_id:(\d+)")
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


class ResponseError(LabeldistError):
    """A server answered with a body labeldist cannot use (malformed, or without logprobs)."""


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class TokenIndex:
    """Token text or bytes -> id, built from the local tokenizer's vocabulary.

    Parameters
    ----------
    vocab : mapping of vocabulary string -> id (``tokenizer.get_vocab()``).
    special : vocabulary strings of added/special tokens (taken literally, not byte-decoded).
    """

    def __init__(self, vocab: Mapping[str, int], special: Iterable[str] = ()):
        special = set(special)
        self.byte_level = sum(k.startswith("Ġ") for k in vocab) >= sum(k.startswith("▁") for k in vocab)
        self.vocab_size = max(vocab.values(), default=-1) + 1
        dec = {c: b for b, c in _bytes_to_unicode().items()}
        regular: dict[bytes, int] = {}
        fallback: dict[bytes, int] = {}
        ambiguous: set[bytes] = set()
        for tok, i in vocab.items():
            m = None if (self.byte_level or tok in special) else _BYTE_TOKEN.fullmatch(tok)
            if m:
                fallback[bytes([int(m.group(1), 16)])] = i
                continue
            if tok in special:
                b = tok.encode()
            elif self.byte_level:
                b = bytes(dec[c] for c in tok) if all(c in dec for c in tok) else tok.encode()
            else:
                b = tok.replace("▁", " ").encode()
            if b in regular and regular[b] != i:
                ambiguous.add(b)
            regular[b] = i
        for b in ambiguous:
            del regular[b]
        self._by_bytes = {**fallback, **regular}
        self._ambiguous = ambiguous

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "TokenIndex":
        special = [str(t) for t in getattr(tokenizer, "added_tokens_encoder", {})]
        return cls(tokenizer.get_vocab(), special)

    def lookup(self, token: str | None = None, token_bytes: Sequence[int] | None = None) -> int | None:
        """Id of a token given as ``token_id:<id>``, as raw bytes, or as decoded text; None if unknown."""
        if token is not None:
            m = _TOKEN_ID.fullmatch(token)
            if m:
                return int(m.group(1))
        if token_bytes is not None:
            return self._by_bytes.get(bytes(token_bytes))
        if token is None or "\ufffd" in token:
            return None
        return self._by_bytes.get(token.encode())


@dataclass
class Step:
    """One scored position: the token taken there and the top-k log-probabilities.

    ``kth`` is the k-th largest log-probability of the top-k list: every token absent from
    the list has a log-probability at most ``kth`` (0.0 when no list was returned).
    """

    token_id: int | None
    logprob: float | None
    top: dict[int, float] = field(default_factory=dict)
    kth: float = 0.0
    n_unmapped: int = 0


@dataclass
class Completion:
    """A parsed ``/v1/completions`` choice; ``prompt`` holds echoed prompt positions, if any."""

    steps: list[Step]
    finish_reason: str | None
    text: str
    prompt: list[Step] = field(default_factory=list)
    usage: dict = field(default_factory=dict)


def build_payload(
    prompt_ids: Sequence[int],
    *,
    model: str | None,
    max_tokens: int,
    top_logprobs: int,
    flavor: str = "openai",
    force_token: int | None = None,
    echo: bool = False,
) -> dict:
    """JSON body for ``POST /v1/completions``: greedy, with top-k log-probabilities at every step.

    Parameters
    ----------
    prompt_ids : the prompt as token ids (special tokens included); sent as a list of ints,
        so the server does not re-tokenise.
    flavor : ``"llamacpp"``, ``"vllm"`` or ``"openai"`` (any other server, e.g. SGLang).
    force_token : add a logit bias of +100 to this id (a forced next token whose raw
        log-probability the server reports).
    echo : also return log-probabilities of the prompt tokens.

    Stop strings are never sent: servers drop or split the token that completes a stop
    string, so labeldist applies them to the returned ids itself.
    """
    body: dict = {
        "prompt": [int(t) for t in prompt_ids],
        "max_tokens": int(max_tokens),
        "temperature": 0.0,
        "top_p": 1.0,
        "n": 1,
        "stream": False,
        "logprobs": int(top_logprobs),
    }
    if model is not None:
        body["model"] = model
    if echo:
        body["echo"] = True
    if force_token is not None:
        body["logit_bias"] = {str(int(force_token)): FORCE_BIAS}
    if flavor == "llamacpp":
        # n_probs is llama.cpp's own name; post_sampling_probs=False keeps the raw softmax.
        body.update(n_probs=int(top_logprobs), post_sampling_probs=False, cache_prompt=True,
                    repeat_penalty=1.0, top_k=0, min_p=0.0)
    elif flavor == "vllm":
        body.update(return_tokens_as_token_ids=True, skip_special_tokens=False, top_k=-1)
    return body


def _num(x, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ResponseError(f"malformed response body: {what} is {x!r}, not a number")
    return float(x)


def _kth(values: list[float], k: int) -> float:
    if not values:
        return 0.0
    values = sorted(values, reverse=True)
    return values[min(k, len(values)) - 1] if k > 0 else values[-1]


def _parse_llamacpp(entries, index: TokenIndex | None, k: int) -> list[Step]:
    steps = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "logprob" not in e:
            raise ResponseError(f"malformed response body: logprobs.content[{i}] has no logprob")
        tid = e.get("id")
        if not isinstance(tid, int):
            tid = index.lookup(e.get("token"), e.get("bytes")) if index else None
        step = Step(token_id=tid, logprob=_num(e["logprob"], f"logprobs.content[{i}].logprob"))
        top = e.get("top_logprobs") or []
        if not isinstance(top, list):
            raise ResponseError(f"malformed response body: logprobs.content[{i}].top_logprobs is not a list")
        vals = []
        for t in top:
            if not isinstance(t, dict) or "logprob" not in t:
                raise ResponseError(f"malformed response body: an entry of logprobs.content[{i}].top_logprobs has no logprob")
            lp = _num(t["logprob"], "top_logprobs logprob")
            vals.append(lp)
            j = t.get("id") if isinstance(t.get("id"), int) else (index.lookup(t.get("token"), t.get("bytes")) if index else None)
            if j is None:
                step.n_unmapped += 1
            else:
                step.top[j] = lp
        step.kth = _kth(vals, k)
        if tid is not None:
            step.top.setdefault(tid, step.logprob)
        steps.append(step)
    return steps


def _parse_openai(lp: dict, index: TokenIndex | None, k: int) -> list[Step]:
    tokens, token_lps = lp.get("tokens"), lp.get("token_logprobs")
    tops = lp.get("top_logprobs")
    if not isinstance(tokens, list) or not isinstance(token_lps, list) or len(tokens) != len(token_lps):
        raise ResponseError("malformed response body: logprobs.tokens and logprobs.token_logprobs are not matching lists")
    if tops is None:
        tops = [None] * len(tokens)
    if not isinstance(tops, list) or len(tops) != len(tokens):
        raise ResponseError("malformed response body: logprobs.top_logprobs does not match logprobs.tokens")
    steps = []
    for i, (tok, tlp, top) in enumerate(zip(tokens, token_lps, tops)):
        if not isinstance(tok, str):
            raise ResponseError(f"malformed response body: logprobs.tokens[{i}] is not a string")
        tid = index.lookup(tok) if index else (int(tok[9:]) if _TOKEN_ID.fullmatch(tok) else None)
        step = Step(token_id=tid, logprob=None if tlp is None else _num(tlp, f"logprobs.token_logprobs[{i}]"))
        if top is not None:
            if not isinstance(top, dict):
                raise ResponseError(f"malformed response body: logprobs.top_logprobs[{i}] is not an object")
            vals = []
            for s, v in top.items():
                v = _num(v, f"logprobs.top_logprobs[{i}][{s!r}]")
                vals.append(v)
                j = index.lookup(s) if index else (int(s[9:]) if _TOKEN_ID.fullmatch(s) else None)
                if j is None:
                    step.n_unmapped += 1
                else:
                    step.top[j] = v
            step.kth = _kth(vals, k)
        if tid is not None and step.logprob is not None:
            step.top.setdefault(tid, step.logprob)
        steps.append(step)
    return steps


def parse_response(body, *, index: TokenIndex | None = None, top_logprobs: int = 0, n_prompt: int = 0) -> Completion:
    """Parse a ``/v1/completions`` body (either shape) into :class:`Completion`.

    Parameters
    ----------
    index : maps token strings to ids when the server gives none.
    top_logprobs : the k that was requested (``kth`` is the k-th value, not a value added
        beyond the top-k, such as vLLM's sampled token).
    n_prompt : number of echoed prompt tokens at the start of the logprobs (``echo``).

    Raises :class:`ResponseError` on a malformed body or when no logprobs came back.
    """
    if not isinstance(body, dict):
        raise ResponseError(f"malformed response body: expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        err = body.get("error")
        detail = f" (error: {err})" if err else ""
        raise ResponseError(f"malformed response body: no choices{detail}")
    ch = choices[0]
    lp = ch.get("logprobs")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    if not isinstance(lp, dict):
        raise ResponseError("the server returned no logprobs",
                            "use a server whose /v1/completions supports logprobs (vLLM, SGLang, llama.cpp server)")
    if "content" in lp:
        if not isinstance(lp["content"], list):
            raise ResponseError("malformed response body: logprobs.content is not a list")
        steps = _parse_llamacpp(lp["content"], index, top_logprobs)
    else:
        steps = _parse_openai(lp, index, top_logprobs)
    n_completion = usage.get("completion_tokens")
    if len(steps) < n_prompt or (not steps[n_prompt:] and isinstance(n_completion, int) and n_completion > 0):
        raise ResponseError("the server returned no logprobs for the generated tokens",
                            "use a server whose /v1/completions supports logprobs (vLLM, SGLang, llama.cpp server)")
    for s in steps[n_prompt:]:
        if s.logprob is None or math.isnan(s.logprob):
            raise ResponseError("malformed response body: a generated token has no log-probability")
    text = ch.get("text", "")
    return Completion(steps=steps[n_prompt:], finish_reason=ch.get("finish_reason"),
                      text=text if isinstance(text, str) else "", prompt=steps[:n_prompt], usage=usage)


def fill_scores(steps: Sequence[Step], candidate_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, bounded)``, shape ``(len(steps), len(candidate_ids))``, from the top-k of each step.

    A candidate in the top-k gets its log-probability; an absent one gets the step's k-th
    log-probability (an upper bound on its own) and ``bounded=True``.
    """
    scores = np.empty((len(steps), len(candidate_ids)), dtype=np.float64)
    bounded = np.zeros((len(steps), len(candidate_ids)), dtype=bool)
    for r, s in enumerate(steps):
        for c, tok in enumerate(candidate_ids):
            if tok in s.top:
                scores[r, c] = s.top[tok]
            else:
                scores[r, c], bounded[r, c] = s.kth, True
    return scores, bounded


def error_message(body) -> str:
    """The human-readable message inside an error body (llama.cpp, vLLM and OpenAI layouts)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(err, str):
            return err
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return str(body)[:300]


def served_models(body) -> list[dict]:
    """The model cards of a ``GET /v1/models`` body."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise ResponseError("malformed response body from /v1/models: no list of models with ids")
    return data


def server_flavor(card: dict) -> str:
    """``"llamacpp"``, ``"vllm"`` or ``"openai"`` from a model card's ``owned_by``."""
    owner = str(card.get("owned_by", "")).lower()
    if "llama" in owner and "cpp" in owner:
        return "llamacpp"
    if "vllm" in owner:
        return "vllm"
    return "openai"


def card_context_length(card: dict) -> int | None:
    """Context length a model card states (vLLM/SGLang ``max_model_len``; llama.cpp ``meta.n_ctx``)."""
    for v in (card.get("max_model_len"), (card.get("meta") or {}).get("n_ctx") if isinstance(card.get("meta"), dict) else None):
        if isinstance(v, int) and v > 0:
            return v
    return None


def tokenize_payload(text: str, model: str | None) -> dict:
    """``POST /tokenize`` body understood by llama.cpp (``content``) and vLLM (``prompt``)."""
    body = {"content": text, "prompt": text, "add_special": False, "add_special_tokens": False, "with_pieces": False}
    if model is not None:
        body["model"] = model
    return body


def tokenize_ids(body) -> list[int]:
    toks = body.get("tokens") if isinstance(body, dict) else None
    if not isinstance(toks, list):
        raise ResponseError("malformed response body from /tokenize: no token list")
    return [int(t["id"]) if isinstance(t, dict) else int(t) for t in toks]
