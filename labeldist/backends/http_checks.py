"""Checks on a server's answer that the parser cannot make alone: token ids that do not belong to the model.

:func:`labeldist.backends.http_protocol.parse_response` checks the shape of a body (lists,
numbers, logprobs present). A body can have the right shape and still be wrong: a proxy or a
server bug that shifts token ids would put one token's log-probability on another, and the
records would hold invented numbers. llama.cpp reports every token's id *and* its bytes, so
the two can be checked against the local tokenizer's vocabulary: an id outside the vocabulary,
or an id whose vocabulary bytes differ from the bytes the server sent with it, is a
:class:`~labeldist.backends.http_protocol.ResponseError` (the run stops with one line; nothing
is recorded). Ids the vocabulary cannot pin to bytes (ambiguous or special tokens) are not
compared. OpenAI/vLLM bodies carry no bytes next to their ids; only the range is checked.
"""

from __future__ import annotations

import re

from labeldist.backends.http_protocol import ResponseError, TokenIndex

__all__ = ["IdChecker"]

_TOKEN_ID = re.compile(r"token_id:(-?\d+)")


class IdChecker:
    """Checks the token ids of ``/v1/completions`` bodies against a local vocabulary."""

    def __init__(self, index: TokenIndex, special_ids=()):
        self.vocab_size = index.vocab_size
        # id -> bytes of the vocabulary entry (TokenIndex keeps bytes -> id; every kept entry is unambiguous).
        # Special tokens are left out: servers render them differently (llama.cpp sends no bytes for them).
        special = {int(i) for i in special_ids}
        self._bytes = {i: b for b, i in getattr(index, "_by_bytes", {}).items() if i not in special}

    def check(self, body, where: str) -> None:
        """Raise :class:`ResponseError` on an id outside the vocabulary or contradicting its bytes."""
        try:
            lp = body["choices"][0]["logprobs"]
        except (TypeError, KeyError, IndexError):
            return  # no logprobs: the parser reports the shape
        if not isinstance(lp, dict):
            return
        if isinstance(lp.get("content"), list):
            for i, e in enumerate(lp["content"]):
                if not isinstance(e, dict):
                    continue
                self._entry(e, f"{where}: logprobs.content[{i}]")
                for t in e.get("top_logprobs") or []:
                    if isinstance(t, dict):
                        self._entry(t, f"{where}: logprobs.content[{i}].top_logprobs")
        for tok in lp.get("tokens") or []:  # vLLM: "token_id:<id>" strings
            m = _TOKEN_ID.fullmatch(tok) if isinstance(tok, str) else None
            if m and not 0 <= int(m.group(1)) < self.vocab_size:
                self._out_of_range(int(m.group(1)), f"{where}: logprobs.tokens")

    def _entry(self, e: dict, where: str) -> None:
        tid = e.get("id")
        if not isinstance(tid, int) or isinstance(tid, bool):
            return  # mapped from its text by the parser, or left unmapped
        if not 0 <= tid < self.vocab_size:
            self._out_of_range(tid, where)
        raw = e.get("bytes")
        want = self._bytes.get(tid)
        if want is not None and isinstance(raw, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw) \
                and bytes(raw) != want:
            raise ResponseError(
                f"malformed response body from {where}: token id {tid} is {want!r} in the local vocabulary, "
                f"but the server sent it with the bytes {bytes(raw)!r}",
                "the server runs another model or tokenizer than --model names (or a proxy altered the answer); "
                "check --model / --served-model")

    def _out_of_range(self, tid: int, where: str) -> None:
        raise ResponseError(f"malformed response body from {where}: token id {tid} is outside the vocabulary "
                            f"of {self.vocab_size} tokens",
                            "the server runs another model than --model names; check --model / --served-model")
